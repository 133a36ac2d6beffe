"""Device: five readings in a RAM outbox drained by the app's loop (pump, then wait_msg until a message comes or
a second passes); prints how many of those waits ran out with nothing to read."""

import sys

import unats
from unats.memlog import MemoryLog
from unats.outbox import Outbox

nc = unats.connect(sys.argv[1])
outbox = Outbox(nc, "dev3", MemoryLog(1024), ack_wait=5)
for n in range(1, 6):
    outbox.put("readings.dev3", b"reading-%d" % n)
idle = 0
while len(outbox):
    outbox.pump()
    if len(outbox) and nc.wait_msg(1.0) is None:
        idle += 1
print("DONE", outbox.acked, idle)
nc.close()
