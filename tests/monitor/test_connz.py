"""/connz: open connections with their counters and subscriptions, closed connections with a
reason, paging with limit/offset, sorting, and the errors nats-server gives for bad options.
"""

from __future__ import annotations

import asyncio
import re

import nats
from monitor_http import start_monitored

CONN_FIELDS = {
    "cid": int, "kind": str, "type": str, "ip": str, "port": int, "start": str, "last_activity": str,
    "rtt": str, "uptime": str, "idle": str, "pending_bytes": int, "in_msgs": int, "out_msgs": int,
    "in_bytes": int, "out_bytes": int, "subscriptions": int, "name": str, "lang": str, "version": str,
}
GO_DURATION = re.compile(r"^(0s|(\d+h)?(\d+m)?\d+(\.\d+)?(ns|µs|ms|s))$")


def by_name(connz: dict) -> dict[str, dict]:
    return {connection.get("name"): connection for connection in connz["connections"]}


async def connect(server, name: str):
    return await nats.connect(server.url, name=name, allow_reconnect=False)


def test_connz_lists_clients_with_counters_and_subscriptions(monitored):
    monitor = monitored.monitor
    count = 5
    base = monitor.get("/subsz")["num_subscriptions"]

    async def scenario() -> tuple[dict, dict]:
        subscriber = await connect(monitored.server, "connz-sub")
        publisher = await connect(monitored.server, "connz-pub")
        received = asyncio.Queue()
        await subscriber.subscribe("connz.a", cb=received.put)
        await subscriber.subscribe("connz.b.*", queue="workers")
        await monitor.settled("/subsz", lambda subsz: subsz["num_subscriptions"] == base + 2)
        for _ in range(count):
            await publisher.publish("connz.a", b"xyz")
        for _ in range(count):
            await asyncio.wait_for(received.get(), 5)
        listed = await monitor.settled(
            "/connz?subs=1", lambda connz: by_name(connz).get("connz-pub", {}).get("in_msgs") == count)
        detailed = monitor.get("/connz?subs=detail")
        await subscriber.close()
        await publisher.close()
        return listed, detailed

    listed, detailed = asyncio.run(scenario())
    assert listed["num_connections"] == 2 and listed["total"] == 2
    assert listed["offset"] == 0 and listed["limit"] == 1024
    connections = by_name(listed)
    subscriber, publisher = connections["connz-sub"], connections["connz-pub"]
    for connection in (subscriber, publisher):
        for field, kind in CONN_FIELDS.items():
            assert isinstance(connection[field], kind), (field, connection)
        assert connection["kind"] == "Client" and connection["type"] == "nats"
        assert connection["ip"] == "127.0.0.1"
        assert connection["lang"] == "python3"
        assert GO_DURATION.match(connection["rtt"]), connection["rtt"]
    assert subscriber["subscriptions"] == 2
    assert sorted(subscriber["subscriptions_list"]) == ["connz.a", "connz.b.*"]
    assert subscriber["out_msgs"] == count and subscriber["out_bytes"] == 3 * count
    assert publisher["in_msgs"] == count and publisher["in_bytes"] == 3 * count
    assert publisher["subscriptions"] == 0 and "subscriptions_list" not in publisher
    assert subscriber["cid"] != publisher["cid"]

    details = {d["subject"]: d for d in by_name(detailed)["connz-sub"]["subscriptions_list_detail"]}
    assert details["connz.a"]["msgs"] == count and details["connz.a"]["cid"] == subscriber["cid"]
    assert details["connz.b.*"]["qgroup"] == "workers" and details["connz.b.*"]["msgs"] == 0
    assert "qgroup" not in details["connz.a"]


def test_closed_connection_is_listed_with_its_reason(monitored):
    monitor = monitored.monitor

    async def scenario() -> tuple[dict, dict, dict, dict]:
        staying = await connect(monitored.server, "connz-staying")
        leaving = await connect(monitored.server, "connz-leaving")
        await leaving.publish("connz.bye", b"1")
        await leaving.close()
        closed = monitor.wait_for("/connz?state=closed", lambda connz: "connz-leaving" in by_name(connz))
        still_open = monitor.get("/connz")
        everything = monitor.get("/connz?state=all")
        by_reason = monitor.get("/connz?state=closed&sort=reason")
        await staying.close()
        return closed, still_open, everything, by_reason

    closed, still_open, everything, by_reason = asyncio.run(scenario())
    leaving = by_name(closed)["connz-leaving"]
    assert leaving["reason"] == "Client Closed"
    assert leaving["in_msgs"] == 1
    assert leaving["stop"] >= leaving["start"]
    assert "connz-staying" not in by_name(closed)
    assert list(by_name(still_open)) == ["connz-staying"]
    assert {"connz-staying", "connz-leaving"} <= set(by_name(everything))
    assert by_reason["total"] == closed["total"]


