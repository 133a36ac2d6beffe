"""unats.pull: a durable JetStream pull consumer for a device, over the blocking client, driven from the
application's loop.

PullConsumer(nc, stream, durable, filter_subject) makes the durable consumer (explicit acks, at most
max_ack_pending messages unacked) on every new connection with CONSUMER.CREATE.<stream>.<durable>.<filter>
(create or look up: the same config again is answered with the consumer as it is), then keeps one pull request
(CONSUMER.MSG.NEXT.<stream>.<durable>, a batch and an expiry) waiting at the server, into its own inbox.
pump() never waits; it returns the next message delivered. ack(msg) sends +ACK to the message's reply
subject; metadata(reply) reads that subject (V1 or V2 form).

Small heap first (about 3 KB): one class, the create request written once with only the fields it sets, its
reply (about 700 B, which the client's receive buffer must hold) searched for an error, not decoded whole.
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


# The consumer's states (one pull request at most is in flight):
_CREATING = const(0)  # no consumer known on this connection: a create request is due or in flight
_READY = const(1)  # the consumer is there, no pull request waits
_PULLING = const(2)  # a pull request waits at the server
_WAIT_MS = const(2000)  # a create unanswered this long is sent again; a refused one after this; a pull request
# whose status has not come this long after its expiry is taken as over


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
        self._create = ("%s.CONSUMER.CREATE.%s.%s.%s" % (api, stream, durable, filter_subject),
                        json.dumps({"stream_name": stream, "config": {
                            "durable_name": durable, "ack_policy": "explicit", "filter_subject": filter_subject,
                            "ack_wait": int(ack_wait * 1000) * 1000000, "max_ack_pending": max_ack_pending}}))
        self._next = "%s.CONSUMER.MSG.NEXT.%s.%s" % (api, stream, durable)
        self._inbox = "_INBOX.%08x%08x" % (random.getrandbits(32), random.getrandbits(32))
        Client.subscribe(nc, self._inbox, self._on_msg)
        self.state = _CREATING
        self._conn = None  # the connection (the client's reconnect count) the consumer was made on
        self._token = None  # the create request in flight
        self._due = 0  # _CREATING: when to send (again); _PULLING: when the request is taken as over
        self._left = 0  # messages the pull request in flight may still bring
        self.msgs = []  # delivered, not yet taken by pump()
        self.refused = None  # the JetStream error ({"code", "err_code", "description"}) of a refused create

    def _on_msg(self, msg):
        if msg.status is None:  # a message of the stream
            self.msgs.append(msg)
            self._left -= 1
            if self._left <= 0 and self.state == _PULLING:
                self.state = _READY
        elif msg.status == 503:  # no responders: the consumer is gone (deleted, or its stream): make it again
            self.state, self._due = _CREATING, ticks_ms()
        elif msg.status != 100 and self.state == _PULLING:  # 404, 408 expired, 409 (deleted, limits): over
            self.state = _READY

    def pump(self, batch=1, expires=5.0):
        """Advance without waiting; return the oldest delivered message not yet taken, or None. While connected
        a pull request for up to batch messages waits at the server, renewed when it has expired (after
        expires seconds) or been filled."""
        nc, now = self.nc, ticks_ms()
        if nc.is_connected and self._conn != nc.reconnects:  # a new connection: make (or find) the consumer
            self._conn = nc.reconnects
            if self._token:  # a create sent on the connection before: its reply cannot come
                del nc._replies[self._token]
                self._token = None
            self.state, self._due = _CREATING, now
        if self.state == _CREATING:
            if self._token:
                reply = nc._replies[self._token]
                if reply is not None or ticks_diff(self._due, now) <= 0:
                    del nc._replies[self._token]
                    self._token = None
                    self._created(reply, now)
            if self._token is None and self.state == _CREATING and nc.is_connected and \
                    ticks_diff(self._due, now) <= 0:
                self._due = ticks_add(now, _WAIT_MS)
                self._token = nc._ask(self._create[0], self._create[1], None)
        elif self.state == _PULLING and ticks_diff(self._due, now) <= 0:
            self.state = _READY
        if self.state == _READY and not self.msgs and nc.is_connected:
            self.state, self._left = _PULLING, batch
            self._due = ticks_add(now, int(expires * 1000) + _WAIT_MS)
            Client.publish(nc, self._next, b'{"batch":%d,"expires":%d}' % (batch, int(expires * 1000) * 1000000),
                           self._inbox)
        return self.msgs.pop(0) if self.msgs else None

    def _created(self, reply, now):
        """The create's reply (None: none came in time, and it is sent again at once)."""
        if reply is None:
            return
        if reply.status is None and b'"error"' not in reply.data:
            self.state, self.refused = _READY, None
            return
        if reply.data:  # refused (no stream, say); a 503 without data: no JetStream there yet
            self.refused = json.loads(reply.data)["error"]
        self._due = ticks_add(now, _WAIT_MS)

    def ack(self, msg):
        """Acknowledge a message: the server does not deliver it again. Sent after the reconnect when the
        client is disconnected (its outbox)."""
        Client.publish(self.nc, msg.reply, b"+ACK")
