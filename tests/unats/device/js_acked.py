"""Device: publish COUNT readings, one every 50 ms, into a stream, each with its own Nats-Msg-Id, until
acked (the broker is killed and restarted meanwhile). Reading 3 first goes out as if its ack had been lost:
a plain publish with the same id, so its acked publish finds it stored and is acked as a duplicate."""

import sys

import unats
from unats.js import js_publish_acked

nc = unats.connect(sys.argv[1], reconnect_wait=0.05, reconnect_wait_max=0.2)
for i in range(1, int(sys.argv[2]) + 1):
    msg_id = "dev1-" + str(i)
    data = b"reading-%d" % i
    if i == 3:
        nc.publish("readings.dev1", data, headers={"Nats-Msg-Id": msg_id})
        nc.flush()
    ack = js_publish_acked(nc, "readings.dev1", data, msg_id, ack_wait=0.5, timeout=20)
    print("ACK", i, ack.seq, ack.duplicate)
    nc.wait_msg(0.05)  # a reading every 50 ms
print("RECONNECTS", nc.reconnects)
nc.close()
