"""Core behaviour of the blocking client, run on MicroPython (32K heap, .mpy) and on CPython, against
nats-server and edgenats, with nats-py as the peer."""

from __future__ import annotations

import asyncio

import nats
from unats_helpers import EXTRAS_HEAP, collect


async def test_publish_plain_with_headers_and_reply(server, start_device):
    peer = await nats.connect(server.url)
    got = await collect(peer, "site.dev1.*")
    device = await start_device("publish.py", server.url)
    assert "DONE" in await device.finish()
    await peer.flush()
    await asyncio.sleep(0.1)
    assert [(m.subject, m.data, m.reply) for m in got] == [
        ("site.dev1.temp", b"21.5", ""),
        ("site.dev1.hum", b"40", ""),
        ("site.dev1.temp", b"", "site.dev1.replies"),
    ]
    assert got[0].headers == {"Unit": "C"}
    assert not got[1].headers
    await peer.close()


async def test_wildcard_queue_group_and_unsubscribe_limit(server, start_device):
    peer = await nats.connect(server.url)
    peer_work = await collect(peer, "work", queue="workers")
    device = await start_device("subscribe.py", server.url)
    await device.expect("READY")
    await peer.publish("cmd.dev1.on", b"1", headers={"X-Id": "7"}, reply="r.1")
    await peer.publish("cmd.other", b"not for dev1")
    await peer.publish("cmd.dev1.a.b", b"too deep for *")
    await peer.publish("cmd.dev1.off", b"0")
    for i in range(20):
        await peer.publish("work", b"%d" % i)
    for _ in range(5):
        await peer.publish("limited", b"x")
    await peer.publish("cmd.dev1.stop", b"")
    await peer.flush()
    output = await device.finish()
    cmds = [line for line in output.splitlines() if line.startswith("CMD")]
    assert cmds == ["CMD cmd.dev1.on 1 7 r.1", "CMD cmd.dev1.off 0 - -"]
    work, limited = map(int, output.split("COUNTS ")[1].split())
    assert work + len(peer_work) == 20, "each queue-group message goes to exactly one member"
    assert work > 0
    assert limited == 2
    await peer.close()


async def test_request_reply_both_ways(server, start_device):
    peer = await nats.connect(server.url)
    reply_subjects = []

    async def tell_time(msg):
        reply_subjects.append(msg.reply)
        await msg.respond(b"12:00 " + msg.headers["Tz"].encode())

    await peer.subscribe("svc.time", cb=tell_time)
    await collect(peer, "svc.silent")
    device = await start_device("request.py", server.url)
    assert (await device.expect("REPLY")) == "REPLY 12:00 UTC"
    assert reply_subjects[0].startswith("_INBOX.dev1."), "the reply inbox is under the client's inbox_prefix"
    await device.expect("NORESPONDERS")
    await device.expect("TIMEOUT")
    await device.expect("READY")
    answers = [await peer.request("dev1.ping", b"%d" % i, timeout=5) for i in range(3)]
    assert [a.data for a in answers] == [b"pong:0", b"pong:1", b"pong:2"]
    assert (await peer.request("dev1.ping", b"stop", timeout=5)).data == b"pong:stop"
    assert "DONE" in await device.finish()
    await peer.close()


async def test_rejected_user_password_raises_auth_error(server_kind, server_factory, start_device):
    # three clients are built one after another here, so the device gets more than the 32K heap
    srv = server_factory(server_kind, config="authorization { user: dev, password: s3cret }\n")
    device = await start_device("auth.py", "user", srv.url, heap=EXTRAS_HEAP)
    output = await device.finish()
    assert "AUTHERROR" in output and "Authorization Violation" in output
    assert output.count("OK") == 2


async def test_rejected_token_raises_auth_error(server_kind, server_factory, start_device):
    srv = server_factory(server_kind, config="authorization { token: t0k3n }\n")
    device = await start_device("auth.py", "token", srv.url, heap=EXTRAS_HEAP)
    output = await device.finish()
    assert "AUTHERROR" in output
    assert output.count("OK") == 2


async def test_answers_server_pings_and_stays_connected(server_kind, server_factory, start_device):
    srv = server_factory(server_kind, config='ping_interval: "1s"\nping_max: 1\n')
    device = await start_device("idle.py", srv.url, 7)
    output = await device.finish()
    assert "STATE True 0" in output
