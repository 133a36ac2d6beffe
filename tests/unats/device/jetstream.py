"""Device: publish into a stream with acks and de-duplication; put and get key-value entries."""

import sys

import unats
from unats.js import JetStreamError, js_publish, kv_get, kv_put

nc = unats.connect(sys.argv[1])
for msg_id in ("r-1", "r-2", "r-1"):
    ack = js_publish(nc, "events.dev1", b"reading " + msg_id.encode(), msg_id=msg_id)
    print("ACK", ack.stream, ack.seq, ack.duplicate)
try:
    js_publish(nc, "nostream.here", b"x")
except unats.NoRespondersError:
    print("NO STREAM")
print("PUT", kv_put(nc, "config", "dev1.interval", b"30"))
print("GET", kv_get(nc, "config", "dev1.interval"), kv_get(nc, "config", "peer.key"), kv_get(nc, "config", "nope"))
print("DELETED", kv_get(nc, "config", "gone"))
try:
    kv_get(nc, "nobucket", "k")
except JetStreamError as e:
    print("JSERROR", e.code, e)
nc.close()
