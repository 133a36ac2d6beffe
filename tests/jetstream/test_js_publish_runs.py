"""Publishes to a stream written back to back, each with its own reply (a run of async publishes in one
write), on both servers: each is acked on its own inbox with the next sequence, in the order sent, and
the stream holds them so."""

from __future__ import annotations

import json

from request_runs import RawRequester

COUNT = 200


async def test_a_run_of_publishes_is_acked_one_by_one_in_order(js_server, nc):
    js = nc.jetstream()
    await js.add_stream(name="RUNS", subjects=["runs.>"])
    requester = RawRequester(js_server.port)
    try:
        requester.send_run("runs.a", [b"reading %03d" % index for index in range(COUNT)])
        acks = requester.frames(COUNT)
    finally:
        requester.close()

    assert [(subject, headers) for subject, headers, _ in acks] == [(f"_INBOX.run.{index}", None)
                                                                   for index in range(COUNT)]
    assert [json.loads(payload) for _, _, payload in acks] == [{"stream": "RUNS", "seq": index + 1}
                                                               for index in range(COUNT)]
    stored = [await js.get_msg("RUNS", seq) for seq in (1, COUNT // 2, COUNT)]
    assert [(message.subject, message.data) for message in stored] == [
        ("runs.a", b"reading %03d" % (seq - 1)) for seq in (1, COUNT // 2, COUNT)]
