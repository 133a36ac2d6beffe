"""Device: a wildcard subscription, a queue-group member and a subscription limited to two messages."""

import sys

import unats

nc = unats.connect(sys.argv[1])
counts = {"work": 0, "limited": 0}
done = []


def on_cmd(msg):
    if msg.subject == "cmd.dev1.stop":
        done.append(True)
        return
    headers = msg.headers or {}
    print("CMD", msg.subject, msg.data.decode(), headers.get("X-Id", "-"), msg.reply or "-")


def count(msg):
    counts[msg.subject] += 1


nc.subscribe("cmd.dev1.*", on_cmd)
nc.subscribe("work", count, queue="workers")
nc.unsubscribe(nc.subscribe("limited", count), max_msgs=2)
nc.flush()
print("READY")
while not done:
    nc.wait_msg(1)
print("COUNTS", counts["work"], counts["limited"])
nc.close()
