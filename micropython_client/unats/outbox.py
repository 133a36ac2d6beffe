"""unats.outbox: readings that must reach a stream, kept until the stream's PubAck, sent one at a time.

Outbox(nc, prefix, log) queues what put() is given in its log: in RAM (unats.memlog.MemoryLog) or on flash
(unats.flashlog.FlashLog, which survives a reboot). pump(),
called from the application's loop, never waits: it sends the oldest entry with a Nats-Msg-Id made of
the prefix, the log's epoch and the entry's number, reads its PubAck when it has come, and sends the same
entry again (same id: the stream stores it once) when no ack came within ack_wait or the stream was not there.
It reads the PubAck's JSON itself rather than through unats.js, whose classes a 32K heap cannot spare.
"""

import json

import unats.extra  # noqa: F401 - every send carries a header: its encoder is loaded now, while the heap is whole
from unats import NATSError, ticks_add, ticks_diff, ticks_ms


class Outbox:
    def __init__(self, nc, prefix, log, ack_wait=2.0):
        self.nc = nc
        self.prefix = prefix
        self.log = log
        self.ack_wait_ms = int(ack_wait * 1000)
        self._token = self._seq = None  # the request in flight, and the entry it carries
        self._due = ticks_ms()  # when the next send may go
        self.acked = self.duplicates = self.refused = 0
        self.last_error = None

    def __len__(self):
        return len(self.log)

    def msg_id(self, seq):
        return "%s-%s-%d" % (self.prefix, self.log.epoch, seq)  # noqa: UP031

    def put(self, subject, data):
        """Keep a reading for subject; returns its Nats-Msg-Id. A full log raises unats.OutboxFullError."""
        if isinstance(data, str):
            data = data.encode()
        return self.msg_id(self.log.append(subject, data))

    def pump(self):
        """Advance without waiting; returns the PubAck that arrived, as its JSON object (None if none did). The
        next entry leaves in the same call as the ack of the one before, so a loop waiting for input between
        pumps is woken by each ack and never waits idle while entries are pending."""
        nc, now, ack = self.nc, ticks_ms(), None
        if self._token is not None:
            msg = nc._replies.get(self._token)
            if msg is None and ticks_diff(self._due, now) > 0:
                return None  # its ack may still come
            del nc._replies[self._token]
            self._token = None
            ack = self._verdict(msg)
            now = ticks_ms()  # the verdict set when the next entry may go
        if not nc.is_connected or ticks_diff(self._due, now) > 0:
            return ack
        head = self.log.head()
        if head is not None:
            self._seq, subject, data = head
            self._due = ticks_add(now, self.ack_wait_ms)
            try:
                self._token = nc._ask(subject, data, {"Nats-Msg-Id": self.msg_id(self._seq)})
            except NATSError as e:  # the write failed and the client's outbox is full: try again later
                self.last_error = e
        return ack

    def _verdict(self, msg):
        """What the reply (None: none came in time) says about the entry in flight; its PubAck once stored."""
        if msg is None:
            return None
        if msg.status == 503 and not msg.data:  # no responders: no stream yet; try again after ack_wait
            self.last_error = NATSError("no stream for " + self.log.head()[1])
            self._due = ticks_add(ticks_ms(), self.ack_wait_ms)
            return None
        ack = json.loads(msg.data)
        self._due = ticks_ms()  # the next entry goes at once
        self.log.ack(self._seq)
        if "error" in ack:  # the stream refuses it (too large, limits): sending it again cannot help
            self.refused += 1
            self.last_error = NATSError(ack["error"].get("description", "refused"))
            return None
        self.acked += 1
        self.duplicates += ack.get("duplicate", False)
        return ack
