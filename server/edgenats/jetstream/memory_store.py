"""The memory store: a stream's messages held in this process only (storage: memory), gone on restart.
An append is readable at once; the appends of one loop turn are reported together after it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .message_index import MessageIndex
from .store import StoreClosedError, StoredMessage, StoreState, memory_message_size

if TYPE_CHECKING:
    from .limits import Usage
    from .store import StoredReport


class MemoryStore:
    def __init__(self) -> None:
        self._index = MessageIndex()
        self._messages: dict[int, StoredMessage] = {}
        self._closed = False
        self._report: StoredReport | None = None
        self._unreported: list[int] = []

    def report_to(self, report: StoredReport) -> None:
        self._report = report

    def append(self, subject: str, headers: bytes | None, data: bytes, time_ns: int) -> None:
        if self._closed:
            raise StoreClosedError("memory store is closed")
        seq = self._index.last_seq + 1
        self._messages[seq] = StoredMessage(seq, subject, headers, data, time_ns)
        self._index.add(seq, subject, memory_message_size(subject, len(headers or b""), len(data)), time_ns)
        if not self._unreported:
            asyncio.get_running_loop().call_soon(self._report_appends)
        self._unreported.append(seq)

    def _report_appends(self) -> None:
        seqs, self._unreported = self._unreported, []
        if seqs:
            self._report(seqs, None)

    def get(self, seq: int) -> StoredMessage | None:
        return self._messages.get(seq)

    def _message(self, seq: int | None) -> StoredMessage | None:
        return None if seq is None else self._messages[seq]

    def last_for_subject(self, subject_filter: str) -> StoredMessage | None:
        return self._message(self._index.last_for(subject_filter))

    def next_for_subject(self, subject_filter: str, start_seq: int) -> StoredMessage | None:
        return self._message(self._index.next_for(subject_filter, start_seq))

    def count_after(self, subject_filter: str, seq: int) -> int:
        return self._index.count_after(subject_filter, seq)

    def count_for_subject(self, subject: str) -> int:
        return self._index.count_for(subject)

    def first_seq_for_subject(self, subject: str) -> int | None:
        return self._index.first_for(subject)

    def delete(self, seq: int) -> bool:
        if seq not in self._index:
            return False
        self._index.remove([seq])
        del self._messages[seq]
        return True

    def discard(self, seq: int) -> bool:
        return self.delete(seq)

    def purge(self, subject_filter: str | None = None, up_to_seq: int | None = None,
              keep: int | None = None) -> int:
        seqs, compact_to = self._index.plan_purge(subject_filter, up_to_seq, keep)
        self._index.remove(seqs, compact_to)
        for seq in seqs:
            del self._messages[seq]
        return len(seqs)

    def state(self) -> StoreState:
        return self._index.state()

    def count_usage(self, usages: tuple[Usage, ...]) -> None:
        self._index.count_into(usages)

    def subjects(self, subject_filter: str = ">") -> dict[str, int]:
        return self._index.subjects(subject_filter)

    def oldest(self) -> StoredMessage | None:
        return self._messages.get(self._index.first_seq)

    def set_first_seq(self, seq: int) -> None:
        self.purge(up_to_seq=seq)

    def skip_to(self, seq: int) -> None:
        if seq > self._index.last_seq + 1:
            self._index.restore_bounds(seq - 1, self._index.last_time_ns)

    async def close(self) -> None:
        self._closed = True
        self._report_appends()

    def destroy(self) -> None:
        self._closed = True
        self._report_appends()
        self._index = MessageIndex()
        self._messages.clear()
