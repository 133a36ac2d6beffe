"""Device: a subscription callback raises OSError (a failed I2C read); the error reaches the application from
wait_msg() and the connection stays up. The next messages, sent in the same burst, are still delivered."""

import sys

import unats

nc = unats.connect(sys.argv[1], name="cb-dev", error_cb=lambda e: print("CONNERR", e))
stop = []


def on_read(msg):
    if msg.data == b"fail":
        raise OSError(5, "I2C read failed")
    print("READ", msg.data.decode())


nc.subscribe("dev.read", on_read)
nc.subscribe("dev.stop", lambda msg: stop.append(True))
nc.flush()
print("READY")
while not stop:
    try:
        nc.wait_msg(1)
    except OSError as e:
        print("APPERR", e.args[0], e.args[1])
print("END", nc.reconnects, nc.is_connected)
nc.close()
