"""Device: a discoverable service with two endpoints, answering until told to stop."""

import sys

import unats
from unats.service import Service, ServiceError

nc = unats.connect(sys.argv[1], name="sensor-1")
svc = Service(nc, "sensor", "1.2.0", description="edge sensor", metadata={"site": "pi-01"})
stop = []


def temp(msg):
    return b"21.5"


def fail(msg):
    raise ServiceError(400, "bad input")


svc.add_endpoint("temp", temp, subject="sensor.temp", metadata={"unit": "C"})
svc.add_endpoint("fail", fail, subject="sensor.fail", queue="sq")
nc.subscribe("dev.stop", lambda msg: stop.append(True))
nc.flush()
print("READY", svc.id)
while not stop:
    nc.wait_msg(1)
nc.close()
