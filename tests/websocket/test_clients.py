"""nats-py clients over ws:// against both servers: what an application sees (messages, replies,
headers, large and many payloads, compression, auth) and what a refused browser origin sees.
"""

from __future__ import annotations

import asyncio
import json
import ssl

import aiohttp
import nats
import pytest
from subscribed import subscribed


async def ws_connect(url: str, **options):
    return await nats.connect(url, allow_reconnect=False, connect_timeout=5, **options)


async def test_publish_and_subscribe(ws_server):
    nc = await ws_connect(ws_server.ws_url)
    tcp = await nats.connect(ws_server.server.url)
    try:
        subscription = await nc.subscribe("greet.*")
        tcp_subscription = await tcp.subscribe("greet.*")
        await subscribed(nc)
        await tcp.flush()
        await nc.publish("greet.ws", b"from websocket")
        await tcp.publish("greet.tcp", b"from tcp")
        received = {(m.subject, m.data) for m in
                    [await subscription.next_msg(timeout=5), await subscription.next_msg(timeout=5)]}
        tcp_received = {(m.subject, m.data) for m in
                        [await tcp_subscription.next_msg(timeout=5), await tcp_subscription.next_msg(timeout=5)]}
        expected = {("greet.ws", b"from websocket"), ("greet.tcp", b"from tcp")}
        assert received == expected
        assert tcp_received == expected
    finally:
        await nc.close()
        await tcp.close()


async def test_request_reply_and_no_responders(ws_server):
    service = await ws_connect(ws_server.ws_url)
    client = await ws_connect(ws_server.ws_url)
    try:
        async def double(msg):
            await msg.respond(msg.data * 2)

        await service.subscribe("double", cb=double)
        await subscribed(service)
        reply = await client.request("double", b"ab", timeout=5)
        assert reply.data == b"abab"
        with pytest.raises(nats.errors.NoRespondersError):
            await client.request("nobody.home", b"", timeout=5)
    finally:
        await service.close()
        await client.close()


async def test_headers_arrive_intact(ws_server):
    nc = await ws_connect(ws_server.ws_url)
    try:
        subscription = await nc.subscribe("with.headers")
        await subscribed(nc)
        await nc.publish("with.headers", b"body", headers={"X-Site": "pi-7", "X-Empty": ""})
        msg = await subscription.next_msg(timeout=5)
        assert msg.data == b"body"
        assert msg.headers == {"X-Site": "pi-7", "X-Empty": ""}
    finally:
        await nc.close()


@pytest.mark.parametrize("compression", [False, True], ids=["plain", "compressed"])
async def test_large_payload(server_kind, ws_factory, compression):
    ws = ws_factory(server_kind, f"no_tls: true\n  compression: {str(compression).lower()}", extra="max_payload: 1MB")
    nc = await ws_connect(ws.ws_url)
    try:
        payload = bytes(range(256)) * 2048  # 512 KiB
        subscription = await nc.subscribe("big")
        await subscribed(nc)
        await nc.publish("big", payload)
        msg = await subscription.next_msg(timeout=10)
        assert msg.data == payload
    finally:
        await nc.close()


async def test_many_small_messages_in_order(ws_server):
    publisher = await ws_connect(ws_server.ws_url)
    subscriber = await ws_connect(ws_server.ws_url)
    count = 5000
    done = asyncio.get_running_loop().create_future()
    received: list[bytes] = []

    async def collect(msg):
        received.append(msg.data)
        if len(received) == count:
            done.set_result(None)

    try:
        await subscriber.subscribe("tick", cb=collect)
        await subscribed(subscriber)
        for index in range(count):
            await publisher.publish("tick", b"%d" % index)
        await publisher.flush()
        await asyncio.wait_for(done, 20)
        assert received == [b"%d" % index for index in range(count)]
    finally:
        await publisher.close()
        await subscriber.close()


async def test_compressed_connection_carries_messages(server_kind, ws_factory):
    ws = ws_factory(server_kind, "no_tls: true\n  compression: true")
    nc = await ws_connect(ws.ws_url)
    try:
        subscription = await nc.subscribe("zipped")
        await subscribed(nc)
        text = b"a fairly compressible line of text; " * 200
        await nc.publish("zipped", text)
        await nc.publish("zipped", b"tiny")
        assert (await subscription.next_msg(timeout=5)).data == text
        assert (await subscription.next_msg(timeout=5)).data == b"tiny"
    finally:
        await nc.close()


