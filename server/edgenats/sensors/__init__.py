"""The sensor service (`edgenats-sensors`): sensors wired to the Pi's I2C pins, read through Blinka and
the CircuitPython drivers, published as JSON readings on `<site>.<node>.<sensor>` (through JetStream
with a Nats-Msg-Id when the broker stores the subject) and served as the NATS micro service
`edgenats-sensors` (`read-now`, `set-interval`, `status`).

config.py reads the file, drivers.py names the drivers, bus.py opens an I2C bus and owns its thread,
sensor.py is one sensor's read loop, publisher.py takes readings to the broker, commands.py is the
micro service, main.py wires them together.
"""
