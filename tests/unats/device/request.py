"""Device: requests (answered, no responders, timeout) from its own inbox prefix, then answers requests until
told to stop."""

import sys

import unats

nc = unats.connect(sys.argv[1], inbox_prefix="_INBOX.dev1")
print("REPLY", nc.request("svc.time", b"now?", headers={"Tz": "UTC"}).data.decode())
try:
    nc.request("svc.none", b"")
except unats.NoRespondersError:
    print("NORESPONDERS")
try:
    nc.request("svc.silent", b"", timeout=0.3)
except unats.TimeoutError:
    print("TIMEOUT")
stop = []


def ping(msg):
    if msg.data == b"stop":
        stop.append(True)
    nc.publish(msg.reply, b"pong:" + msg.data)


nc.subscribe("dev1.ping", ping)
nc.flush()
print("READY")
while not stop:
    nc.wait_msg(1)
nc.close()
print("DONE")
