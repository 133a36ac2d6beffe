"""Nothing acknowledged is lost: a file stream's config and every acknowledged message survive a
`kill -9` of edgenats (and so does de-duplication within the window); memory streams do not."""

from __future__ import annotations

import signal

import nats
import nats.js.errors
import pytest


async def test_acknowledged_messages_survive_kill_9(server_factory, tmp_path):
    arguments = ["-js", "-sd", str(tmp_path / "store")]
    first = server_factory("edgenats", extra_args=arguments)
    nc = await nats.connect(first.url)
    js = nc.jetstream()
    await js.add_stream(name="KEEP", subjects=["keep.>"], max_msgs_per_subject=3)
    await js.add_stream(name="GONE", subjects=["gone"], storage="memory")
    acks = [await js.publish(f"keep.{index % 2}", b"m%d" % index, headers={"Nats-Msg-Id": f"id-{index}"})
            for index in range(10)]
    pending = [await js.publish_async("keep.burst", b"b%d" % index) for index in range(20)]
    burst = [await ack for ack in pending]
    assert await js.delete_msg("KEEP", 10) is True
    before = (await js.stream_info("KEEP")).state
    await nc.close()
    first.stop(signal.SIGKILL)

    second = server_factory("edgenats", extra_args=arguments)
    nc = await nats.connect(second.url)
    js = nc.jetstream()
    info = await js.stream_info("KEEP")
    assert (info.config.subjects, info.config.max_msgs_per_subject) == (["keep.>"], 3)
    after = info.state
    assert (after.messages, after.first_seq, after.last_seq, after.bytes) == (
        before.messages, before.first_seq, before.last_seq, before.bytes)
    assert acks[-2].seq == 9 and (await js.get_msg("KEEP", 9)).data == b"m8"
    assert (await js.get_last_msg("KEEP", "keep.burst")).seq == burst[-1].seq == 30
    duplicate = await js.publish("keep.0", b"again", headers={"Nats-Msg-Id": "id-8"})
    assert (duplicate.seq, duplicate.duplicate) == (9, True)
    assert (await js.publish("keep.0", b"new")).seq == 31
    with pytest.raises(nats.js.errors.NotFoundError):
        await js.stream_info("GONE")
    await nc.close()
