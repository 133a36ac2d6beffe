"""Device: receive COUNT messages, make requests, answer requests, survive a server restart; print heap figures."""

import sys

import unats
from devlib import heap

count = int(sys.argv[2])
nc = unats.connect(sys.argv[1], reconnect_wait=0.1, reconnect_wait_max=0.5)
print("HEAP_CONNECT", *heap())
received = [0]
stop = []


def on_data(msg):
    received[0] += 1


nc.subscribe("soak.data", on_data)
nc.subscribe("dev.echo", lambda msg: nc.publish(msg.reply, b"echo:" + msg.data))
nc.subscribe("dev.stop", lambda msg: stop.append(True))
nc.flush()
print("READY")
while received[0] < count:
    nc.wait_msg(5)
print("HEAP_SOAK", received[0], *heap())
for i in range(5):
    assert nc.request("svc.echo", b"q%d" % i).data == b"svc:q%d" % i
print("REQUESTS OK")
while not stop:
    nc.wait_msg(1)
print("HEAP_END", nc.reconnects, *heap())
nc.close()
