"""/subsz (alias /subscriptionsz): subscription-trie statistics over all accounts and, with `subs=1`,
a page of the subscriptions themselves, optionally only those matching `test=<subject>`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from edgenats.monitor.connz import subscription_detail
from edgenats.monitor.formats import go_float, rfc3339
from edgenats.monitor.query import Query, QueryError
from edgenats.subjects import is_valid_literal_subject, subject_matches

if TYPE_CHECKING:
    from edgenats.account import Account
    from edgenats.sublist import Subscription
    from edgenats.surface import ServerSurface


def _subscription_info(account: Account, subscription: Subscription) -> dict:
    # Internal subscribers (not connections) have no connection id; nats-server reports 0 for them.
    cid = getattr(subscription.target, "cid", 0)
    return {"account": account.name, "account_tag": account.name, **subscription_detail(subscription, cid)}


def build_subsz(server: ServerSurface, query: Query) -> dict:
    now = time.time()
    offset, limit = query.paging()
    test_subject = query.text("test")
    if test_subject and not is_valid_literal_subject(test_subject):
        raise QueryError(f"invalid test subject, must be valid publish subject: {test_subject}")
    account_filter = query.text("acc")
    accounts = [a for a in server.accounts.values() if not account_filter or a.name == account_filter]

    tries = [account.sublist for account in accounts]
    matches = sum(trie.matches for trie in tries)
    hits = sum(trie.cache_hits for trie in tries)
    fanouts = [trie.fanout_stats() for trie in tries if trie.cache_size()]
    subsz: dict = {
        "server_id": server.server_id,
        "now": rfc3339(now),
        "num_subscriptions": sum(trie.count for trie in tries),
        "num_cache": sum(trie.cache_size() for trie in tries),
        "num_inserts": sum(trie.inserts for trie in tries),
        "num_removes": sum(trie.removes for trie in tries),
        "num_matches": matches,
        "cache_hit_rate": go_float(hits / matches) if matches else 0,
        "max_fanout": max((largest for largest, _ in fanouts), default=0),
        "avg_fanout": go_float(sum(mean for _, mean in fanouts) / len(fanouts)) if fanouts else 0,
        "total": 0,
        "offset": offset,
        "limit": limit,
    }
    # As in nats-server, the subscriptions are only walked (and `total` only counted) when listed.
    if query.flag("subs"):
        listed = [
            (account, subscription)
            for account in accounts
            for subscription in account.sublist.subscriptions()
            if not test_subject or subject_matches(subscription.subject, test_subject)
        ]
        subsz["total"] = len(listed)
        page = listed[offset:offset + limit]
        if page:
            subsz["subscriptions_list"] = [_subscription_info(account, sub) for account, sub in page]
    return subsz
