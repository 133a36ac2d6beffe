"""Device: the heap the flash outbox costs, without a server: imports, then 200 readings kept on flash and
acked one by one (every segment rotated and deleted on the way). Prints the figures for the README."""

import sys

from devlib import heap

start = heap()[0]
import unats  # noqa: E402 - imported one by one, to measure what each adds

core = heap()[0]
import unats.extra  # noqa: E402, F401 - the outbox loads it first thing

extra = heap()[0]
from unats.outbox import Outbox  # noqa: E402

out = heap()[0]
from unats.flashlog import FlashLog  # noqa: E402

modules = heap()[0]
outbox = Outbox(unats.Client("nats://127.0.0.1:1"), "dev1", FlashLog(sys.argv[1], 2048, 256))
made = heap()[0]
most = 0
for i in range(200):
    outbox.put("readings.dev1", b'{"seq": %d, "value": 21.5}' % i)
    outbox.log.head()
    most = max(most, heap()[0])
    outbox.log.ack(outbox.log.head()[0])
print("HEAP core", core - start, "extra", extra - core, "outbox", out - extra, "flashlog", modules - out,
      "objects", made - modules,
      "busiest", most - made, "free", heap()[1], "segments", len(outbox.log._segs))
