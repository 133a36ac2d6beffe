"""The device app: joins Wi-Fi, talks to the site's edgenats broker with unats, publishes readings,
answers commands as a NATS service (found by $SRV.PING/INFO/STATS discovery), and rides out Wi-Fi and broker
outages (readings taken while the broker is away wait in the client's outbox, oldest first).

With "acked": true, readings go to the site's stream instead and stay in a unats.outbox.Outbox until the stream's
PubAck, each with its own Nats-Msg-Id, so that what a reconnect or a reboot sends again is stored once; the
outbox lives on flash (unats.flashlog) where the board has a file system, so readings survive a power cut.

With "commands_stream": "<stream>", commands queued for the device in that site stream (a mirror of the hub's,
so what the hub published while the site or the device was offline is there) are run too: a durable pull
consumer (unats.pull) takes them in order, and each is acked once it has run and its result is published
(at least once: one interrupted by a reboot before its ack runs again; the queued ops are idempotent).

With "transport": "serial" (for boards without a network) the app talks to the Pi's edgenats-serial bridge
over its console (the USB serial line) instead of to a broker over Wi-Fi: seriallink.SerialLink stands in
for the unats client, and every reading goes through the outbox, acked by the bridge once the broker (or
the stream) has it. The readings, the status and the commands are the same.

Everything it needs comes from config.json, written per device by `edgenats device provision`.
"""

import gc
import json
import sys

import unats
from unats.service import Service, ServiceError

try:
    from time import sleep_ms, ticks_add, ticks_diff, ticks_ms
except ImportError:  # CPython, for running the app on a workstation
    from unats import sleep_ms, ticks_add, ticks_diff, ticks_ms

VERSION = "0.1.0"
CONFIG_FILE = "config.json"
WIFI_CHECK_MS = 5000
QUEUED_OPS = ("ping", "read", "interval")  # what a queued command may do: no reply awaits it, so no "stop"
QUEUE_BATCH = 4
QUEUE_EXPIRES_S = 5  # a pull request waits this long at the broker, then the next one is sent


def log(*args):
    print("edgeapp:", *args)


def load_config(path=CONFIG_FILE):
    """The device's settings, with the subjects derived from the device id where none are given."""
    with open(path) as f:
        cfg = json.load(f)
    dev = cfg["device_id"]
    subjects = cfg.setdefault("subjects", {})
    for key in ("telemetry", "command", "status", "result"):
        subjects.setdefault(key, "devices." + dev + "." + ("cmd" if key == "command" else key))
    subjects.setdefault("queued", "commands." + dev)
    cfg.setdefault("commands_stream", None)
    cfg.setdefault("transport", "wifi")
    cfg.setdefault("inbox_prefix", "_INBOX." + dev)  # what `edgenats creds device` lets the device subscribe to
    cfg.setdefault("interval_s", 10)
    cfg.setdefault("service", {})
    cfg.setdefault("client", {})
    cfg.setdefault("acked", False)
    outbox = cfg.setdefault("outbox", {})
    outbox.setdefault("flash", has_filesystem())
    outbox.setdefault("dir", "outbox")
    outbox.setdefault("max_bytes", 16384)
    outbox.setdefault("segment_bytes", 2048)
    outbox.setdefault("ack_wait_s", 2)
    return cfg


def tls_setting(tls):
    """unats' tls argument from the config's "tls": {"ca": "<PEM>"} verifies the broker against that CA,
    true encrypts without verifying, absent or false leaves it to the server URLs (tls://)."""
    if isinstance(tls, dict) and tls.get("ca"):
        from unats.extra import ca_context

        return ca_context(tls["ca"])
    return bool(tls)


def has_filesystem():
    """True where the board has a writable file system (every MicroPython board with flash, the Unix port)."""
    try:
        import os

        return os.statvfs(".")[0] > 0
    except (AttributeError, OSError):
        return False


class WiFi:
    """Station-mode Wi-Fi that reconnects when the link drops; absent on ports without a network module."""

    def __init__(self, cfg):
        self.wlan = None
        self.cfg = cfg
        self.next_check = ticks_ms()
        try:
            import network
        except ImportError:  # the Unix port (virtual board) is already on the host's network
            return
        if cfg:
            self.wlan = network.WLAN(network.STA_IF)
            self.wlan.active(True)

    def up(self, wait_ms=0):
        """True once associated; starts a (re)connect when not, waiting at most wait_ms for it."""
        if self.wlan is None:
            return True
        if self.wlan.isconnected():
            return True
        log("wifi: connecting to", self.cfg["ssid"])
        try:
            self.wlan.connect(self.cfg["ssid"], self.cfg.get("password", ""))
        except OSError as e:  # a connect already in progress on some ports
            log("wifi:", e)
        start = ticks_ms()
        while not self.wlan.isconnected() and ticks_diff(ticks_ms(), start) < wait_ms:
            sleep_ms(200)
        return self.wlan.isconnected()

    def poll(self):
        """True while the link is up. A dropped access point is rejoined without blocking: connect() is asked
        again every few seconds."""
        if self.wlan is None or self.wlan.isconnected():
            return True
        if ticks_diff(ticks_ms(), self.next_check) >= 0:
            self.next_check = ticks_add(ticks_ms(), WIFI_CHECK_MS)
            self.up()
        return False


