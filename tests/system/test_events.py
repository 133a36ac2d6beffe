"""Events the server publishes in its system account: a client's CONNECT and DISCONNECT in its
account (`$SYS.ACCOUNT.<acc>.…`), the same for a leaf link on both of its ends, and the periodic
`$SYS.SERVER.<id>.STATSZ`.
"""

from __future__ import annotations

import json

from servers import free_port
from subscribed import subscribed
from system_helpers import (
    RFC3339_NANO,
    STATSZ_FIELDS,
    Collector,
    assert_server_block,
    assert_shape,
    connect_as,
    connect_system,
    system_config,
)

EVENT_FIELDS = {"type": str, "id": str, "timestamp": str, "server": dict, "client": dict}
CLIENT_FIELDS = {"start": str, "host": str, "id": int, "acc": str, "user": str, "name": str, "lang": str,
                 "ver": str, "name_tag": str, "kind": str, "client_type": str}
DISCONNECT_CLIENT_FIELDS = {**CLIENT_FIELDS, "stop": str}
TRAFFIC = {"msgs": int, "bytes": int}
# nats-server's first STATSZ comes 250ms after start, then 0.5s, 1s, 2s, 4s later ... up to every 10s.
FIRST_STATSZ_WITHIN = 15.0


def decoded(msg) -> dict:
    return json.loads(msg.data)


async def test_client_connect_and_disconnect_are_announced_in_its_account(system_server, server_kind):
    system = await connect_system(system_server)
    events = Collector()
    try:
        server_id = system._server_info["server_id"]
        await system.subscribe("$SYS.ACCOUNT.APP.>", cb=events.add)
        await subscribed(system)

        app = await connect_as(system_server, "app", "app-secret", name="orders-app")
        client_id = app._client_id
        await app.publish("orders.new", b"hello")
        await app.flush()
        await app.close()

        connect = decoded(await events.wait_for(lambda m: m.subject == "$SYS.ACCOUNT.APP.CONNECT"))
        disconnect = decoded(await events.wait_for(lambda m: m.subject == "$SYS.ACCOUNT.APP.DISCONNECT"))
    finally:
        await system.close()

    assert_shape(connect, EVENT_FIELDS)
    assert connect["type"] == "io.nats.server.advisory.v1.client_connect"
    assert_server_block(connect["server"], f"sys-{server_kind}", server_id)
    assert RFC3339_NANO.match(connect["timestamp"])
    assert_shape(connect["client"], CLIENT_FIELDS)
    client = connect["client"]
    assert (client["id"], client["acc"], client["user"], client["name"]) == (client_id, "APP", "app", "orders-app")
    assert (client["host"], client["lang"], client["kind"], client["client_type"]) == (
        "127.0.0.1", "python3", "Client", "nats")
    assert client["name_tag"] == "APP"

    assert_shape(disconnect, {**EVENT_FIELDS, "sent": TRAFFIC, "received": TRAFFIC, "reason": str})
    assert disconnect["type"] == "io.nats.server.advisory.v1.client_disconnect"
    assert disconnect["id"] != connect["id"]
    assert disconnect["server"]["seq"] > connect["server"]["seq"]
    assert_shape(disconnect["client"], DISCONNECT_CLIENT_FIELDS)
    assert disconnect["client"]["start"] == client["start"]
    # What the client sent (one 5-byte message) and what it was sent (nothing).
    assert disconnect["sent"] == {"msgs": 1, "bytes": 5}
    assert disconnect["received"] == {"msgs": 0, "bytes": 0}
    assert disconnect["reason"] == "Client Closed"
    # Go leaves the round-trip time out while it is still zero; when present it is nanoseconds.
    assert isinstance(disconnect["client"].get("rtt", 0), int)


async def test_system_account_users_see_their_own_connect(system_server):
    watcher = await connect_system(system_server)
    events = Collector()
    try:
        await watcher.subscribe("$SYS.ACCOUNT.SYS.CONNECT", cb=events.add)
        await subscribed(watcher)
        other = await connect_system(system_server)
        await other.close()
        connect = decoded(await events.wait_for(lambda m: True))
        assert (connect["client"]["acc"], connect["client"]["user"]) == ("SYS", "sys")
    finally:
        await watcher.close()


