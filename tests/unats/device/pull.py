"""Device: a durable pull consumer (unats.pull) on the CMDS stream, filtered to commands.dev1: a batch, a
redelivery of what was not acked within ack_wait, a waiting pull answered by what the peer publishes next,
the consumer made again after the peer deletes it, and a consumer that cannot be made (no stream)."""

import sys

import unats
from devlib import heap

nc = unats.connect(sys.argv[1])  # the receive buffer first, while the heap has a free block of its size
from unats.pull import PullConsumer, metadata  # noqa: E402


def take(pc, tag, count):
    """Print and ack the next count messages."""
    while count:
        msg = pc.pump(batch=5, expires=1.0)
        if msg is None:
            pc.nc.wait_msg(0.05)
            continue
        print(tag, msg.subject, msg.data.decode(), *metadata(msg.reply))
        if msg.data != b"c3" or metadata(msg.reply)[0] > 1:  # c3 is acked on its second delivery only
            pc.ack(msg)
        count -= 1


pc = PullConsumer(nc, "CMDS", "cmd-dev1", "commands.dev1", ack_wait=0.5, max_ack_pending=10)
take(pc, "MSG", 4)
print("WAITING", heap()[1])  # the peer publishes one more
take(pc, "PUMPED", 1)
nc.flush()
print("ACKED")
sys.stdin.readline()  # the peer has deleted the consumer: it is made again, from the stream's start
take(pc, "REMADE", 4)
nope = PullConsumer(nc, "NOPE", "cmd-dev1", "commands.dev1")
while nope.creates < 2:  # no stream: the create cannot help, and the pull finds no consumer again
    nope.pump(expires=0.5)
    nc.wait_msg(0.05)
print("MISSING", nope.state, len(nope.msgs))
print("V2", *metadata("$JS.ACK.hub.aBcD12.CMDS.cmd-dev1.2.7.9.1796490124957041219.3.tok"))
print("HEAP", heap()[1])
nc.close()