def test_limit_and_offset_page_through_connections_in_cid_order(monitored):
    monitor = monitored.monitor

    async def scenario() -> list[dict]:
        clients = [await connect(monitored.server, f"page-{index}") for index in range(3)]
        pages = [monitor.get(f"/connz?limit=1&offset={offset}") for offset in range(4)]
        pages.append(monitor.get("/connz?limit=2&offset=1"))
        pages.append(monitor.get("/connz"))
        for client in clients:
            await client.close()
        return pages

    *singles, pair, whole = asyncio.run(scenario())
    cids = [connection["cid"] for connection in whole["connections"]]
    assert cids == sorted(cids) and len(cids) == 3
    for offset, page in enumerate(singles[:3]):
        assert (page["offset"], page["limit"], page["total"], page["num_connections"]) == (offset, 1, 3, 1)
        assert page["connections"][0]["cid"] == cids[offset]
    assert singles[3]["connections"] == [] and singles[3]["num_connections"] == 0
    assert [c["cid"] for c in pair["connections"]] == cids[1:3]


def test_sort_by_messages_received_is_descending(monitored):
    monitor = monitored.monitor

    async def scenario() -> dict:
        quiet = await connect(monitored.server, "sort-quiet")
        busy = await connect(monitored.server, "sort-busy")
        for _ in range(3):
            await busy.publish("sort.x", b"")
        sorted_connz = await monitor.settled(
            "/connz?sort=msgs_from", lambda connz: by_name(connz)["sort-busy"]["in_msgs"] == 3)
        by_cid = monitor.get(f"/connz?cid={by_name(sorted_connz)['sort-quiet']['cid']}")
        await quiet.close()
        await busy.close()
        return sorted_connz, by_cid

    sorted_connz, by_cid = asyncio.run(scenario())
    assert [c["name"] for c in sorted_connz["connections"]] == ["sort-busy", "sort-quiet"]
    assert [c["name"] for c in by_cid["connections"]] == ["sort-quiet"]


def test_sorting_by_stop_needs_closed_connections(monitored):
    reply = monitored.monitor.request("/connz?sort=stop")
    assert reply.status == 400
    assert b"only valid on closed connections" in reply.body
    assert monitored.monitor.request("/connz?state=closed&sort=stop").status == 200
    assert monitored.monitor.request("/connz?state=sideways").status == 400


def test_monitoring_many_connections_does_not_disturb_message_flow(monitored):
    monitor = monitored.monitor
    count = 2000
    base = monitor.get("/subsz")["num_subscriptions"]

    async def scenario() -> tuple[list[bytes], list[dict]]:
        clients = [await connect(monitored.server, f"load-{index}") for index in range(40)]
        for index, client in enumerate(clients):
            await client.subscribe(f"load.idle.{index}")
        subscriber = await connect(monitored.server, "load-sub")
        received: list[bytes] = []
        done = asyncio.Event()

        async def on_message(message) -> None:
            received.append(message.data)
            if len(received) == count:
                done.set()

        await subscriber.subscribe("load.data", cb=on_message)
        await monitor.settled("/subsz", lambda subsz: subsz["num_subscriptions"] == base + 41)
        publisher = clients[0]
        # The monitor is polled from a thread while the broker is busy delivering.
        polling = asyncio.create_task(asyncio.to_thread(
            lambda: [monitor.get("/connz?subs=detail&sort=msgs_to") for _ in range(30)]))
        for index in range(count):
            await publisher.publish("load.data", b"%d" % index)
        await publisher.flush()
        await asyncio.wait_for(done.wait(), 10)
        pages = await polling
        for client in [*clients, subscriber]:
            await client.close()
        return received, pages

    received, pages = asyncio.run(scenario())
    assert received == [b"%d" % index for index in range(count)]
    assert all(page["num_connections"] == 41 for page in pages)


def test_auth_option_names_the_user_and_a_non_global_account(server_kind, server_factory):
    config = """
    accounts { SENSORS { users = [ {user: alice, password: alicepw} ] } }
    authorization { users = [ {user: bob, password: bobpw} ] }
    """
    monitored = start_monitored(server_factory, server_kind, config)
    running, monitor = monitored.server, monitored.monitor

    async def scenario() -> tuple[dict, dict]:
        alice = await nats.connect(running.url, user="alice", password="alicepw", name="alice-conn")
        bob = await nats.connect(running.url, user="bob", password="bobpw", name="bob-conn")
        with_auth = monitor.get("/connz?auth=1")
        without = monitor.get("/connz")
        await alice.close()
        await bob.close()
        return with_auth, without

    with_auth, without = asyncio.run(scenario())
    alice, bob = by_name(with_auth)["alice-conn"], by_name(with_auth)["bob-conn"]
    assert (alice["authorized_user"], alice["account"]) == ("alice", "SENSORS")
    assert bob["authorized_user"] == "bob" and "account" not in bob
    assert all("authorized_user" not in connection for connection in without["connections"])
    assert monitor.get("/varz")["auth_required"] is True
