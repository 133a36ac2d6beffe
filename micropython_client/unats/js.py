"""JetStream helpers a device needs, over the blocking client: publish with an ack, publish until acked with a
stable Nats-Msg-Id, key-value get/put.

Nothing here holds state; each helper is one request (or, publishing until acked, a run of the same request)
to the JetStream API of the server. unats.outbox keeps readings across outages and reboots without this
module (its classes cost heap a small device needs for the outbox).
"""

import json
from binascii import a2b_base64

from unats import NATSError, ticks_add, ticks_diff, ticks_ms


class JetStreamError(NATSError):
    def __init__(self, description, code=0, err_code=0):
        super().__init__(description)
        self.code = code
        self.err_code = err_code


class PubAck:
    def __init__(self, stream, seq, duplicate):
        self.stream = stream
        self.seq = seq
        self.duplicate = duplicate


def _api_reply(msg):
    reply = json.loads(msg.data)
    err = reply.get("error")
    if err:
        raise JetStreamError(err.get("description", "JetStream error"), err.get("code", 0), err.get("err_code", 0))
    return reply


def pub_ack(msg):
    """The reply to a stream publish: its PubAck, or None for a no-responders status (no stream captures the
    subject, or its server is still starting: worth sending again later); a refusal raises JetStreamError."""
    if msg.status == 503 and not msg.data:
        return None
    ack = _api_reply(msg)
    return PubAck(ack["stream"], ack["seq"], ack.get("duplicate", False))


def js_publish_acked(nc, subject, data, msg_id, ack_wait=1.0, timeout=30.0):
    """Publish into a stream until a PubAck comes, every attempt with the same Nats-Msg-Id: the stream stores
    the message once and acks a copy it already holds (within its duplicate window) with duplicate=True.

    An attempt waits ack_wait seconds for its ack. A lost connection (the client reconnects meanwhile, and
    nothing is queued twice in its outbox), a lost ack and no responders are retried; after timeout seconds
    unats.TimeoutError is raised. A refusal by the stream raises JetStreamError."""
    from unats import TimeoutError

    deadline = ticks_add(ticks_ms(), int(timeout * 1000))
    headers = {"Nats-Msg-Id": msg_id}
    while True:
        left = ticks_diff(deadline, ticks_ms())
        if left <= 0:
            raise TimeoutError("no PubAck for %s" % msg_id)  # noqa: UP031
        if not nc.is_connected:
            nc.wait_msg(min(left, 100) / 1000)  # drives the reconnect
            continue
        attempt = ticks_add(ticks_ms(), int(ack_wait * 1000))
        token = nc._ask(subject, data, headers)
        try:
            while nc._replies[token] is None and ticks_diff(attempt, ticks_ms()) > 0:
                nc._step(ticks_diff(attempt, ticks_ms()))
            msg = nc._replies[token]
        finally:
            del nc._replies[token]
        ack = None if msg is None else pub_ack(msg)
        if ack is not None:
            return ack
        while msg is not None and ticks_diff(attempt, ticks_ms()) > 0:  # no responders: wait before the next try
            nc._step(ticks_diff(attempt, ticks_ms()))


def js_publish(nc, subject, data, msg_id=None, timeout=2.0):
    """Publish into a stream and wait for its ack; msg_id lets the server drop duplicates."""
    headers = {"Nats-Msg-Id": msg_id} if msg_id else None
    ack = _api_reply(nc.request(subject, data, timeout, headers))
    return PubAck(ack["stream"], ack["seq"], ack.get("duplicate", False))


def kv_put(nc, bucket, key, value, timeout=2.0):
    """Store value under key; returns the new revision."""
    return js_publish(nc, "$KV.%s.%s" % (bucket, key), value, timeout=timeout).seq  # noqa: UP031


def kv_get(nc, bucket, key, timeout=2.0):
    """The current value of key as bytes, or None when it was never set or has been deleted."""
    request = json.dumps({"last_by_subj": "$KV.%s.%s" % (bucket, key)})  # noqa: UP031
    try:
        stored = _api_reply(nc.request("$JS.API.STREAM.MSG.GET.KV_" + bucket, request, timeout))["message"]
    except JetStreamError as e:
        if e.err_code == 10037:  # no message for that key; a missing bucket (10059) is an error
            return None
        raise
    if b"KV-Operation" in a2b_base64(stored.get("hdrs", "")):  # a DEL or PURGE marker
        return None
    return a2b_base64(stored.get("data", ""))
