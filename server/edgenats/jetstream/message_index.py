"""The in-memory index both message stores keep: which sequences exist with their subject, size and time,
per-subject sequence lists for subject lookups, and nats-server's sequence bookkeeping (first/last
sequence through deletes, purges and compaction; the plan of what a STREAM.PURGE removes).

It is compact, for a million messages on a 512 MB board: no Python object per message. A message is one
slot in three parallel arrays indexed by `seq - base` (subject number, size, time: 16 bytes; 0 as the
subject number marks a removed message) plus its sequence in its subject's array (8 bytes), so about
24 bytes a message; each subject costs its string, its number and its array once. Removed slots at the
front are cut off as the first sequence moves up. The bytes it holds also count into the usage counters
it is given (`count_into`: its account's and the server's, limits.Usage), kept current as it changes."""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from itertools import repeat
from typing import TYPE_CHECKING

from edgenats.subjects import subject_matches

from .store import StoreState

if TYPE_CHECKING:
    from .limits import Usage

TRIM_SLOTS = 4096  # cut the removed front slots off once there are this many and they are the larger part


def _is_literal(subject_filter: str) -> bool:
    return all(token not in ("*", ">") for token in subject_filter.split("."))


class MessageIndex:
    def __init__(self) -> None:
        self.first_seq = 0
        self.last_seq = 0
        self.last_time_ns = 0
        self.bytes = 0
        self._usages: tuple[Usage, ...] = ()  # counters that add up these bytes with other indexes'
        self._count = 0
        self._base = 0  # the sequence of slot 0
        self._slot_subject = array("I")  # subject number + 1; 0: no message at this sequence
        self._slot_size = array("I")
        self._slot_time = array("q")
        self._subject_names: list[str | None] = []  # subject number -> subject
        self._subject_numbers: dict[str, int] = {}
        self._free_numbers: list[int] = []
        self._by_subject: dict[str, array] = {}  # subject -> its sequences, ascending ("Q" array)

    def __contains__(self, seq: int) -> bool:
        slot = seq - self._base
        return 0 <= slot < len(self._slot_subject) and self._slot_subject[slot] != 0

    def __len__(self) -> int:
        return self._count

    def count_into(self, usages: tuple[Usage, ...]) -> None:
        """From now on the bytes held count into `usages` (those held now are moved over from the
        previous ones); `()` counts them nowhere."""
        for usage in self._usages:
            usage.bytes -= self.bytes
        for usage in usages:
            usage.bytes += self.bytes
        self._usages = usages

    def add(self, seq: int, subject: str, size: int, time_ns: int) -> None:
        """Record a stored message; sequences only grow."""
        self.add_run(seq, (subject,), (size,), (time_ns,))

    def add_run(self, first_seq: int, subjects: Sequence[str], sizes: Sequence[int], times: Sequence[int]) -> None:
        """Record stored messages with consecutive sequences from `first_seq` (a committed batch of
        appends), given as their subjects, sizes and times; sequences only grow. The sizes and times go
        in as one extend each, and a run on one subject (the usual batch) takes its subject number and
        its sequences in one extend each too."""
        count = len(subjects)
        if not count:
            return
        slot_subject, slot_size, slot_time = self._slot_subject, self._slot_size, self._slot_time
        if not self._count:
            self.first_seq = self._base = first_seq
            del slot_subject[:], slot_size[:], slot_time[:]
        gap = first_seq - self._base - len(slot_subject)
        if gap:
            slot_subject.extend(array("I", bytes(4 * gap)))
            slot_size.extend(array("I", bytes(4 * gap)))
            slot_time.extend(array("q", bytes(8 * gap)))
        numbers, by_subject = self._subject_numbers, self._by_subject
        subject = subjects[0]
        if subjects.count(subject) == count:
            number = numbers.get(subject)
            if number is None:
                number = self._number_for(subject)
            slot_subject.extend(repeat(number + 1, count))
            by_subject[subject].extend(range(first_seq, first_seq + count))
        else:
            for seq, subject in enumerate(subjects, first_seq):
                number = numbers.get(subject)
                if number is None:
                    number = self._number_for(subject)
                slot_subject.append(number + 1)
                by_subject[subject].append(seq)
        slot_size.extend(sizes)
        slot_time.extend(times)
        added = sum(sizes)
        self._count += count
        self.bytes += added
        for usage in self._usages:
            usage.bytes += added
        self.last_seq = first_seq + count - 1
        self.last_time_ns = times[-1]

    def _number_for(self, subject: str) -> int:
        if self._free_numbers:
            number = self._free_numbers.pop()
            self._subject_names[number] = subject
        else:
            number = len(self._subject_names)
            self._subject_names.append(subject)
        self._subject_numbers[subject] = number
        self._by_subject[subject] = array("Q")
        return number

    def _forget_subject(self, subject: str) -> None:
        number = self._subject_numbers.pop(subject)
        self._subject_names[number] = None
        self._free_numbers.append(number)
        del self._by_subject[subject]

    def restore_bounds(self, last_seq: int, last_time_ns: int) -> None:
        """After a reload: the last sequence ever assigned may lie beyond the newest message kept."""
        if last_seq >= self.last_seq:
            self.last_seq = last_seq
            self.last_time_ns = last_time_ns
        if not self._count:
            self.first_seq = self.last_seq + 1

    def state(self) -> StoreState:
        messages = self._count
        first_time = self._slot_time[self.first_seq - self._base] if messages else 0
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
            return self._count
        return sum(len(seqs) - bisect_right(seqs, seq)
                   for seqs in (self._by_subject[subject] for subject in self._matching(subject_filter)))

    def _present(self, start_seq: int, end_seq: int) -> list[int]:
        """The sequences held in [start_seq, end_seq)."""
        base, slots = self._base, self._slot_subject
        first, end = max(start_seq - base, 0), min(end_seq - base, len(slots))
        return [base + slot for slot in range(first, end) if slots[slot]]

    def next_for(self, subject_filter: str, start_seq: int) -> int | None:
        start = max(start_seq, self.first_seq)
        if subject_filter == ">":
            slots = self._slot_subject
            for slot in range(max(start - self._base, 0), len(slots)):
                if slots[slot]:
                    return self._base + slot
            return None
        best: int | None = None
        for subject in self._matching(subject_filter):
            seqs = self._by_subject[subject]
            at = bisect_left(seqs, start)
            if at < len(seqs) and (best is None or seqs[at] < best):
                best = seqs[at]
        return best

    def walk_ahead(self, subject_filter: str, start_seq: int, budget_bytes: int, most: int) -> list[int]:
        """The sequences a walk filtered by `subject_filter` meets from `start_seq` (present there): at
        most `most`, adding up to at most `budget_bytes` (the first always counts). A filter with
        wildcards other than `>` gets the first one only."""
        if subject_filter == ">":
            base, slots = self._base, self._slot_subject
            first = start_seq - base
            ahead = [base + slot for slot in range(first, min(len(slots), first + most)) if slots[slot]]
        elif _is_literal(subject_filter):
            seqs = self._by_subject[subject_filter]
            at = bisect_left(seqs, start_seq)
            ahead = seqs[at:at + most].tolist()
        else:
            return [start_seq]
        sizes, base = self._slot_size, self._base
        total = 0
        for count, seq in enumerate(ahead):
            total += sizes[seq - base]
            if total > budget_bytes and count:
                return ahead[:count]
        return ahead

    def count_for(self, subject: str) -> int:
        seqs = self._by_subject.get(subject)
        return len(seqs) if seqs is not None else 0

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
                return self._present(self.first_seq, self.last_seq + 1), self.last_seq + 1
            if up_to_seq and up_to_seq > 1:
                return self._present(self.first_seq, up_to_seq), up_to_seq
            if keep and keep < self._count:
                below = self.last_seq - keep + 1
                return self._present(self.first_seq, below), below
            return [], None
        matching = sorted(seq for subject in self._matching(subject_filter) for seq in self._by_subject[subject])
        if keep:
            matching = matching[:max(len(matching) - keep, 0)]
        elif up_to_seq and up_to_seq > 1:
            matching = matching[:bisect_left(matching, up_to_seq)]
        return matching, None

    def compacted_last_seq(self, compact_to: int | None) -> int:
        """The last sequence once a plan with this compaction point is applied."""
        return max(self.last_seq, compact_to - 1) if compact_to else self.last_seq

    def remove(self, seqs: list[int], compact_to: int | None = None) -> None:
        """Drop these sequences (all present); with compact_to, nothing below it remains and the next
        sequence handed out is at least compact_to."""
        base, slot_subject, slot_size = self._base, self._slot_subject, self._slot_size
        gone_by_number: defaultdict[int, list[int]] = defaultdict(list)
        removed = 0
        for seq in seqs:
            slot = seq - base
            gone_by_number[slot_subject[slot] - 1].append(seq)
            slot_subject[slot] = 0
            removed += slot_size[slot]
        self.bytes -= removed
        for usage in self._usages:
            usage.bytes -= removed
        self._count -= len(seqs)
        for number, gone in gone_by_number.items():
            subject = self._subject_names[number]
            remaining = self._by_subject[subject]
            if len(gone) == 1:
                del remaining[bisect_left(remaining, gone[0])]
            elif remaining[:len(gone)].tolist() == sorted(gone):  # the oldest ones: the usual case
                del remaining[:len(gone)]
            else:
                dropped = set(gone)
                remaining = self._by_subject[subject] = array("Q", (seq for seq in remaining if seq not in dropped))
            if not remaining:
                self._forget_subject(subject)
        if compact_to:
            self.last_seq = self.compacted_last_seq(compact_to)
            self.first_seq = max(self.first_seq, compact_to)
        self._settle_first()

    def _settle_first(self) -> None:
        if not self._count:
            if self.last_seq or self.first_seq:
                self.first_seq = self.last_seq + 1
            del self._slot_subject[:], self._slot_size[:], self._slot_time[:]
            self._base = self.first_seq
            return
        slots, slot = self._slot_subject, max(self.first_seq - self._base, 0)
        while not slots[slot]:
            slot += 1
        self.first_seq = self._base + slot
        if slot >= TRIM_SLOTS and slot * 2 >= len(slots):
            del self._slot_subject[:slot], self._slot_size[:slot], self._slot_time[:slot]
            self._base += slot
