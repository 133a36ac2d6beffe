"""A publisher that never waits for its PubAcks cannot fill the broker's memory: each stream holds at
most `max_buffered_msgs` / `max_buffered_size` captured and not yet stored (nats-server's ingest
queue); beyond that a publish is dropped, and a request gets `429 Too Many Requests` with nats-server's
error document. Every publish gets one answer, and the stream holds exactly the acknowledged ones."""

from __future__ import annotations

import asyncio
import json

import nats
from js_helpers import api

BURST = 3000
CONFIG = "jetstream {{ store_dir: \"{store}\", max_buffered_msgs: 10 }}\n"
REFUSAL = {"error": {"code": 429, "err_code": 10167, "description": "too many requests"}, "stream": "FLOOD",
           "seq": 0}


async def test_a_burst_beyond_the_ingest_buffer_is_refused_with_429_and_the_rest_is_stored(
        server_kind, server_factory, tmp_path):
    server = server_factory(server_kind, config=CONFIG.format(store=tmp_path / "store"))
    nc = await nats.connect(server.url)
    await nc.jetstream().add_stream(name="FLOOD", subjects=["flood"])
    inbox = nc.new_inbox()
    answers: dict[int, tuple[str | None, dict]] = {}
    all_answered = asyncio.get_running_loop().create_future()

    async def collect(message) -> None:
        status = message.headers.get("Status") if message.headers else None
        answers[int(message.subject.rsplit(".", 1)[1])] = (status, json.loads(message.data))
        if len(answers) == BURST and not all_answered.done():
            all_answered.set_result(None)

    await nc.subscribe(inbox + ".*", cb=collect)
    for index in range(BURST):
        await nc.publish("flood", b"x" * 64, reply=f"{inbox}.{index}")
    await asyncio.wait_for(all_answered, timeout=10)
    info = await api(nc, "$JS.API.STREAM.INFO.FLOOD")
    await nc.close()

    refused = [answer for answer in answers.values() if "error" in answer[1]]
    acked = [answer for answer in answers.values() if "error" not in answer[1]]
    assert refused, "nothing was refused: the buffer did not fill"
    assert all(answer == ("429", REFUSAL) for answer in refused), refused[0]
    assert sorted(answer[1]["seq"] for answer in acked) == list(range(1, len(acked) + 1))
    assert info["state"]["messages"] == len(acked)
