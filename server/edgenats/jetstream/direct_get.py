"""`$JS.API.DIRECT.GET.<stream>[.<subject>]`: reads of streams with allow_direct answered as raw
messages (the stored headers and payload, then Nats-Stream, Nats-Subject, Nats-Sequence and
Nats-Time-Stamp) or status lines (404 Message Not Found, 408 Empty/Malformed/Bad Request), as
nats-server answers them. A stream without allow_direct, or no such stream, has no responder (503).
Batches (`batch` with `seq`/`next_by_subj`, stopping once `max_bytes` are sent) and `multi_last`
(the last message of each matching subject up to `up_to_seq` or `up_to_time`) add Nats-Num-Pending
and Nats-Last-Sequence and end with 204 EOB. `start_time` stands for the first sequence stored at or
after it (alone, with `next_by_subj` or with `batch`; with `seq` or `last_by_subj` it is a Bad
Request, and `multi_last` ignores it)."""

from __future__ import annotations

import calendar
import json
import re
from typing import TYPE_CHECKING

from edgenats.jetstream.store import first_seq_at, timestamp

if TYPE_CHECKING:
    from edgenats.jetstream.store import StoredMessage
    from edgenats.jetstream.streams import AccountStreams

NOT_FOUND = b"NATS/1.0 404 Message Not Found\r\n\r\n"
NO_RESULTS = b"NATS/1.0 404 No Results\r\n\r\n"
EMPTY_REQUEST = b"NATS/1.0 408 Empty Request\r\n\r\n"
MALFORMED_REQUEST = b"NATS/1.0 408 Malformed Request\r\n\r\n"
BAD_REQUEST = b"NATS/1.0 408 Bad Request\r\n\r\n"
_INT_KEYS = ("seq", "batch", "max_bytes", "up_to_seq")
_STR_KEYS = ("last_by_subj", "next_by_subj", "up_to_time", "start_time")
_TIME_KEYS = ("up_to_time", "start_time")
_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:(Z)|([+-])(\d\d):(\d\d))")


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
    if any(request.get(key) is not None and _time_ns(request[key]) is None for key in _TIME_KEYS):
        raise _Refused(MALFORMED_REQUEST)
    multi_last = request.get("multi_last")
    if multi_last is not None and not (isinstance(multi_last, list) and all(isinstance(f, str) for f in multi_last)):
        raise _Refused(MALFORMED_REQUEST)
    return request


def _time_ns(text: str) -> int | None:
    """An RFC 3339 time as UTC ns since the epoch (digits past ns dropped); None when it is not one
    (as Go reads a JSON time: upper-case T and Z only)."""
    found = _RFC3339.fullmatch(text)
    if found is None:
        return None
    year, month, day, hour, minute, second, fraction, _, sign, off_h, off_m = found.groups()
    seconds = calendar.timegm((int(year), int(month), int(day), int(hour), int(minute), int(second)))
    if sign:
        seconds -= (1 if sign == "+" else -1) * (int(off_h) * 3600 + int(off_m) * 60)
    return seconds * 1_000_000_000 + int((fraction or "")[:9].ljust(9, "0"))


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
        multi_last = request.get("multi_last") or []
        start_time = request.get("start_time")
        if (last_by and (seq or next_by or batch)) or (multi_last and (last_by or next_by)):
            raise _Refused(BAD_REQUEST)
        if start_time is not None and not multi_last:
            if seq or last_by:
                raise _Refused(BAD_REQUEST)
            seq = first_seq_at(store, _time_ns(start_time))
        if not (seq or last_by or next_by or multi_last):
            raise _Refused(EMPTY_REQUEST)
        if multi_last:
            up_to = request.get("up_to_seq") or 0
            if request.get("up_to_time"):
                up_to = _last_before(store, _time_ns(request["up_to_time"]))
                if not up_to:
                    raise _Refused(NO_RESULTS)
            self._multi_last(name, store, reply, multi_last, up_to, batch)
        elif batch:
            self._batch(name, store, reply, next_by or ">", max(seq, 1), batch, request.get("max_bytes") or 0)
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

    def _batch(self, name: str, store, reply: str, subject_filter: str, start: int, batch: int,
               max_bytes: int) -> None:
        """Up to `batch` messages from `start` (and no more once `max_bytes` were sent): each with how
        many match after it and the sequence sent before it, then 204 EOB with the same two counts."""
        found = store.next_for_subject(subject_filter, start)
        if found is None:
            raise _Refused(NOT_FOUND)
        last = sent_bytes = 0
        while found is not None and batch > 0 and not (max_bytes and sent_bytes >= max_bytes):
            pending = store.count_after(subject_filter, found.seq)
            extra = f"Nats-Num-Pending: {pending}\r\nNats-Last-Sequence: {last}\r\n"
            self.account.publish_internal(reply, found.data, headers=reply_headers(name, found, extra))
            last, batch = found.seq, batch - 1
            sent_bytes += len(found.subject) + len(found.headers or b"") + len(found.data)
            found = store.next_for_subject(subject_filter, found.seq + 1)
        end = (f"NATS/1.0 204 EOB\r\nNats-Num-Pending: {store.count_after(subject_filter, last)}\r\n"
               f"Nats-Last-Sequence: {last}\r\n\r\n").encode()
        self.account.publish_internal(reply, b"", headers=end)

    def _multi_last(self, name: str, store, reply: str, filters: list[str], up_to: int, batch: int) -> None:
        """The last message at or below `up_to` (default: the stream's last) of every subject matching
        the filters, oldest first, up to `batch` of them; 204 EOB also names the `up_to` sequence."""
        up_to = up_to or store.state().last_seq
        subjects = {subject for subject_filter in filters for subject in store.subjects(subject_filter)}
        found = sorted((m for subject in subjects if (m := _last_at_or_below(store, subject, up_to)) is not None),
                       key=lambda m: m.seq)
        if not found:
            raise _Refused(NO_RESULTS)
        sending = found[:batch] if batch else found
        last = 0
        for index, message in enumerate(sending):
            extra = f"Nats-Num-Pending: {len(found) - index - 1}\r\nNats-Last-Sequence: {last}\r\n"
            self.account.publish_internal(reply, message.data, headers=reply_headers(name, message, extra))
            last = message.seq
        end = (f"NATS/1.0 204 EOB\r\nNats-Num-Pending: {len(found) - len(sending)}\r\n"
               f"Nats-Last-Sequence: {last}\r\nNats-UpTo-Sequence: {up_to}\r\n\r\n").encode()
        self.account.publish_internal(reply, b"", headers=end)


def _last_at_or_below(store, subject: str, up_to: int) -> StoredMessage | None:
    newest = store.last_for_subject(subject)
    if newest is None or newest.seq <= up_to:
        return newest
    best = None
    found = store.next_for_subject(subject, 1)
    while found is not None and found.seq <= up_to:
        best = found
        found = store.next_for_subject(subject, found.seq + 1)
    return best


def _last_before(store, time_ns: int) -> int:
    """The last sequence stored before a time (0: none), as nats-server reads up_to_time."""
    last = 0
    found = store.oldest()
    while found is not None and found.time_ns < time_ns:
        last = found.seq
        found = store.next_for_subject(">", found.seq + 1)
    return last
