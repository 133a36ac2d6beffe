"""unats.memlog: the outbox's entries in RAM (a log for unats.outbox.Outbox), lost with the device's power.

The same methods as unats.flashlog.FlashLog: append, head, ack, len, and an epoch drawn at each boot, so
that message ids never repeat across boots.
"""


class MemoryLog:
    """Entries in RAM, at most max_bytes of subjects and payloads: lost with the device's power."""

    def __init__(self, max_bytes=4096):
        import random

        self.epoch = "%08x" % random.getrandbits(32)  # noqa: UP031 - ids never repeat across boots
        self.max_bytes = max_bytes
        self._entries = []  # [seq, subject, data]
        self._bytes = 0
        self._seq = 0

    def __len__(self):
        return len(self._entries)

    def append(self, subject, data):
        size = len(subject) + len(data)
        if self._bytes + size > self.max_bytes:
            from unats import OutboxFullError

            raise OutboxFullError("outbox full: reading for %s not kept" % subject)  # noqa: UP031
        self._seq += 1
        self._entries.append((self._seq, subject, data))
        self._bytes += size
        return self._seq

    def head(self):
        return self._entries[0] if self._entries else None

    def ack(self, seq):
        entry = self._entries.pop(0)
        self._bytes -= len(entry[1]) + len(entry[2])
