"""Device: readings in a RAM outbox (unats.memlog) before the stream exists: no responders, sent again once it
does; a reading the stream refuses (too large) is counted and skipped; one that does not fit the log raises."""

import sys

import unats
from unats.memlog import MemoryLog
from unats.outbox import Outbox

nc = unats.connect(sys.argv[1])
outbox = Outbox(nc, "dev2", MemoryLog(1024), ack_wait=0.3)
print("EPOCH", outbox.log.epoch)
for data in (b"reading-1", b"reading-2", b"x" * 300, b"reading-4"):
    outbox.put("readings.dev2", data)
try:
    outbox.put("readings.dev2", b"y" * 1000)
except unats.OutboxFullError:
    print("FULL", len(outbox))
while outbox.last_error is None:
    outbox.pump()
    nc.wait_msg(0.02)
print("WAITING", outbox.last_error)
sys.stdin.readline()
while len(outbox):
    outbox.pump()
    nc.wait_msg(0.02)
print("DONE", outbox.acked, outbox.duplicates, outbox.refused, outbox.last_error)
nc.close()
