"""The serial bridge (`edgenats-serial`): boards on the Pi's serial ports, relayed to the local broker.

`frames.py` is the line protocol's codec (docs/SERIAL-PROTOCOL.md), `board.py` one board's session on it,
`port.py` a serial port's life (open, read, write, unplugged, reopened), `relay.py` the NATS side (publish
acknowledged by the broker or the stream, subscriptions for the board), `status.py` the `edgenats-serial`
micro service, `config.py` the config file, `bridge.py` the wiring of them all, `main.py` the entry point.
"""

SERVICE_NAME = "edgenats-serial"  # the micro service's name, which `edgenats serial ls` looks for
