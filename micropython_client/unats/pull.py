"""unats.pull: a durable JetStream pull consumer for a device, over the blocking client, driven from the
application's loop.

PullConsumer(nc, stream, durable, filter_subject) keeps one pull request (CONSUMER.MSG.NEXT.<stream>.<durable>:
a batch and an expiry) waiting at the server whenever the client is connected, into its own inbox; pump()
never waits and returns the next message delivered; ack(msg) sends +ACK to the message's reply subject;
metadata(reply) reads that subject (V1 or V2 form). The consumer is looked up by pulling: when a pull request
finds none (503, no responders) it is created with CONSUMER.CREATE.<stream>.<durable>.<filter> (explicit acks,
at most max_ack_pending messages unacked), sent without a reply subject: the server carries it out all the
same, and its answer, about 700 bytes, never has to fit the device's heap. An existing consumer is used as it
is.
"""

# ruff: noqa: UP031 - %-formatting works on bytes in MicroPython and CPython alike

import json
import random

import unats.extra  # noqa: F401 - statuses come in header blocks: the decoder is loaded while the heap is whole
from unats import Client, ticks_add, ticks_diff, ticks_ms

try:
    from micropython import const
except ImportError:

    def const(value):
        return value


# The consumer's states:
_READY = const(0)  # no pull request waits: the next pump() sends one
_PULLING = const(1)  # a pull request waits at the server
_MISSING = const(2)  # a pull request found no consumer: the next pump() creates it
_CREATED = const(3)  # a create was sent: the next pull request waits until it has been carried out
_GRACE_MS = const(2000)  # a pull request whose status has not come this long after its expiry is taken as over
_CREATE_MS = const(250)  # the wait after a create, doubled with each create that did not help, up to 8 s


def metadata(reply):
    """(delivered, stream_seq, consumer_seq, pending) from a message's ack reply subject: V1
    $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>, or V2, which has the domain and an
    account hash after $JS.ACK and may end with a token."""
    t = reply.split(".")
    if t[0] != "$JS" or t[1] != "ACK" or len(t) not in (9, 11, 12):
        raise ValueError("not a JetStream ack subject")
    i = 4 if len(t) == 9 else 6
    return int(t[i]), int(t[i + 1]), int(t[i + 2]), int(t[i + 4])


class PullConsumer:
    def __init__(self, nc, stream, durable, filter_subject, ack_wait=30.0, max_ack_pending=1, api="$JS.API"):
        self.nc = nc
        self._inbox = "%s.%08x%08x" % (nc._opts[5], random.getrandbits(32), random.getrandbits(32))  # inbox_prefix
        # The frames are built here, once: pump() writes them as they are (only while connected), so sending
        # one takes no block of the heap for the subject, the reply and the payload joined (a create's
        # 190-byte config, joined with its line, was the block a fragmented 32K heap could not find).
        body = json.dumps({"stream_name": stream, "config": {
            "durable_name": durable, "ack_policy": "explicit", "filter_subject": filter_subject,
            "ack_wait": int(ack_wait * 1000) * 1000000, "max_ack_pending": max_ack_pending}}).encode()
        self._create = b"PUB %s.CONSUMER.CREATE.%s.%s.%s %d\r\n%s\r\n" % (
            api.encode(), stream.encode(), durable.encode(), filter_subject.encode(), len(body), body)
        self._pull = b"PUB %s.CONSUMER.MSG.NEXT.%s.%s %s " % (
            api.encode(), stream.encode(), durable.encode(), self._inbox.encode())
        Client.subscribe(nc, self._inbox, self._on_msg)
        self.state = _READY
        self._conn = None  # the connection (the client's reconnect count) the pull request in flight was sent on
        self._due = 0  # _PULLING: when the request is taken as over; _CREATED: when to pull again
        self._left = 0  # messages the pull request in flight may still bring
        self.msgs = []  # delivered, not yet taken by pump()
        self.creates = 0  # creates sent since the consumer was last seen: growing, it cannot be made (no stream?)

    def _on_msg(self, msg):
        if msg.status == 503:  # no responders: no consumer (never made, or deleted with its stream)
            self.state = _MISSING
            return
        if msg.status == 100:  # an idle heartbeat
            return
        self.creates = 0  # the consumer answered
        if msg.status is None:  # a message of the stream
            self.msgs.append(msg)
            self._left -= 1
            if self._left > 0:
                return
        if self.state == _PULLING:  # filled, or a status: 404 no messages, 408 expired, 409 (deleted, limits)
            self.state = _READY

    def pump(self, batch=1, expires=5.0):
        """Advance without waiting; return the oldest delivered message not yet taken, or None. While connected
        a pull request for up to batch messages waits at the server, renewed when it has expired (after
        expires seconds) or been filled."""
        nc, now = self.nc, ticks_ms()
        if not nc.is_connected:
            return self.msgs.pop(0) if self.msgs else None
        if self._conn != nc.reconnects and self.state == _PULLING:  # the request ended with its connection
            self.state = _READY
        if self.state == _MISSING:
            Client._send(nc, self._create)
            self.state, self._due = _CREATED, ticks_add(now, _CREATE_MS << min(self.creates, 5))
            self.creates += 1
        elif self.state != _READY and ticks_diff(self._due, now) <= 0:
            self.state = _READY
        if self.state == _READY and not self.msgs:
            self.state, self._left, self._conn = _PULLING, batch, nc.reconnects
            self._due = ticks_add(now, int(expires * 1000) + _GRACE_MS)
            body = b'{"batch":%d,"expires":%d}' % (batch, int(expires * 1000) * 1000000)
            Client._send(nc, self._pull + b"%d\r\n%s\r\n" % (len(body), body))  # one write: see publish()
        return self.msgs.pop(0) if self.msgs else None

    def ack(self, msg):
        """Acknowledge a message: the server does not deliver it again. Sent after the reconnect when the
        client is disconnected (its outbox)."""
        Client.publish(self.nc, msg.reply, b"+ACK")
