"""Device: connected to the first of two servers; when it goes away, continue on the second."""

import sys

import unats

nc = unats.connect(sys.argv[1:], reconnect_wait=0.05, reconnect_wait_max=0.2)
nc.subscribe("dev.in", lambda msg: print("IN", msg.data.decode()))
nc.flush()
print("READY")
while nc.reconnects == 0:
    nc.wait_msg(0.1)
print("RECONNECTED")
while nc.wait_msg(5) is None:
    pass
nc.close()
