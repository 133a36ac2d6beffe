"""unats.flashlog: the outbox's entries on flash, in append-only segment files that survive a reboot or a
power cut; a log for unats.outbox.Outbox (FlashLog(path, max_bytes, segment_bytes)).

A folder of segments named by number (00000001, ...). Each begins with the line "unats-outbox 1 <epoch>";
then records: "P <seq> <subject> <size>" + newline + payload + newline for an entry, "A <seq>" + newline
once every entry up to seq has its PubAck. Nothing is rewritten in place: an ack is one more short record,
and a segment is deleted whole once all its entries are acked and a newer one exists. Each boot appends to
a new segment, so a record that a power cut tore is never written after. Only the oldest pending entry is
read into RAM; the rest stay on flash. The epoch, drawn when the folder is first used, keeps message ids
unique should the folder be erased.
"""

import os


def _record(f):
    """The next whole record: (b"P", seq, subject, data) or (b"A", seq, None, None); None at the end of
    the segment or at a torn record."""
    line = f.readline()
    parts = line.split()
    if not line.endswith(b"\n") or len(parts) < 2:
        return None
    if parts[0] == b"A":
        return b"A", int(parts[1]), None, None
    if parts[0] != b"P" or len(parts) != 4:
        return None
    size = int(parts[3])
    data = f.read(size + 1)
    if len(data) != size + 1 or data[-1:] != b"\n":
        return None
    return b"P", int(parts[1]), parts[2].decode(), data[:-1]


class FlashLog:
    def __init__(self, path="outbox", max_bytes=16384, segment_bytes=2048):
        self.path = path
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        try:
            os.mkdir(path)
        except OSError:  # already there
            pass
        self._segs = []  # [number, last entry seq in it, size in bytes], oldest first
        self._seq = self._acked = 0  # the last entry appended / the last acked
        self.epoch = None
        for name in sorted(os.listdir(path)):
            if name.isdigit():
                self._scan(int(name))
        if self.epoch is None:
            import random

            self.epoch = "%08x" % random.getrandbits(32)  # noqa: UP031
        self._open = False  # the first append of this boot starts a new segment
        self._head = None
        self._collect()

    def __len__(self):
        return self._seq - self._acked

    def _file(self, number):
        return "%s/%08d" % (self.path, number)  # noqa: UP031

    def _scan(self, number):
        last = 0
        with open(self._file(number), "rb") as f:
            header = f.readline().split()
            if len(header) != 3 or header[0] != b"unats-outbox":
                return  # not ours, or torn before its header: left alone
            self.epoch = header[2].decode()
            while True:
                rec = _record(f)
                if rec is None:
                    break
                if rec[0] == b"A":
                    self._acked = max(self._acked, rec[1])
                else:
                    last = rec[1]
                    self._seq = max(self._seq, last)
        self._segs.append([number, last, os.stat(self._file(number))[6]])

    def _write(self, *parts):
        """Append one record to the newest segment (a new one first, at boot or when it is full)."""
        size = sum(len(p) for p in parts)
        if not self._open or self._segs[-1][2] + size > self.segment_bytes:
            number = self._segs[-1][0] + 1 if self._segs else 1
            header = b"unats-outbox 1 %s\n" % self.epoch.encode()
            with open(self._file(number), "wb") as f:
                f.write(header)
            self._segs.append([number, 0, len(header)])
            self._open = True
            self._collect()
        with open(self._file(self._segs[-1][0]), "ab") as f:
            for part in parts:
                f.write(part)
        self._segs[-1][2] += size

    def _collect(self):
        """Delete, oldest first, segments whose entries are all acked, except the newest."""
        while len(self._segs) > 1 and self._segs[0][1] <= self._acked:
            os.remove(self._file(self._segs.pop(0)[0]))

    def append(self, subject, data):
        head = b"P %d %s %d\n" % (self._seq + 1, subject.encode(), len(data))
        size = len(head) + len(data) + 1
        if sum(s[2] for s in self._segs) + size > self.max_bytes:
            if len(self):
                from unats import OutboxFullError

                raise OutboxFullError("flash outbox full: reading for %s not kept" % subject)  # noqa: UP031
            self._open = False  # everything is acked: a new segment lets the old ones go
        self._write(head, data, b"\n")
        self._seq += 1
        self._segs[-1][1] = self._seq
        return self._seq

    def head(self):
        """The oldest entry without its PubAck, (seq, subject, data), or None. Found by reading the segments
        from the oldest (reads do not wear flash; acked segments are gone), and kept until it is acked."""
        if self._head is None and len(self):
            for seg in self._segs:
                if seg[1] > self._acked:
                    with open(self._file(seg[0]), "rb") as f:
                        f.readline()  # the header
                        rec = _record(f)
                        while rec is not None and (rec[0] != b"P" or rec[1] <= self._acked):
                            rec = _record(f)
                    if rec is not None:
                        self._head = rec[1:]
                        break
        return self._head

    def ack(self, seq):
        self._acked = seq
        self._head = None
        self._write(b"A %d\n" % seq)
        self._collect()
