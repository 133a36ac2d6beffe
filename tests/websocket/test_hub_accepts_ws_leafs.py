"""A hub accepting leaf nodes on its `websocket` port (the upgrade path `/leafnode`), as nats-server
does: each hub kind with each leaf kind, messages, requests and queue groups across the link, the link
in the hub's /leafz, the leaf port's authorization, and the hub's INFO and refusals on the wire.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request

import nats
import pytest
from nats.errors import NoRespondersError
from servers import free_port, wait_for_port
from ws_leaf_helpers import WAIT, assert_link_carries_messages, wait_for_interest
from ws_wire import BytesMessage, CloseConnection, WsWire


@pytest.fixture(params=["edgenats", "nats-server"])
def hub_kind(request) -> str:
    return request.param


@pytest.fixture(params=["edgenats", "nats-server"])
def leaf_kind(request) -> str:
    return request.param


class Hub:
    def __init__(self, server_factory, kind: str, leaf_block: str = "", ws_block: str = "no_tls: true",
                 extra: str = "", leaf_port: bool = True) -> None:
        self.ws_port = free_port()
        self.http_port = free_port()
        leafnodes = f'leafnodes {{ listen: "127.0.0.1:{free_port()}"\n  {leaf_block}\n}}\n' if leaf_port else ""
        config = (f"server_name: hub\n{leafnodes}{extra}\n"
                  f'websocket {{ listen: "127.0.0.1:{self.ws_port}"\n  {ws_block}\n}}\n')
        self.server = server_factory(kind, config, extra_args=["-m", str(self.http_port)])
        wait_for_port(self.ws_port, self.server.process, self.server.log_path)

    def leafz(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/leafz", timeout=5) as response:
            return json.load(response)


def tls_block(certificates) -> str:
    return f'tls {{ cert_file: "{certificates}/server.pem", key_file: "{certificates}/server-key.pem" }}'


def start_leaf(server_factory, kind: str, url: str, remote: str = ""):
    return server_factory(kind, f'server_name: leaf\nleafnodes {{ remotes [ {{ urls: ["{url}"]\n  {remote} }} ] }}\n')


@pytest.mark.parametrize("transport", ["ws", "ws-compressed", "wss"])
async def test_requests_and_replies_cross_the_link(server_factory, hub_kind, leaf_kind, transport, certificates):
    ws_block = {"ws": "no_tls: true", "ws-compressed": "no_tls: true\n  compression: true",
                "wss": tls_block(certificates)}[transport]
    hub = Hub(server_factory, hub_kind, ws_block=ws_block)
    scheme = "wss" if transport == "wss" else "ws"
    remote = {"ws": "", "ws-compressed": "ws_compression: true",
              "wss": f'tls {{ ca_file: "{certificates}/ca.pem" }}'}[transport]
    leaf = start_leaf(server_factory, leaf_kind, f"{scheme}://127.0.0.1:{hub.ws_port}", remote)
    await assert_link_carries_messages(hub.server.url, leaf.url)


async def test_messages_cross_both_ways_in_order(server_factory, hub_kind, leaf_kind):
    hub = Hub(server_factory, hub_kind)
    leaf = start_leaf(server_factory, leaf_kind, f"ws://127.0.0.1:{hub.ws_port}")
    hub_nc = await nats.connect(hub.server.url)
    leaf_nc = await nats.connect(leaf.url)
    try:
        for sender, receiver in ((hub_nc, leaf_nc), (leaf_nc, hub_nc)):
            subscription = await receiver.subscribe("news")
            await wait_for_interest(receiver, sender)
            for number in range(5):
                await sender.publish("news", f"item {number}".encode())
            await wait_for_interest(receiver, sender)
            received = [(await subscription.next_msg(timeout=WAIT)).data for _ in range(5)]
            assert received == [f"item {number}".encode() for number in range(5)]
            await subscription.unsubscribe()
    finally:
        await hub_nc.close()
        await leaf_nc.close()


async def test_queue_group_across_the_link_gets_each_message_once(server_factory, hub_kind, leaf_kind):
    hub = Hub(server_factory, hub_kind)
    leaf = start_leaf(server_factory, leaf_kind, f"ws://127.0.0.1:{hub.ws_port}")
    hub_nc = await nats.connect(hub.server.url)
    leaf_nc = await nats.connect(leaf.url)
    try:
        for sender, members_nc in ((hub_nc, leaf_nc), (leaf_nc, hub_nc)):
            members = [await members_nc.subscribe("work", queue="workers") for _ in range(2)]
            await wait_for_interest(members_nc, sender)
            for number in range(20):
                await sender.publish("work", str(number).encode())
            # Once this probe has crossed, so has every job before it: the members' queues hold them all.
            await wait_for_interest(members_nc, sender)
            jobs = sorted([int((await member.next_msg(timeout=WAIT)).data)
                           for member in members for _ in range(member.pending_msgs)])
            assert jobs == list(range(20))
            for member in members:
                await member.unsubscribe()
    finally:
        await hub_nc.close()
        await leaf_nc.close()


async def test_the_hub_lists_the_link_in_leafz(server_factory, hub_kind, leaf_kind):
    hub = Hub(server_factory, hub_kind)
    leaf = start_leaf(server_factory, leaf_kind, f"ws://127.0.0.1:{hub.ws_port}")
    hub_nc = await nats.connect(hub.server.url)
    leaf_nc = await nats.connect(leaf.url)
    try:
        await wait_for_interest(hub_nc, leaf_nc)
    finally:
        await hub_nc.close()
        await leaf_nc.close()
    leafz = hub.leafz()
    assert leafz["leafnodes"] == 1
    assert [(link["name"], link["account"], link["ip"]) for link in leafz["leafs"]] == [("leaf", "$G", "127.0.0.1")]


AUTH_SOURCES = {
    "leafnodes-block": {"leaf_block": "authorization { user: site, password: s3cret }"},
    "server-block": {"extra": "authorization { user: site, password: s3cret }"},
}


@pytest.mark.parametrize("source", list(AUTH_SOURCES))
async def test_leaf_credentials_are_checked_as_on_the_leaf_port(server_factory, hub_kind, leaf_kind, source):
    hub = Hub(server_factory, hub_kind, **AUTH_SOURCES[source])
    refused = start_leaf(server_factory, leaf_kind, f"ws://site:wrong@127.0.0.1:{hub.ws_port}")
    admitted = start_leaf(server_factory, leaf_kind, f"ws://site:s3cret@127.0.0.1:{hub.ws_port}")
    await wait_for_log(refused, "Authorization Violation")
    hub_nc = await nats.connect(hub.server.url, user="site", password="s3cret")
    admitted_nc = await nats.connect(admitted.url)
    refused_nc = await nats.connect(refused.url)
    try:
        async def answer(msg):
            await msg.respond(b"hub")

        await hub_nc.subscribe("at.hub", cb=answer)
        await wait_for_interest(hub_nc, admitted_nc)
        assert (await admitted_nc.request("at.hub", b"", timeout=WAIT)).data == b"hub"
        with pytest.raises(NoRespondersError):
            await refused_nc.request("at.hub", b"", timeout=WAIT)
    finally:
        for nc in (hub_nc, admitted_nc, refused_nc):
            await nc.close()
    assert hub.leafz()["leafnodes"] == 1


async def test_websocket_authorization_is_for_clients_only(server_factory, hub_kind, leaf_kind):
    hub = Hub(server_factory, hub_kind, ws_block="no_tls: true\n  authorization { user: browser, password: b }")
    leaf = start_leaf(server_factory, leaf_kind, f"ws://127.0.0.1:{hub.ws_port}")
    await assert_link_carries_messages(hub.server.url, leaf.url)


async def test_leaf_port_tls_is_not_asked_of_a_ws_leaf(server_factory, hub_kind, leaf_kind, certificates):
    hub = Hub(server_factory, hub_kind, leaf_block=tls_block(certificates))
    leaf = start_leaf(server_factory, leaf_kind, f"ws://127.0.0.1:{hub.ws_port}")
    await assert_link_carries_messages(hub.server.url, leaf.url)


async def wait_for_log(server, text: str) -> None:
    """Poll a server's log until `text` appears (a refusal leaves no other trace a client can see)."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while text not in server.log_text():
        assert asyncio.get_running_loop().time() < deadline, f"{text!r} never logged"
        await asyncio.sleep(0.05)


