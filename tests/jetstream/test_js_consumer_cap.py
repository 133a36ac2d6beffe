"""A stream without `max_consumers` still takes at most 1000 consumers (nats-server 2.15's default, shown
as `limits.default_max_consumers` in /jsz); the next create gets 400/10026."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest


@pytest.fixture
def js_monitored(server_kind, server_factory, tmp_path):
    from servers import free_port

    return server_factory(server_kind, extra_args=["-js", "-sd", str(tmp_path / "store"), "-m", str(free_port())])


async def test_a_stream_takes_a_thousand_consumers_by_default(js_monitored):
    import nats

    nc = await nats.connect(js_monitored.url)
    try:
        await nc.jetstream().add_stream(name="CAP", subjects=["cap.>"], storage="memory")

        async def create(index: int) -> dict:
            body = {"stream_name": "CAP", "config": {"durable_name": f"c{index}", "ack_policy": "explicit"}}
            reply = await nc.request(f"$JS.API.CONSUMER.CREATE.CAP.c{index}", json.dumps(body).encode(), timeout=20)
            return json.loads(reply.data)

        answers = await asyncio.gather(*(create(index) for index in range(1000)))
        assert [answer for answer in answers if "error" in answer] == []
        over = await create(1000)
        assert over["error"] == {"code": 400, "err_code": 10026, "description": "maximum consumers limit reached"}
    finally:
        await nc.close()
    url = f"http://127.0.0.1:{js_monitored.http_port}/jsz"
    jsz = json.loads(await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read()))
    assert jsz["limits"] == {"default_max_consumers": 1000}
    assert jsz["consumers"] == 1000
