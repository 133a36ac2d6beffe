"""Device: publish plain, with headers and with a reply subject, then flush and close."""

import sys

import unats

nc = unats.connect(sys.argv[1], name="sensor-1")
nc.publish("site.dev1.temp", b"21.5", headers={"Unit": "C"})
nc.publish("site.dev1.hum", "40")
nc.publish("site.dev1.temp", b"", reply="site.dev1.replies")
nc.flush()
nc.close()
print("DONE")