# On the wire ------------------------------------------------------------------------------------


def leaf_info(wire: WsWire) -> dict:
    event = wire.next_event()
    assert isinstance(event, BytesMessage) and event.data.startswith(b"INFO "), event
    return json.loads(event.data[5:])


@pytest.mark.parametrize("leaf_tls", [False, True], ids=["plain-leaf-port", "tls-leaf-port"])
def test_info_to_a_ws_leaf_is_the_leaf_ports(server_factory, hub_kind, certificates, leaf_tls):
    """nats-server sends a ws leaf its leaf port's INFO, tls_required included (which a ws leaf ignores)."""
    hub = Hub(server_factory, hub_kind, leaf_block=tls_block(certificates) if leaf_tls else "")
    with WsWire(hub.ws_port, path="/leafnode") as wire:
        info = leaf_info(wire)
    assert "leafnode_urls" in info
    assert "client_ip" not in info
    assert info.get("tls_required", False) is leaf_tls


@pytest.mark.parametrize("source", list(AUTH_SOURCES))
def test_wrong_credentials_get_authorization_violation_and_close(server_factory, hub_kind, source):
    hub = Hub(server_factory, hub_kind, **AUTH_SOURCES[source])
    with WsWire(hub.ws_port, path="/leafnode") as wire:
        info = leaf_info(wire)
        assert info["auth_required"] is True
        wire.send(b'CONNECT {"name":"probe","user":"site","pass":"wrong"}\r\n')
        assert wire.read_until(b"\r\n") == b"-ERR 'Authorization Violation'\r\n"
        close = wire.next_event()
    assert isinstance(close, CloseConnection)
    assert (close.code, close.reason) == (1008, "Authentication Failure")


def test_without_a_leaf_port_the_upgrade_is_closed_at_once(server_factory, hub_kind):
    hub = Hub(server_factory, hub_kind, leaf_port=False)
    with WsWire(hub.ws_port, path="/leafnode") as wire:
        assert wire.accepted is not None
        assert wire.peer_closed()
        assert wire.pending == []
    assert "Not configured to accept leaf node connections" in hub.server.log_text()
