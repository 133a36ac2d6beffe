"""Run on the MicroPython Unix port by the device-credential test: log in with a device's own credential
(the config.json the devices role wrote) and publish once to each subject given, in order, printing every
error the server reports; the flush's round trip brings them all before DONE."""

import json
import sys

import unats

with open(sys.argv[1]) as f:
    cfg = json.load(f)
nc = unats.connect(cfg["servers"], name=cfg["device_id"] + "-probe", user=cfg["user"], password=cfg["password"],
                   reconnect=False, error_cb=lambda e: print("ERROR", e))
for subject in sys.argv[2:]:
    nc.publish(subject, b"probe")
nc.flush()
print("DONE")
nc.close()
