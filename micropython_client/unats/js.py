"""JetStream helpers a device needs, over the blocking client: publish with an ack, key-value get/put.

Nothing here holds state; each helper is one request to the JetStream API of the server.
"""

import json
from binascii import a2b_base64

from unats import NATSError


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
