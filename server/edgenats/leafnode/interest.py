"""Interest propagation: an account's subscription changes, forwarded to the account's leaf links.

One `AccountInterest` per account that has links; it is the account trie's observer, so a
subscription change costs one call per link, and nothing at all in accounts without links.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgenats.account import Account
    from edgenats.leafnode.link import LeafLink
    from edgenats.sublist import Subscription


class AccountInterest:
    """Tells every connected link of one account about subscriptions appearing and disappearing."""

    def __init__(self, account: Account, loop_subject: str) -> None:
        self.account = account
        self.loop_subject = loop_subject
        self.links: list[LeafLink] = []

    def attach(self, link: LeafLink) -> None:
        if not self.links:
            self.account.sublist.observer = self
        self.links.append(link)

    def detach(self, link: LeafLink) -> None:
        if link in self.links:
            self.links.remove(link)
        if not self.links:
            self.account.sublist.observer = None

    def __call__(self, subscription: Subscription, delta: int) -> None:
        origin = subscription.target
        for link in self.links:
            if link is not origin and link.advertises_interest_of(origin):
                link.interest_changed(subscription.subject, subscription.queue, delta)
