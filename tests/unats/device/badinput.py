"""Device: subscribe, report every connection error, and print the first message that arrives."""

import sys

import unats

nc = unats.connect(sys.argv[1], reconnect_wait=0.05, reconnect_wait_max=0.2,
                   error_cb=lambda e: print("ERROR", type(e).__name__, e))
nc.subscribe("dev.in")
msg = None
while msg is None:
    msg = nc.wait_msg(10)
print("GOT", msg.data.decode(), nc.reconnects)
nc.close()
