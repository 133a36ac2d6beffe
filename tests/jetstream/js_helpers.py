"""Raw `$JS.API` requests for JetStream tests, and the key/type shapes nats-server 2.15 answers with
(observed on the wire), so that a test checks edgenats answers with the same keys and JSON types."""

from __future__ import annotations

import asyncio
import json
import time

SHAPE_ACCOUNT_INFO = {
    "type": str, "memory": int, "storage": int, "reserved_memory": int, "reserved_storage": int,
    "streams": int, "consumers": int, "limits": dict, "api": dict,
}
SHAPE_LIMITS = {
    "max_memory": int, "max_storage": int, "max_streams": int, "max_consumers": int, "max_ack_pending": int,
    "memory_max_stream_bytes": int, "storage_max_stream_bytes": int, "max_bytes_required": bool,
}
SHAPE_CONFIG = {
    "name": str, "subjects": list, "retention": str, "max_consumers": int, "max_msgs": int, "max_bytes": int,
    "max_age": int, "max_msgs_per_subject": int, "max_msg_size": int, "discard": str, "storage": str,
    "num_replicas": int, "duplicate_window": int, "compression": str, "allow_direct": bool,
    "mirror_direct": bool, "sealed": bool, "deny_delete": bool, "deny_purge": bool, "allow_rollup_hdrs": bool,
    "consumer_limits": dict, "allow_msg_ttl": bool, "metadata": dict,
}
SHAPE_EMPTY_STATE = {
    "messages": int, "bytes": int, "first_seq": int, "first_ts": str, "last_seq": int, "last_ts": str,
    "consumer_count": int,
}
SHAPE_ERROR = {"code": int, "err_code": int, "description": str}


def shape(document: dict) -> dict:
    return {key: type(value) for key, value in document.items()}


async def api(nc, subject: str, body: dict | bytes | None = None, timeout: float = 2.0) -> dict:
    """One `$JS.API` request; the parsed JSON answer."""
    payload = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    reply = await nc.request(subject, payload, timeout=timeout)
    return json.loads(reply.data)


async def poll_until(check, timeout: float = 5.0, interval: float = 0.05):
    """For what no event announces (age expiry): re-check until true or the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(interval)


async def stream_state(nc, stream: str) -> tuple[int, int, int]:
    """(messages, first_seq, last_seq) of a stream, from STREAM.INFO."""
    state = (await api(nc, f"$JS.API.STREAM.INFO.{stream}"))["state"]
    return state["messages"], state["first_seq"], state["last_seq"]


async def stream_state_becomes(nc, stream: str, expected: tuple[int, int, int]) -> tuple[int, int, int]:
    """A message's removal is announced by no event: re-read the stream state until it matches (or
    the deadline), and return the last state read."""
    async def reached():
        return await stream_state(nc, stream) == expected
    await poll_until(reached, timeout=2)
    return await stream_state(nc, stream)
