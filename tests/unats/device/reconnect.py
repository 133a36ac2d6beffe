"""Device: publish into the outbox while the server is down (until it is full), reconnect when told on
stdin, and show that the subscription was restored."""

import sys

import unats

nc = unats.connect(sys.argv[1], outbox_size=int(sys.argv[2]), reconnect_wait=0.05, reconnect_wait_max=0.2,
                   error_cb=lambda e: print("ERROR", e))
stop = []


def on_in(msg):
    if msg.data == b"stop":
        stop.append(True)
    print("IN", msg.data.decode())


nc.subscribe("dev.in", on_in)
nc.flush()
print("READY")
while nc.is_connected:
    nc.wait_msg(0.1)
queued = 0
for i in range(20):
    try:
        nc.publish("dev.out", b"reading-%02d" % i, headers={"Seq": str(i)} if i % 2 else None)
        queued += 1
    except unats.OutboxFullError as e:
        print("FULL", e)
print("QUEUED", queued)
sys.stdin.readline()
while not nc.is_connected:
    nc.wait_msg(0.1)
nc.flush()
print("RECONNECTED", nc.reconnects)
while not stop:
    nc.wait_msg(1)
nc.close()
