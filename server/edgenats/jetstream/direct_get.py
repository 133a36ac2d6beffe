"""`$JS.API.DIRECT.GET.<stream>[.<subject>]`: reads of streams with allow_direct answered as raw
messages (the stored headers and payload, then Nats-Stream, Nats-Subject, Nats-Sequence and
Nats-Time-Stamp) or status lines (404 Message Not Found, 408 Empty/Malformed/Bad Request), as
nats-server answers them. A stream without allow_direct, or no such stream, has no responder (503).
Batches (`batch` with `seq`/`next_by_subj`) add Nats-Num-Pending and Nats-Last-Sequence and end
with 204 EOB; `multi_last`, `max_bytes`, `up_to_*` and `start_time` are answered 408 Bad Request."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from edgenats.jetstream.store import timestamp

if TYPE_CHECKING:
    from edgenats.jetstream.store import StoredMessage
    from edgenats.jetstream.streams import AccountStreams

NOT_FOUND = b"NATS/1.0 404 Message Not Found\r\n\r\n"
EMPTY_REQUEST = b"NATS/1.0 408 Empty Request\r\n\r\n"
MALFORMED_REQUEST = b"NATS/1.0 408 Malformed Request\r\n\r\n"
BAD_REQUEST = b"NATS/1.0 408 Bad Request\r\n\r\n"
_INT_KEYS = ("seq", "batch", "max_bytes", "up_to_seq")
_STR_KEYS = ("last_by_subj", "next_by_subj", "up_to_time", "start_time")
_UNSUPPORTED = ("multi_last", "max_bytes", "up_to_seq", "up_to_time", "start_time")


class _Refused(Exception):
    def __init__(self, status: bytes) -> None:
        super().__init__(status)
        self.status = status


def _request(payload: bytes) -> dict:
    if not payload.strip():
        raise _Refused(EMPTY_REQUEST)
    try:
        request = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise _Refused(MALFORMED_REQUEST) from None
    if not isinstance(request, dict):
        raise _Refused(MALFORMED_REQUEST)
    for key in _INT_KEYS:
        value = request.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise _Refused(MALFORMED_REQUEST)
    for key in _STR_KEYS:
        if request.get(key) is not None and not isinstance(request[key], str):
            raise _Refused(MALFORMED_REQUEST)
    return request


def reply_headers(stream_name: str, message: StoredMessage, extra: str = "") -> bytes:
    """The stored header block (less its end) followed by the origin headers."""
    stored = message.headers[:-2] if message.headers else b"NATS/1.0\r\n"
    return stored + (f"Nats-Stream: {stream_name}\r\nNats-Subject: {message.subject}\r\n"
                     f"Nats-Sequence: {message.seq}\r\nNats-Time-Stamp: {timestamp(message.time_ns)}\r\n"
                     f"{extra}\r\n").encode()


class DirectGet:
    def __init__(self, streams: AccountStreams) -> None:
        self.streams = streams
        self.account = streams.account

    def request(self, tokens: list[str], reply: str | None, payload: bytes) -> int:
        """tokens after `$JS.API.`; how many responders there were (0: no stream with allow_direct)."""
        if len(tokens) < 3 or tokens[1] != "GET":
            return 0
        stream = self.streams.streams.get(tokens[2])
        if stream is None or not stream.config["allow_direct"]:
            return 0
        if reply:
            try:
                self._answer(stream.name, stream.store, tokens[3:], reply, payload)
            except _Refused as refused:
                self.account.publish_internal(reply, b"", headers=refused.status)
        return 1

    def _answer(self, name: str, store, subject_tokens: list[str], reply: str, payload: bytes) -> None:
        if subject_tokens:
            if payload.strip():
                raise _Refused(BAD_REQUEST)
            self._send(name, reply, store.last_for_subject(".".join(subject_tokens)))
            return
        request = _request(payload)
        seq = request.get("seq") or 0
        last_by = request.get("last_by_subj") or ""
        next_by = request.get("next_by_subj") or ""
        batch = request.get("batch") or 0
        if any(request.get(key) for key in _UNSUPPORTED):
            raise _Refused(BAD_REQUEST)
        if last_by and (seq or next_by or batch):
            raise _Refused(BAD_REQUEST)
        if not (seq or last_by or next_by):
            raise _Refused(EMPTY_REQUEST)
        if batch:
            self._batch(name, store, reply, next_by or ">", max(seq, 1), batch)
        elif last_by:
            self._send(name, reply, store.last_for_subject(last_by))
        elif next_by:
            self._send(name, reply, store.next_for_subject(next_by, max(seq, 1)))
        else:
            self._send(name, reply, store.get(seq))

    def _send(self, name: str, reply: str, message: StoredMessage | None) -> None:
        if message is None:
            raise _Refused(NOT_FOUND)
        self.account.publish_internal(reply, message.data, headers=reply_headers(name, message))

    def _batch(self, name: str, store, reply: str, subject_filter: str, start: int, batch: int) -> None:
        """Up to `batch` messages from `start`: each with how many match after it and the sequence
        sent before it, then 204 EOB with the same two counts."""
        found = store.next_for_subject(subject_filter, start)
        if found is None:
            raise _Refused(NOT_FOUND)
        last = 0
        while found is not None and batch > 0:
            pending = store.count_after(subject_filter, found.seq)
            extra = f"Nats-Num-Pending: {pending}\r\nNats-Last-Sequence: {last}\r\n"
            self.account.publish_internal(reply, found.data, headers=reply_headers(name, found, extra))
            last, batch = found.seq, batch - 1
            found = store.next_for_subject(subject_filter, found.seq + 1)
        end = (f"NATS/1.0 204 EOB\r\nNats-Num-Pending: {store.count_after(subject_filter, last)}\r\n"
               f"Nats-Last-Sequence: {last}\r\n\r\n").encode()
        self.account.publish_internal(reply, b"", headers=end)
