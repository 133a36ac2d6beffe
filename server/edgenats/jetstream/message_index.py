"""The in-memory index both message stores keep: which sequences exist with their subject, size and time,
per-subject sequence lists for subject lookups, and nats-server's sequence bookkeeping (first/last
sequence through deletes, purges and compaction; the plan of what a STREAM.PURGE removes)."""

from __future__ import annotations

import sys
from bisect import bisect_left, bisect_right
from collections import defaultdict

from edgenats.subjects import subject_matches

from .store import StoreState


def _is_literal(subject_filter: str) -> bool:
    return all(token not in ("*", ">") for token in subject_filter.split("."))


class MessageIndex:
    def __init__(self) -> None:
        self.first_seq = 0
        self.last_seq = 0
        self.last_time_ns = 0
        self.bytes = 0
        self._entries: dict[int, tuple[str, int, int]] = {}  # seq -> (subject, size, time_ns), seq order
        self._by_subject: dict[str, list[int]] = {}  # subject -> its sequences, ascending

    def __contains__(self, seq: int) -> bool:
        return seq in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, seq: int, subject: str, size: int, time_ns: int) -> None:
        """Record a stored message; sequences only grow."""
        subject = sys.intern(subject)  # one string per subject, not per message
        if not self._entries:
            self.first_seq = seq
        self._entries[seq] = (subject, size, time_ns)
        self._by_subject.setdefault(subject, []).append(seq)
        self.bytes += size
        self.last_seq = seq
        self.last_time_ns = time_ns

    def restore_bounds(self, last_seq: int, last_time_ns: int) -> None:
        """After a reload: the last sequence ever assigned may lie beyond the newest message kept."""
        if last_seq >= self.last_seq:
            self.last_seq = last_seq
            self.last_time_ns = last_time_ns
        if not self._entries:
            self.first_seq = self.last_seq + 1

    def state(self) -> StoreState:
        messages = len(self._entries)
        first_time = self._entries[self.first_seq][2] if messages else 0
        deleted = self.last_seq - self.first_seq + 1 - messages if messages else 0
        return StoreState(messages=messages, bytes=self.bytes, first_seq=self.first_seq,
                          first_time_ns=first_time, last_seq=self.last_seq, last_time_ns=self.last_time_ns,
                          num_deleted=deleted, num_subjects=len(self._by_subject))

    def _matching(self, subject_filter: str) -> list[str]:
        if _is_literal(subject_filter):
            return [subject_filter] if subject_filter in self._by_subject else []
        if subject_filter == ">":
            return list(self._by_subject)
        return [subject for subject in self._by_subject if subject_matches(subject_filter, subject)]

    def last_for(self, subject_filter: str) -> int | None:
        lasts = [self._by_subject[subject][-1] for subject in self._matching(subject_filter)]
        return max(lasts) if lasts else None

    def count_after(self, subject_filter: str, seq: int) -> int:
        if subject_filter == ">" and seq < self.first_seq:
            return len(self._entries)
        return sum(len(seqs) - bisect_right(seqs, seq)
                   for seqs in (self._by_subject[subject] for subject in self._matching(subject_filter)))

    def next_for(self, subject_filter: str, start_seq: int) -> int | None:
        start = max(start_seq, self.first_seq)
        if subject_filter == ">":
            for seq in range(start, self.last_seq + 1):
                if seq in self._entries:
                    return seq
            return None
        best: int | None = None
        for subject in self._matching(subject_filter):
            seqs = self._by_subject[subject]
            at = bisect_left(seqs, start)
            if at < len(seqs) and (best is None or seqs[at] < best):
                best = seqs[at]
        return best

    def count_for(self, subject: str) -> int:
        return len(self._by_subject.get(subject, ()))

    def first_for(self, subject: str) -> int | None:
        seqs = self._by_subject.get(subject)
        return seqs[0] if seqs else None

    def subjects(self, subject_filter: str) -> dict[str, int]:
        return {subject: len(self._by_subject[subject]) for subject in self._matching(subject_filter)}

    def plan_purge(self, subject_filter: str | None, up_to_seq: int | None,
                   keep: int | None) -> tuple[list[int], int | None]:
        """What nats-server's PurgeEx removes: (sequences, compaction point or None).

        Unfiltered: everything (compacting to last_seq + 1), or Compact(up_to_seq) when up_to_seq > 1,
        or Compact(last_seq - keep + 1) when keep is below the message count. Filtered: the matching
        messages below up_to_seq (all of them when up_to_seq <= 1), or all but the newest `keep`.
        """
        if up_to_seq and keep:
            raise ValueError("purge takes up_to_seq or keep, not both")
        if subject_filter in (None, "", ">"):
            if not up_to_seq and not keep:
                return list(self._entries), self.last_seq + 1
            if up_to_seq and up_to_seq > 1:
                return self._below(up_to_seq), up_to_seq
            if keep and keep < len(self._entries):
                below = self.last_seq - keep + 1
                return self._below(below), below
            return [], None
        matching = sorted(seq for subject in self._matching(subject_filter) for seq in self._by_subject[subject])
        if keep:
            matching = matching[:max(len(matching) - keep, 0)]
        elif up_to_seq and up_to_seq > 1:
            matching = [seq for seq in matching if seq < up_to_seq]
        return matching, None

    def compacted_last_seq(self, compact_to: int | None) -> int:
        """The last sequence once a plan with this compaction point is applied."""
        return max(self.last_seq, compact_to - 1) if compact_to else self.last_seq

    def _below(self, seq: int) -> list[int]:
        return [each for each in range(self.first_seq, min(seq, self.last_seq + 1)) if each in self._entries]

    def remove(self, seqs: list[int], compact_to: int | None = None) -> None:
        """Drop these sequences (all present); with compact_to, nothing below it remains and the next
        sequence handed out is at least compact_to."""
        gone_by_subject: defaultdict[str, set[int]] = defaultdict(set)
        for seq in seqs:
            subject, size, _ = self._entries.pop(seq)
            self.bytes -= size
            gone_by_subject[subject].add(seq)
        for subject, gone in gone_by_subject.items():
            remaining = self._by_subject[subject]
            if len(gone) == 1:
                del remaining[bisect_left(remaining, next(iter(gone)))]
            else:
                remaining = [seq for seq in remaining if seq not in gone]
            if remaining:
                self._by_subject[subject] = remaining
            else:
                del self._by_subject[subject]
        if compact_to:
            self.last_seq = self.compacted_last_seq(compact_to)
            self.first_seq = max(self.first_seq, compact_to)
        self._settle_first()

    def _settle_first(self) -> None:
        if not self._entries:
            if self.last_seq or self.first_seq:
                self.first_seq = self.last_seq + 1
            return
        seq = self.first_seq
        while seq not in self._entries:
            seq += 1
        self.first_seq = seq
