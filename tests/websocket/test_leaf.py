"""Leaf remotes over WebSocket to a real nats-server hub (its `websocket` port): ws://, wss://, and
both through an HTTP CONNECT proxy, for sites whose network only lets HTTP(S) out. The leaf is
edgenats, and nats-server as the reference; clients are nats-py on TCP at each end.
"""

from __future__ import annotations

import asyncio

import nats
import pytest
from connect_proxy import ConnectProxy
from nats.errors import NoRespondersError
from servers import free_port, wait_for_port
from subscribed import subscribed
from ws_leaf_helpers import WAIT, assert_link_carries_messages


@pytest.fixture(params=["edgenats", "nats-server"])
def leaf_kind(request) -> str:
    return request.param


def start_hub(server_factory, ws_block: str = "no_tls: true"):
    ws_port = free_port()
    config = (f'server_name: hub\nleafnodes {{ listen: "127.0.0.1:{free_port()}" }}\n'
              f'websocket {{ listen: "127.0.0.1:{ws_port}"\n  {ws_block}\n}}\n')
    hub = server_factory("nats-server", config)
    wait_for_port(ws_port, hub.process, hub.log_path)
    return hub, ws_port


def start_leaf(server_factory, leaf_kind: str, remote: str):
    return server_factory(leaf_kind, f"server_name: leaf\nleafnodes {{ remotes = [ {{ {remote} }} ] }}\n")


async def test_leaf_over_ws(server_factory, leaf_kind):
    hub, ws_port = start_hub(server_factory)
    leaf = start_leaf(server_factory, leaf_kind, f'url: "ws://127.0.0.1:{ws_port}"')
    await assert_link_carries_messages(hub.url, leaf.url)


async def test_leaf_over_ws_compressed(server_kind, server_factory):
    hub, ws_port = start_hub(server_factory, "no_tls: true\n  compression: true")
    leaf = start_leaf(server_factory, server_kind, f'url: "ws://127.0.0.1:{ws_port}", ws_compression: true')
    await assert_link_carries_messages(hub.url, leaf.url)


async def test_leaf_over_wss(server_factory, leaf_kind, certificates):
    hub, ws_port = start_hub(server_factory, f'tls {{ cert_file: "{certificates}/server.pem", '
                                             f'key_file: "{certificates}/server-key.pem" }}')
    leaf = start_leaf(server_factory, leaf_kind,
                      f'url: "wss://127.0.0.1:{ws_port}", tls {{ ca_file: "{certificates}/ca.pem" }}')
    await assert_link_carries_messages(hub.url, leaf.url)


@pytest.mark.parametrize("scheme", ["ws", "wss"])
async def test_leaf_through_http_connect_proxy(server_factory, leaf_kind, certificates, scheme):
    tls = (f'tls {{ cert_file: "{certificates}/server.pem", key_file: "{certificates}/server-key.pem" }}'
           if scheme == "wss" else "no_tls: true")
    hub, ws_port = start_hub(server_factory, tls)
    proxy = await ConnectProxy("site", "s3cret").start()
    try:
        remote_tls = f', tls {{ ca_file: "{certificates}/ca.pem" }}' if scheme == "wss" else ""
        leaf = start_leaf(server_factory, leaf_kind,
                          f'url: "{scheme}://127.0.0.1:{ws_port}"{remote_tls}, '
                          f'proxy {{ url: "{proxy.url}", username: "site", password: "s3cret", timeout: "5s" }}')
        await assert_link_carries_messages(hub.url, leaf.url)
        assert proxy.requests[0] == (f"127.0.0.1:{ws_port}", 200)
    finally:
        await proxy.stop()


async def test_proxy_refusing_the_credentials_keeps_the_link_down(server_factory, leaf_kind):
    hub, ws_port = start_hub(server_factory)
    proxy = await ConnectProxy("site", "s3cret").start()
    try:
        leaf = start_leaf(server_factory, leaf_kind,
                          f'url: "ws://127.0.0.1:{ws_port}", '
                          f'proxy {{ url: "{proxy.url}", username: "site", password: "wrong" }}')
        await asyncio.wait_for(proxy.answered.wait(), WAIT)
        assert proxy.requests[0] == (f"127.0.0.1:{ws_port}", 407)
        leaf_nc = await nats.connect(leaf.url)
        hub_nc = await nats.connect(hub.url)
        try:
            await hub_nc.subscribe("at.hub")
            await subscribed(hub_nc)
            with pytest.raises(NoRespondersError):
                await leaf_nc.request("at.hub", b"", timeout=2)
        finally:
            await leaf_nc.close()
            await hub_nc.close()
        assert "407" in leaf.log_text()
    finally:
        await proxy.stop()
