"""An API request published without a reply subject is carried out all the same, answered to nobody, as
nats-server does (unats.pull creates a device's consumer that way: its ~700-byte answer is more than a small
heap can take at once): a consumer create and a consumer delete, each seen through later requests
(nats-server carries them out a moment later, so the test asks until it sees the change)."""

from __future__ import annotations

import asyncio
import json

from js_helpers import api

INFO = "$JS.API.CONSUMER.INFO.CMDS.cmd-dev1"


async def info_once(nc, done) -> dict:
    """The consumer's INFO answer once done(answer) holds; fails after 5 s."""
    async with asyncio.timeout(5):
        while not done(answer := await api(nc, INFO)):
            await asyncio.sleep(0.02)
    return answer


async def test_consumer_create_and_delete_without_a_reply_subject_are_carried_out(nc):
    await nc.jetstream().add_stream(name="CMDS", subjects=["commands.>"])
    config = {"durable_name": "cmd-dev1", "ack_policy": "explicit", "filter_subject": "commands.dev1"}
    await nc.publish("$JS.API.CONSUMER.CREATE.CMDS.cmd-dev1.commands.dev1",
                     json.dumps({"stream_name": "CMDS", "config": config}).encode())
    info = await info_once(nc, lambda answer: "error" not in answer)
    assert (info["name"], info["config"]["filter_subject"], info["config"]["ack_policy"]) == (
        "cmd-dev1", "commands.dev1", "explicit")

    await nc.publish("$JS.API.CONSUMER.DELETE.CMDS.cmd-dev1", b"")
    gone = await info_once(nc, lambda answer: "error" in answer)
    assert gone["error"] == {"code": 404, "err_code": 10014, "description": "consumer not found"}