async def test_a_leaf_link_is_announced_as_a_leafnode_connect_on_the_hub(server_kind, server_factory):
    leaf_port = free_port()
    hub = server_factory(server_kind, system_config(f"hub-{server_kind}",
                                                    f'leafnodes {{ listen: "127.0.0.1:{leaf_port}" }}'))
    system = await connect_system(hub)
    events = Collector()
    try:
        await system.subscribe("$SYS.ACCOUNT.APP.>", cb=events.add)
        await subscribed(system)
        leaf = server_factory(server_kind, (
            f"server_name: leaf-{server_kind}\n"
            f'leafnodes {{ remotes = [ {{ url: "nats://leaf:leaf-secret@127.0.0.1:{leaf_port}" }} ] }}\n'
        ))
        connect = decoded(await events.wait_for(lambda m: m.subject == "$SYS.ACCOUNT.APP.CONNECT", timeout=15))
        leaf.stop()
        disconnect = decoded(await events.wait_for(lambda m: m.subject == "$SYS.ACCOUNT.APP.DISCONNECT",
                                                   timeout=15))
    finally:
        await system.close()

    client = connect["client"]
    assert (client["kind"], client["acc"], client["user"], client["name"]) == (
        "Leafnode", "APP", "leaf", f"leaf-{server_kind}")
    assert isinstance(client["ver"], str) and client["ver"]
    # A leaf link is not a client library: no language, no client type.
    assert "lang" not in client and "client_type" not in client
    assert disconnect["client"]["kind"] == "Leafnode"
    assert disconnect["client"]["id"] == client["id"]
    # nats-server sends $SYS.ACCOUNT.<acc>.LEAFNODE.CONNECT only to gateways, which a lone hub has not.
    assert not [m for m in events.messages if m.subject.endswith(".LEAFNODE.CONNECT")]


async def test_statsz_is_published_periodically_while_someone_listens(system_server, server_kind):
    system = await connect_system(system_server)
    updates = Collector()
    try:
        server_id = system._server_info["server_id"]
        await system.subscribe("$SYS.SERVER.*.STATSZ", cb=updates.add)
        await subscribed(system)
        first = await updates.wait_for(lambda m: True, timeout=FIRST_STATSZ_WITHIN)
    finally:
        await system.close()
    assert first.subject == f"$SYS.SERVER.{server_id}.STATSZ"
    assert first.reply == ""
    update = decoded(first)
    assert set(update) == {"server", "statsz"}
    assert_server_block(update["server"], f"sys-{server_kind}", server_id)
    assert_shape(update["statsz"], STATSZ_FIELDS)
    assert update["statsz"]["connections"] >= 1


async def test_a_leaf_announces_its_link_to_the_hub_too(server_kind, server_factory):
    leaf_port = free_port()
    leaf = server_factory(server_kind, system_config(
        f"leaf-{server_kind}",
        f'leafnodes {{ remotes = [ {{ url: "nats://leaf:leaf-secret@127.0.0.1:{leaf_port}", account: APP }} ] }}',
    ))
    system = await connect_system(leaf)
    events = Collector()
    try:
        await system.subscribe("$SYS.ACCOUNT.APP.>", cb=events.add)
        await subscribed(system)
        server_factory(server_kind, system_config(f"hub-{server_kind}",
                                                  f'leafnodes {{ listen: "127.0.0.1:{leaf_port}" }}'))
        connect = decoded(await events.wait_for(lambda m: m.subject == "$SYS.ACCOUNT.APP.CONNECT", timeout=15))
    finally:
        await system.close()
    client = connect["client"]
    assert (client["kind"], client["acc"], client["name_tag"]) == ("Leafnode", "APP", "APP")
    assert client["host"] == "127.0.0.1"
    # The dialling side names neither the hub nor a user: only when and where the link started.
    assert set(client) == {"start", "host", "id", "acc", "name_tag", "kind"}
    assert RFC3339_NANO.match(client["start"])
