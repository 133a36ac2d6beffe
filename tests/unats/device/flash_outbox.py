"""Device: readings kept in a flash outbox (unats.outbox + unats.flashlog) until their PubAck.

Arguments: URL FOLDER FIRST LAST CUT. Keeps readings FIRST..LAST, then sends what is pending. With CUT >= 0 it
stops after CUT acks at a chosen point of a power cut: the next entry is sent and stored by the stream (a
flush), its ack not yet read; it prints INFLIGHT and waits for the SIGKILL. Prints the heap the outbox costs."""

import sys

from devlib import heap

print("HEAP_START", *heap())
import unats  # noqa: E402 - imported one by one, to measure what each adds

print("HEAP_CORE", *heap())
from unats.flashlog import FlashLog  # noqa: E402
from unats.outbox import Outbox  # noqa: E402

print("HEAP_IMPORTS", *heap())
url, folder, first, last, cut = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
nc = unats.Client(url, reconnect_wait=0.05, reconnect_wait_max=0.2)
try:
    nc.connect()
except (OSError, unats.NATSError):
    print("DOWN")
outbox = Outbox(nc, "dev1", FlashLog(folder, max_bytes=2048, segment_bytes=256), ack_wait=0.5)
print("HEAP_OUTBOX", *heap())
print("PENDING", len(outbox), outbox.log.epoch)
for i in range(first, last + 1):
    outbox.put("readings.dev1", b"reading-%d" % i)
print("KEPT", last)
if not nc.is_connected:
    sys.stdin.readline()  # the broker is down: wait here for the power cut
acks = 0
while len(outbox):
    ack = outbox.pump()  # reads an ack and sends the next entry
    if ack is not None:
        acks += 1
        print("ACK", ack["seq"], ack.get("duplicate", False))
    if acks == cut and outbox._token is not None:
        nc.flush()  # the stream has stored the entry just sent; its ack is read but not yet pumped
        print("INFLIGHT", outbox.msg_id(outbox._seq))
        sys.stdin.readline()
    nc.wait_msg(0.01)
print("DONE", outbox.acked, outbox.duplicates, outbox.refused, len(outbox))
print("HEAP_END", *heap())
nc.close()
