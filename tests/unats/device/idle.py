"""Device: stay idle in wait_msg for a few seconds while the server pings; report the connection state."""

import sys

import unats

nc = unats.connect(sys.argv[1])
for _ in range(int(sys.argv[2])):
    nc.wait_msg(0.5)
print("STATE", nc.is_connected, nc.reconnects)
nc.close()
