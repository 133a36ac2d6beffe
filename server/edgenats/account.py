"""An account: the isolated subject space its connections share (its subscription trie)."""

from __future__ import annotations

from dataclasses import dataclass, field

from edgenats.delivery import DeliveryPlan
from edgenats.sublist import SubscriptionTrie

GLOBAL_ACCOUNT = "$G"


@dataclass(eq=False)
class Account:
    name: str
    # The trie caches, per published subject, the plan that delivers to its subscribers.
    sublist: SubscriptionTrie = field(default_factory=lambda: SubscriptionTrie(DeliveryPlan, DeliveryPlan.settle))
    connections: set = field(default_factory=set)

    def settle_counters(self) -> None:
        """Bring every delivery counter up to date (cached plans count bulk deliveries themselves)."""
        for plan in self.sublist.cached():
            plan.settle()
