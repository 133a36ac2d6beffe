"""Device: the server is not up when the device starts; publishes made before the first connection wait in
the outbox and are sent once the server appears."""

import sys

import unats

nc = unats.Client(sys.argv[1], reconnect_wait=0.05, reconnect_wait_max=0.2)
try:
    nc.connect()
except (OSError, unats.NATSError) as e:
    print("DOWN", type(e).__name__)
nc.publish("dev.out", b"before-first-connect")
nc.publish("dev.out", b"with-header", headers={"Seq": "1"})
print("QUEUED")
sys.stdin.readline()
while not nc.is_connected:
    nc.wait_msg(0.1)
nc.flush()
print("CONNECTED")
nc.close()