@pytest.mark.parametrize("credentials", ["user-password", "token"])
async def test_websocket_authorization_override(server_kind, ws_factory, credentials):
    auth = 'user: "wsuser", password: "wspass"' if credentials == "user-password" else 'token: "wstoken"'
    good = {"user": "wsuser", "password": "wspass"} if credentials == "user-password" else {"token": "wstoken"}
    ws = ws_factory(server_kind, f"no_tls: true\n  authorization {{ {auth} }}")
    nc = await ws_connect(ws.ws_url, **good)
    try:
        subscription = await nc.subscribe("authed")
        await subscribed(nc)
        await nc.publish("authed", b"in")
        assert (await subscription.next_msg(timeout=5)).data == b"in"
    finally:
        await nc.close()
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await ws_connect(ws.ws_url, user="wsuser", password="wrong")
    # The override is for WebSocket clients only: the TCP port stays open without credentials.
    tcp = await nats.connect(ws.server.url, allow_reconnect=False)
    await tcp.close()


async def test_server_users_apply_over_websocket(server_kind, ws_factory):
    ws = ws_factory(server_kind, extra='authorization { users = [ { user: "alice", password: "secret" } ] }')
    nc = await ws_connect(ws.ws_url, user="alice", password="secret")
    assert nc.is_connected
    await nc.close()
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await ws_connect(ws.ws_url, user="alice", password="nope")


@pytest.mark.parametrize("origin, allowed", [
    ("http://good.example", True),
    ("http://evil.example", False),
    ("https://good.example", False),
    (None, True),
])
async def test_allowed_origins(server_kind, ws_factory, origin, allowed):
    ws = ws_factory(server_kind, 'no_tls: true\n  allowed_origins: ["http://good.example"]')
    headers = {"Origin": origin} if origin else {}
    async with aiohttp.ClientSession() as session:
        if allowed:
            async with session.ws_connect(ws.ws_url, headers=headers) as socket:
                frame = await socket.receive(timeout=5)
                assert frame.type is aiohttp.WSMsgType.BINARY
                assert frame.data.startswith(b"INFO {")
        else:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(ws.ws_url, headers=headers)
            assert refused.value.status == 403


async def test_same_origin(server_kind, ws_factory):
    ws = ws_factory(server_kind, "no_tls: true\n  same_origin: true")
    async with aiohttp.ClientSession() as session:
        own = f"http://127.0.0.1:{ws.ws_port}"
        async with session.ws_connect(ws.ws_url, headers={"Origin": own}) as socket:
            assert (await socket.receive(timeout=5)).data.startswith(b"INFO {")
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(ws.ws_url, headers={"Origin": "http://127.0.0.1:1"})
        assert refused.value.status == 403


async def test_wss_with_the_listener_certificate(server_kind, ws_factory, certificates):
    ws = ws_factory(server_kind, f'tls {{ cert_file: "{certificates}/server.pem", '
                                 f'key_file: "{certificates}/server-key.pem" }}')
    context = ssl.create_default_context(cafile=str(certificates / "ca.pem"))
    url = f"wss://127.0.0.1:{ws.ws_port}"
    nc = await ws_connect(url, tls=context)
    try:
        subscription = await nc.subscribe("secure")
        await subscribed(nc)
        await nc.publish("secure", b"over wss")
        assert (await subscription.next_msg(timeout=5)).data == b"over wss"
    finally:
        await nc.close()
    # Over wss INFO says TLS is required (it is: the WebSocket itself runs over TLS).
    async with aiohttp.ClientSession() as session, session.ws_connect(url, ssl=context) as socket:
        info = json.loads((await socket.receive(timeout=5)).data[5:])
    assert info["tls_required"] is True
    assert info["port"] == ws.ws_port


async def test_websocket_no_auth_user(server_kind, ws_factory):
    users = 'authorization { users = [ { user: "alice", password: "secret" }, { user: "guest", password: "g" } ] }'
    ws = ws_factory(server_kind, 'no_tls: true\n  no_auth_user: "guest"', extra=users)
    nc = await ws_connect(ws.ws_url)
    assert nc.is_connected
    await nc.close()
    # Only WebSocket clients fall back to the guest: the TCP port still wants credentials.
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(ws.server.url, allow_reconnect=False, connect_timeout=5)
