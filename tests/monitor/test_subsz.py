"""/subsz and /subscriptionsz: trie statistics that move with subscriptions, and the listing."""

from __future__ import annotations

import asyncio

import nats

SUBSZ_FIELDS = {
    "server_id": str, "now": str, "num_subscriptions": int, "num_cache": int, "num_inserts": int,
    "num_removes": int, "num_matches": int, "cache_hit_rate": (int, float), "max_fanout": int,
    "avg_fanout": (int, float), "total": int, "offset": int, "limit": int,
}


def test_subsz_fields_and_counts_move_with_subscriptions(monitored):
    monitor = monitored.monitor
    before = monitor.get("/subsz")
    for field, kind in SUBSZ_FIELDS.items():
        assert isinstance(before[field], kind), (field, before)

    async def scenario() -> tuple[dict, dict, dict, dict]:
        client = await nats.connect(monitored.server.url, name="subsz")
        await client.subscribe("subsz.one")
        await client.subscribe("subsz.*", queue="q")
        await client.subscribe("other.subject")
        await client.publish("subsz.one", b"hello")
        listed = await monitor.settled("/subsz?subs=1&test=subsz.one", lambda subsz: any(
            entry["msgs"] == 1 for entry in subsz.get("subscriptions_list", ())))
        during = monitor.get("/subsz")
        alias = monitor.get("/subscriptionsz")
        paged = monitor.get("/subsz?subs=1&test=subsz.one&limit=1&offset=1")
        await client.close()
        return during, listed, alias, paged

    during, listed, alias, paged = asyncio.run(scenario())
    assert during["num_subscriptions"] == before["num_subscriptions"] + 3
    assert during["num_inserts"] == before["num_inserts"] + 3
    assert during["num_matches"] > before["num_matches"]
    assert alias["num_subscriptions"] == during["num_subscriptions"]

    assert listed["total"] == 2
    subjects = {entry["subject"]: entry for entry in listed["subscriptions_list"]}
    assert set(subjects) == {"subsz.one", "subsz.*"}
    assert subjects["subsz.one"]["msgs"] == 1 and subjects["subsz.one"]["account"] == "$G"
    assert subjects["subsz.*"]["qgroup"] == "q"
    assert isinstance(subjects["subsz.one"]["cid"], int) and isinstance(subjects["subsz.one"]["sid"], str)
    assert (paged["total"], paged["offset"], paged["limit"], len(paged["subscriptions_list"])) == (2, 1, 1, 1)

    after = monitor.wait_for("/subsz", lambda subsz: subsz["num_subscriptions"] == before["num_subscriptions"])
    assert after["num_subscriptions"] == before["num_subscriptions"]
    assert after["num_removes"] == before["num_removes"] + 3
