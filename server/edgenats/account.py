"""An account: the isolated subject space its connections share (its subscription trie)."""

from __future__ import annotations

from dataclasses import dataclass, field

from edgenats.sublist import SubscriptionTrie

GLOBAL_ACCOUNT = "$G"


@dataclass(eq=False)
class Account:
    name: str
    sublist: SubscriptionTrie = field(default_factory=SubscriptionTrie)
    connections: set = field(default_factory=set)