class Sensor:
    """The board's own temperature sensor where it has one, else the free heap as the reading."""

    def __init__(self):
        self.kind, self._read = "heap_free", gc.mem_free
        try:
            import esp32

            self.kind, self._read = "cpu_temp_f", esp32.raw_temperature
            return
        except (ImportError, AttributeError):
            pass
        if sys.platform == "rp2":
            import machine

            adc = machine.ADC(4)
            self.kind = "cpu_temp_c"
            self._read = lambda: round(27 - (adc.read_u16() * 3.3 / 65535 - 0.706) / 0.001721, 1)

    def read(self):
        return self._read()


class App:
    def __init__(self, cfg):
        self.cfg = cfg
        self.dev = cfg["device_id"]
        self.subjects = cfg["subjects"]
        self.interval_ms = int(cfg["interval_s"] * 1000)
        svc = cfg["service"]
        self.svc_name = svc.get("name", "edgedevice")
        self.svc_version = svc.get("version", VERSION)
        self.sensor = Sensor()
        self.seq = 0
        self.dropped = 0
        self.announced = -1  # the client's reconnect count at the last online announcement
        self.running = True
        self.started = ticks_ms()
        self.nc = None
        self.outbox = None  # with "acked": readings until their PubAck
        self.queue = None  # with "commands_stream": the device's durable pull consumer on that stream

    # -- connection --------------------------------------------------------------------------

    def connect(self):
        """Creates the client and subscribes; if no broker answers yet, the client keeps retrying."""
        cfg, opts = self.cfg, self.cfg["client"]
        if cfg["transport"] == "serial":
            self.serial_link()
            return
        self.nc = unats.Client(cfg["servers"], name=self.dev, user=cfg.get("user"),
                               password=cfg.get("password"), token=cfg.get("token"), reconnect=True,
                               tls=tls_setting(cfg.get("tls")), inbox_prefix=cfg["inbox_prefix"],
                               bufsize=opts.get("bufsize", 2048), outbox_size=opts.get("outbox_size", 2048),
                               ping_interval=opts.get("ping_interval", 30),
                               reconnect_wait_max=opts.get("reconnect_wait_max", 8), error_cb=self.on_error)
        svc = Service(self.nc, self.svc_name, self.svc_version, "edgenats device app",
                      {"device_id": self.dev, "platform": sys.platform})
        svc.add_endpoint("command", self.on_command, subject=self.subjects["command"])
        if cfg["acked"]:
            self.outbox = self.make_outbox(cfg["outbox"])
        if cfg["commands_stream"]:
            from unats.pull import PullConsumer

            self.queue = PullConsumer(self.nc, cfg["commands_stream"], "cmd-" + self.dev, self.subjects["queued"])
        try:
            self.nc.connect()
        except (OSError, unats.NATSError) as e:
            log("broker not reachable yet:", e)

    def serial_link(self):
        """The serial transport: the bridge acks each line once the broker or the stream has it, so every
        reading goes through the outbox, and those taken while the board is unplugged go on its return."""
        import random

        from seriallink import SerialLink

        self.nc = SerialLink(self.dev, VERSION, "%08x" % random.getrandbits(32))  # noqa: UP031
        self.outbox = self.make_outbox(self.cfg["outbox"])
        svc = Service(self.nc, self.svc_name, self.svc_version, "edgenats device app",
                      {"device_id": self.dev, "platform": sys.platform, "transport": "serial"})
        svc.add_endpoint("command", self.on_command, subject=self.subjects["command"])
        self.nc.hello()

    def make_outbox(self, opts):
        from unats.outbox import Outbox

        if opts["flash"]:
            from unats.flashlog import FlashLog

            store, kind = FlashLog(opts["dir"], opts["max_bytes"], opts["segment_bytes"]), "flash"
        else:
            from unats.memlog import MemoryLog

            store, kind = MemoryLog(opts["max_bytes"]), "ram"
        outbox = Outbox(self.nc, self.dev, store, opts["ack_wait_s"])
        log("outbox:", kind, len(outbox), "readings pending")
        return outbox

    def on_error(self, err):
        log("connection:", err)

    def announce_if_reconnected(self):
        """Publishes an online status once per (re)connection, so the site sees the device come back."""
        if self.nc.is_connected and self.nc.reconnects != self.announced:
            self.announced = self.nc.reconnects
            self.send(self.subjects["status"], {"id": self.dev, "state": "online",
                                                "reconnects": self.announced, "dropped": self.dropped})

    def send(self, subject, obj, reply=None):
        try:
            self.nc.publish(subject, json.dumps(obj), reply)
        except unats.OutboxFullError:
            self.dropped += 1

    # -- readings ----------------------------------------------------------------------------

    def publish_reading(self):
        self.seq += 1
        reading = {"id": self.dev, "seq": self.seq, "kind": self.sensor.kind, "value": self.sensor.read(),
                   "uptime_ms": ticks_diff(ticks_ms(), self.started)}
        if self.outbox is None:
            self.send(self.subjects["telemetry"], reading)
            return
        try:
            self.outbox.put(self.subjects["telemetry"], json.dumps(reading))
        except unats.OutboxFullError:
            self.dropped += 1

    # -- commands ----------------------------------------------------------------------------

    def on_command(self, msg):
        """Requests on the command subject: {"op": "ping" | "read" | "interval" | "stop", ...} -> JSON.

        Served as an endpoint of the device's NATS service, so discovery ($SRV.PING/INFO/STATS, as
        `nats micro ls` uses it) lists the device and counts its requests and errors.
        """
        return json.dumps(self.execute(msg.data))

    def execute(self, data):
        """Runs one command (JSON bytes); returns its result. A bad command raises ServiceError."""
        try:
            req = json.loads(data) if data else {}
            op = req.get("op", "ping")
            if op == "ping":
                return {"id": self.dev, "pong": True, "version": VERSION}
            if op == "read":
                return {"id": self.dev, "kind": self.sensor.kind, "value": self.sensor.read(), "seq": self.seq}
            if op == "interval":
                self.interval_ms = max(100, int(req["seconds"] * 1000))
                return {"id": self.dev, "interval_s": self.interval_ms / 1000}
            if op == "stop":
                self.running = False
                return {"id": self.dev, "stopping": True}
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ServiceError(400, "bad request: " + str(e)) from None
        raise ServiceError(400, "unknown op " + str(op))

    def run_queued(self):
        """Runs the commands queued for the device, oldest first; each is acked once it has run and its result
        (or why it could not run) is published on the result subject with the command's stream sequence."""
        from unats.pull import metadata

        msg = self.queue.pump(QUEUE_BATCH, QUEUE_EXPIRES_S)
        while msg is not None:
            done = {"id": self.dev, "seq": metadata(msg.reply)[1], "command": None}
            try:
                req = json.loads(msg.data)
                done["command"] = req.get("id")
                if req.get("op", "ping") not in QUEUED_OPS:
                    raise ServiceError(400, "op " + str(req["op"]) + " is not run from the queue")
                done["result"] = self.execute(msg.data)
            except (ValueError, AttributeError) as e:  # not JSON, or not an object
                done["error"] = "bad request: " + str(e)
            except ServiceError as e:  # refused: it cannot succeed later either, so it is acked too
                done["error"] = e.description
            self.send(self.subjects["result"], done)
            try:
                self.queue.ack(msg)
            except unats.OutboxFullError:
                pass  # not acked: delivered and run again later
            msg = self.queue.pump(QUEUE_BATCH, QUEUE_EXPIRES_S)

    # -- main loop ---------------------------------------------------------------------------

    def loop(self, wifi):
        next_reading = ticks_ms()
        while self.running:
            if not wifi.poll():
                self.nc.link_lost()  # readings wait in the outbox, not in a socket the radio no longer carries
            self.announce_if_reconnected()
            if self.queue is not None:
                self.run_queued()
            wait = ticks_diff(next_reading, ticks_ms())
            if wait <= 0:
                self.publish_reading()
                next_reading = ticks_add(ticks_ms(), self.interval_ms)
                wait = self.interval_ms
            if self.outbox is not None:
                self.outbox.pump()  # an ack wakes wait_msg below, and the next reading goes at once
                if len(self.outbox):
                    wait = min(wait, 200)
            self.nc.wait_msg(min(wait, 1000) / 1000)
        try:
            self.nc.flush()  # the reply to "stop" should leave before the socket closes
        except unats.NATSError:
            pass
        self.nc.close()


def run(path=CONFIG_FILE):
    """Runs the app until a "stop" command; any unexpected error restarts it after a pause."""
    cfg = load_config(path)
    wifi = WiFi(cfg.get("wifi") if cfg["transport"] == "wifi" else None)
    wifi.up(wait_ms=15000)
    while True:
        app = None
        try:
            # Built inside the try, and only once the previous App is gone (below): after a MemoryError
            # the heap must be freed before the next one is made.
            app = App(cfg)
            app.connect()
            app.loop(wifi)
            return
        except (OSError, MemoryError, unats.NATSError) as e:
            log("restarting after error:", repr(e))
            if app is not None and app.nc is not None:
                app.nc.close()
            app = None
            gc.collect()
            sleep_ms(2000)
