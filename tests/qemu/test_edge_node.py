"""The whole path under emulation: site.yml provisions a fresh arm64 Debian VM (a Pi Zero 2 W's CPU,
cores and memory) over SSH; the broker runs as a systemd service with JetStream in domain site1 and the
TELEMETRY stream the inventory declares, and links as a leaf to a real nats-server hub (JetStream,
domain hub) on the host; a nats-py client at the hub and the device app on a virtual board, which
connects to the VM's broker, exchange messages through the VM; a second run changes nothing.

The VM is a whole site (one boot): a simulated USB I2C adapter with a BME280 and an SHT31
(usb_i2c_adapter.py) and, on QEMU's emulated FTDI (`usb-serial`, whose chardev is the USB port of a
second virtual board running the app in serial mode), a board without a network. The inventory lists
both, so site.yml also installs and starts the sensor service and the serial bridge under the guest's
systemd, with the roles' udev rules (the board's stable /dev/edgenats/<name> by its USB serial number).
TELEMETRY captures the sensors' readings (`site1.pi1.*`, not their commands under
`site1.pi1.sensors.`) and both boards' telemetry; a hub stream sources it. While the hub is killed
(kill -9) the readings of all three kinds go on being stored in the VM, and once it is back each
reaches the hub's stream once and in order per source (sensor boot id and seq, board Nats-Msg-Id).
A broker whose loop stops (SIGSTOP) is restarted by systemd's watchdog; a reboot brings the services back.

Run alone with `pytest -m qemu tests/qemu` (as root: the image build uses debootstrap)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import nats
import nats.errors
import pytest
from firmware.virtual_board import VirtualBoard
from nats.js.api import ExternalStream, StreamConfig, StreamSource
from sensor_chips import (
    BME280_ADC,
    BME280_ADDRESS,
    BME280_TRIM,
    SHT31_ADDRESS,
    SHT31_RAW,
    bme280_expected,
    sht31_expected,
    simulated_adapter,
    values,
)
from servers import RunningServer, free_port, start_server
from subscribed import subscribed
from usb_i2c_adapter import qemu_args
from vm import ROOT, EdgeVM, build_image

pytestmark = pytest.mark.qemu

BIN = Path(sys.executable).parent
HUB_PASSWORD = "hub-secret-for-the-test"
DEVICE_PASSWORD = "device-secret"
TIMINGS: dict[str, float] = {}
# The stream the inventory declares on the VM (edgenats_streams): the boards' telemetry and the Pi's
# sensors' readings (<site>.<node>.<sensor>; the sensor service's commands have one token more).
TELEMETRY_STREAM = {"name": "TELEMETRY", "subjects": ["devices.*.telemetry", "site1.pi1.*"], "storage": "file",
                    "max_age": "24h"}
# The serial board: its app's id, the emulated FTDI's USB serial number, its stable name and line speed.
SERIAL_BOARD = {"device_id": "sbdev", "usb_serial": "EDGE-SB1", "name": "sb1", "baud": 57600}
# The serial board's heap: a Pico's MicroPython has about 190K; the app in serial mode ran out of its 64K
# here (a MemoryError when the bridge restarted under it with readings pending; firmware/README.md).
SERIAL_BOARD_HEAP = 128 * 1024
# One subject per source of readings on the site: the Wi-Fi board, the serial board, the Pi's two sensors.
SOURCES = ["devices.sfdev.telemetry", "devices.sbdev.telemetry", "site1.pi1.greenhouse", "site1.pi1.shed"]


def timed(name: str, started: float):
    TIMINGS[name] = round(time.monotonic() - started, 1)
    print(f"[timing] {name}: {TIMINGS[name]} s")


class Hub:
    """A real nats-server as the cloud hub: JetStream in domain `hub`, accepting leaf nodes with a
    password; it can be killed (kill -9) and started again on the same ports and store."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.leaf_port = free_port()
        self.config = (f'jetstream {{ store_dir: "{folder / "store"}", domain: hub }}\n'
                       f'leafnodes {{ listen: "127.0.0.1:{self.leaf_port}"\n'
                       f'  authorization {{ user: site1, password: "{HUB_PASSWORD}" }} }}\n')
        self.server: RunningServer = start_server("nats-server", folder, self.config)

    @property
    def url(self) -> str:
        return self.server.url

    def log_text(self) -> str:
        return self.server.log_text()

    def kill(self) -> None:
        self.server.stop(signal.SIGKILL)

    def start_again(self) -> None:
        self.server = start_server("nats-server", self.folder, self.config, port=self.server.port)

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    hub = Hub(tmp_path_factory.mktemp("hub"))
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def adapter():
    """The simulated USB I2C adapter with a BME280 and an SHT31, as test_vm_sensors loads them."""
    with simulated_adapter() as host:
        yield host


@pytest.fixture(scope="module")
def serial_board(tmp_path_factory):
    """A virtual board running the app in serial mode, provisioned before the VM boots (QEMU holds its
    USB port from then on). It takes a reading every 30 s until the test speeds it up: what it takes
    before the bridge runs waits in its flash outbox."""
    started = time.monotonic()
    board = provision_virtual_board(tmp_path_factory.mktemp("serial-board"), SERIAL_BOARD["device_id"],
                                    heap_bytes=SERIAL_BOARD_HEAP, transport="serial", interval_s=30)
    timed("serial board provisioned", started)
    yield board
    board.stop()


@pytest.fixture(scope="module")
def vm(tmp_path_factory, hub, adapter, serial_board):
    """The VM with the I2C adapter on its xHCI controller and the serial board behind an emulated FTDI
    there: QEMU's `serial` chardev opens the board's port (a pseudo-terminal) as a host serial line and
    sets on it the line speed the guest's ftdi_sio driver asks for."""
    started = time.monotonic()
    image = build_image()
    timed("image (cached or built)", started)
    board_line = ["-chardev", f"serial,id=board,path={serial_board.port}",
                  "-device", f"usb-serial,chardev=board,bus=xhci.0,serial={SERIAL_BOARD['usb_serial']}"]
    machine = EdgeVM(image, tmp_path_factory.mktemp("vm"), hub_port=hub.leaf_port,
                     qemu_args=qemu_args(adapter.path) + board_line)
    try:
        TIMINGS["boot to SSH"] = round(machine.boot(), 1)
        yield machine
    finally:
        machine.stop()


def i2c_bus(vm: EdgeVM) -> int:
    """N of the adapter's /dev/i2c-N, by the name the guest's i2c-tiny-usb driver gives the bus."""
    names = vm.ssh("grep -H . /sys/bus/i2c/devices/i2c-*/name").stdout
    buses = [int(line.split("/")[5].removeprefix("i2c-")) for line in names.splitlines()
             if line.split(":", 1)[1].startswith("i2c-tiny-usb at bus ")]
    assert len(buses) == 1, names
    return buses[0]


@pytest.fixture(scope="module")
def site(tmp_path_factory, vm, wheels):
    """The inventory for the VM, with the hub password encrypted by ansible-vault."""
    folder = tmp_path_factory.mktemp("site")
    vault_pass = folder / "vault-pass"
    vault_pass.write_text("test-vault-password\n")
    vault_pass.chmod(0o600)
    encrypted = subprocess.run([str(BIN / "ansible-vault"), "encrypt_string", "--vault-password-file",
                                str(vault_pass), HUB_PASSWORD, "--name", "edgenats_hub_password"],
                               capture_output=True, text=True, check=True).stdout
    host_vars = folder / "host_vars"
    host_vars.mkdir()
    bus = i2c_bus(vm)
    (host_vars / "edge-vm.yml").write_text(encrypted)
    vm.inventory(folder / "hosts.yml", edgenats_wheel_dir=str(wheels),
                 edgenats_hub_url="nats-leaf://10.0.2.100:7422", edgenats_hub_user="site1",
                 edgenats_users=json.dumps([{"user": "devices", "password": DEVICE_PASSWORD}]),
                 edgenats_http_port=8222, edgenats_jetstream_domain="site1",
                 edgenats_streams=json.dumps([TELEMETRY_STREAM]),
                 edgenats_sensors=json.dumps([
                     {"name": "greenhouse", "type": "bme280", "bus": bus, "address": BME280_ADDRESS},
                     {"name": "shed", "type": "sht31", "bus": bus, "address": SHT31_ADDRESS}]),
                 sensors_node="pi1", serial_bridge_node="pi1",
                 edgenats_serial_boards=json.dumps([{key: SERIAL_BOARD[key]
                                                     for key in ("name", "usb_serial", "baud")}]))
    return folder


def playbook(site: Path, *options: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible" / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOST_KEY_CHECKING="False", PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", str(site / "hosts.yml"), "--vault-password-file",
                           str(site / "vault-pass"), *options, str(ROOT / "ansible" / "site.yml")],
                          cwd=ROOT / "ansible", env=env, capture_output=True, text=True, timeout=1800)


def recap(done: subprocess.CompletedProcess) -> dict[str, int]:
    line = next(line for line in done.stdout.splitlines() if line.startswith("edge-vm "))
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line)}


@pytest.fixture(scope="module")
def first_run(site):
    started = time.monotonic()
    done = playbook(site)
    timed("playbook, first run", started)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return done


def test_first_run_installs_a_running_hardened_service(vm, first_run):
    assert recap(first_run)["changed"] > 0 and recap(first_run)["failed"] == 0
    state = vm.ssh("sudo systemctl is-enabled edgenats; sudo systemctl is-active edgenats; "
                   "sudo systemctl show -p MemoryMax -p NoNewPrivileges -p ProtectSystem -p User edgenats")
    assert state.stdout.split()[:2] == ["enabled", "active"], state.stdout
    assert "MemoryMax=134217728" in state.stdout and "ProtectSystem=strict" in state.stdout
    assert "User=edgenats" in state.stdout and "NoNewPrivileges=yes" in state.stdout
    conf = vm.ssh("sudo cat /etc/edgenats/edgenats.conf").stdout
    assert "Ansible managed" in conf and "nats-leaf://site1:" in conf
    journald = vm.ssh("cat /etc/systemd/journald.conf.d/edge.conf").stdout
    assert "Storage=volatile" in journald
    services = vm.ssh("sudo systemctl is-active edgenats-sensors edgenats-serial; "
                      f"readlink -f /dev/edgenats/{SERIAL_BOARD['name']}; "
                      f"stat -L -c %G /dev/edgenats/{SERIAL_BOARD['name']}").stdout.split()
    assert services == ["active", "active", "/dev/ttyUSB0", "dialout"], services
    memory = vm.ssh("free -m | awk '/Mem:/ {print $3}'").stdout.strip()
    print(f"[timing] guest memory used after provisioning: {memory} MB")


def test_second_run_changes_nothing(site, first_run):
    # The sensors and serial_bridge roles' own second run (changed=0) is shown on the host
    # (tests/ansible/test_ansible_*_role.py); here it would add six minutes of emulated tasks.
    started = time.monotonic()
    again = playbook(site, "--skip-tags", "sensors,serial_bridge")
    timed("playbook, second run", started)
    assert again.returncode == 0, again.stdout[-4000:]
    assert recap(again)["changed"] == 0, again.stdout[-6000:]


async def wait_for_leaf(hub, timeout=120.0):
    """Until the hub has logged the VM's broker connecting as a leaf node."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "Leafnode connection created" in hub.log_text():
            return
        await asyncio.sleep(1)
    raise AssertionError(f"the VM's broker never linked to the hub:\n{hub.log_text()[-3000:]}")


async def test_hub_client_and_device_app_talk_through_the_vm(vm, hub, first_run, tmp_path):
    await wait_for_leaf(hub)
    peer = await nats.connect(hub.url)
    readings = await peer.subscribe("devices.vmdev.telemetry")
    await subscribed(peer)
    board = await asyncio.to_thread(provision_virtual_board, tmp_path, "vmdev",
                                    servers=[f"nats://devices:{DEVICE_PASSWORD}@127.0.0.1:{vm.nats_port}"])
    try:
        reading = json.loads((await readings.next_msg(timeout=90)).data)
        assert reading["id"] == "vmdev"
        reply = await peer.request("devices.vmdev.cmd", b'{"op": "read"}', timeout=30)
        assert json.loads(reply.data)["id"] == "vmdev"
    finally:
        board.stop()
        await peer.close()


def provision_virtual_board(folder: Path, device_id: str, heap_bytes: int = 128 * 1024, **settings) -> VirtualBoard:
    """A virtual board on the host running the device app with `settings` in its config: against the
    VM's forwarded broker port (`servers`), or in serial mode."""
    board = VirtualBoard(folder / "board", heap_bytes=heap_bytes)
    config = folder / f"{device_id}.json"
    config.write_text(json.dumps({"device_id": device_id, "interval_s": 0.5} | settings))
    done = subprocess.run([sys.executable, "-m", "edgenats.device", "provision", "--board", "unix", "--port",
                           board.port, "--config", str(config)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        board.stop()
        raise AssertionError(done.stderr)
    return board


async def answered(call, timeout: float = 60.0):
    """`call()`'s result once the VM's JetStream answers through the leaf link (it may not be up yet)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await call()
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError):
            assert time.monotonic() < deadline, "the VM's JetStream did not answer through the hub"
            await asyncio.sleep(1)


class StoredReadings:
    """What a stream holds, read as it grows (each message fetched once): the Nats-Msg-Ids and
    payloads of each subject, in stream order."""

    def __init__(self, js, stream: str):
        self.js, self.stream = js, stream
        self.next_seq = 1
        self.messages: dict[str, list[tuple[str | None, bytes]]] = {}

    async def refresh(self) -> None:
        state = (await self.js.stream_info(self.stream)).state
        for seq in range(max(self.next_seq, state.first_seq), state.last_seq + 1):
            message = await self.js.get_msg(self.stream, seq)
            self.messages.setdefault(message.subject, []).append(
                ((message.headers or {}).get("Nats-Msg-Id"), message.data))
        self.next_seq = max(self.next_seq, state.last_seq + 1)

    def ids(self, subject: str) -> list[str | None]:
        return [msg_id for msg_id, _ in self.messages.get(subject, [])]

    def counts(self) -> dict[str, int]:
        return {subject: len(self.ids(subject)) for subject in SOURCES}

    async def until(self, wanted: dict[str, int], timeout: float) -> None:
        """Until the stream holds at least `wanted[subject]` messages of each subject."""
        deadline = time.monotonic() + timeout
        while True:
            await self.refresh()
            if all(self.counts()[subject] >= count for subject, count in wanted.items()):
                return
            assert time.monotonic() < deadline, f"{self.stream} holds {self.counts()}, not {wanted}"
            await asyncio.sleep(1)


def last_run(msg_ids: list[str]) -> list[int]:
    """The numbers of the readings taken in the source's current run, in stream order: the ids are
    `<source>-<run>-<n>`, the run being a board's epoch or the sensor service's boot id."""
    run = msg_ids[-1].rsplit("-", 2)[1]
    return [int(msg_id.rsplit("-", 1)[1]) for msg_id in msg_ids if msg_id.rsplit("-", 2)[1] == run]


def line_speed(port: str) -> int:
    """The output speed (a termios B constant) set on a pseudo-terminal, opened here for the question."""
    fd = os.open(port, os.O_RDWR | os.O_NOCTTY)
    try:
        return termios.tcgetattr(fd)[5]
    finally:
        os.close(fd)


async def test_site_readings_stored_in_the_vm_reach_the_hub_stream_once_in_order(vm, hub, first_run, serial_board,
                                                                                  tmp_path):
    """The Wi-Fi board, the serial board and the Pi's sensors all publish into TELEMETRY in the VM; the
    hub is killed and started again; the hub's stream sourcing TELEMETRY holds each reading once, in order."""
    await wait_for_leaf(hub)
    at_hub = await nats.connect(hub.url)
    at_vm = await nats.connect(f"nats://devices:{DEVICE_PASSWORD}@127.0.0.1:{vm.nats_port}", connect_timeout=30)
    board = None
    try:
        # The hub manages the VM's stream through its domain: the one the inventory declared.
        site = at_hub.jetstream(domain="site1")
        info = await answered(lambda: site.stream_info("TELEMETRY"))
        assert (info.config.subjects, info.config.max_age) == (TELEMETRY_STREAM["subjects"], 24 * 3600)
        source = StreamSource(name="TELEMETRY", external=ExternalStream(api="$JS.site1.API"))
        await at_hub.jetstream().add_stream(StreamConfig(name="AGG", sources=[source]))

        # Faster paces for the test, by the services' own commands through the VM's broker. The sensor
        # service answers (the stream would answer a request it captured with a PubAck), and the serial
        # board answers through the bridge, the emulated FTDI and its line at the inventory's speed.
        for sensor in ("greenhouse", "shed"):
            asked = json.dumps({"sensor": sensor, "interval_s": 1}).encode()
            answer = json.loads((await at_vm.request("site1.pi1.sensors.set-interval", asked, timeout=30)).data)
            assert (answer["name"], answer["interval_s"]) == (sensor, 1), answer
        answer = json.loads((await at_vm.request("devices.sbdev.cmd", b'{"op": "interval", "seconds": 0.5}',
                                                 timeout=30)).data)
        assert answer == {"id": "sbdev", "interval_s": 0.5}
        assert line_speed(serial_board.port) == termios.B57600, "the guest's line speed reaches the board's port"
        board = await asyncio.to_thread(provision_virtual_board, tmp_path, "sfdev",
                                        servers=[f"nats://devices:{DEVICE_PASSWORD}@127.0.0.1:{vm.nats_port}"],
                                        interval_s=0.3, acked=True, client={"reconnect_wait_max": 1})
        started = time.monotonic()
        at_the_hub = StoredReadings(at_hub.jetstream(), "AGG")
        await at_the_hub.until({subject: 3 for subject in SOURCES}, timeout=180)
        timed("store-and-forward: first readings of each source at the hub", started)

        # The uplink goes: the hub is killed; every source's readings go on being stored in the VM.
        await at_hub.close()
        hub.kill()
        in_vm = StoredReadings(at_vm.jetstream(), "TELEMETRY")
        await in_vm.refresh()
        at_cut = in_vm.counts()
        started = time.monotonic()
        await in_vm.until({subject: at_cut[subject] + 5 for subject in SOURCES}, timeout=90)
        timed("store-and-forward: five readings of each source stored in the VM with the hub down", started)
        hub.start_again()
        started = time.monotonic()
        await in_vm.until({subject: at_cut[subject] + 8 for subject in SOURCES}, timeout=60)
        board.stop()
        board = None
        await in_vm.refresh()
        kept = {subject: in_vm.ids(subject) for subject in SOURCES}
        for subject in SOURCES:  # each reading once, in the order taken; the boards' every reading since power-up
            numbers = last_run(kept[subject])
            first = 1 if subject.startswith("devices.") else numbers[0]
            assert len(set(kept[subject])) == len(kept[subject]), f"{subject} stored twice: {kept[subject]}"
            assert numbers == list(range(first, first + len(numbers))), f"{subject}: {kept[subject]}"

        at_hub = await nats.connect(hub.url)
        at_the_hub = StoredReadings(at_hub.jetstream(), "AGG")
        await at_the_hub.until({subject: len(kept[subject]) for subject in SOURCES}, timeout=180)
        timed("store-and-forward: the hub caught up after its restart", started)
        await in_vm.refresh()
        for subject in SOURCES:
            at_hub_ids = at_the_hub.ids(subject)
            assert at_hub_ids == in_vm.ids(subject)[:len(at_hub_ids)], f"the hub holds {subject} once, in order"
        greenhouse = json.loads(at_the_hub.messages["site1.pi1.greenhouse"][-1][1])
        shed = json.loads(at_the_hub.messages["site1.pi1.shed"][-1][1])
        assert values(greenhouse) == pytest.approx(bme280_expected(BME280_TRIM, BME280_ADC), abs=1e-3)
        assert values(shed) == pytest.approx(sht31_expected(SHT31_RAW), abs=1e-3)
        print(f"[store-and-forward] per source: {in_vm.counts()} readings, "
              f"{ {subject: in_vm.counts()[subject] - at_cut[subject] for subject in SOURCES} } after the cut")
    finally:
        if board is not None:
            board.stop()
        await at_vm.close()
        await at_hub.close()


def test_a_hung_broker_is_restarted_by_the_watchdog(vm, first_run):
    """The broker's event loop stops (SIGSTOP: no WATCHDOG=1 ping any more); systemd's watchdog
    (WatchdogSec in the role's unit) kills the broker and starts it again."""
    def show(name: str) -> str:
        return vm.ssh(f"sudo systemctl show -p {name} --value edgenats").stdout.strip()

    pid, restarts = show("MainPID"), int(show("NRestarts"))
    started = time.monotonic()
    assert vm.ssh(f"sudo kill -STOP {pid}").returncode == 0
    deadline = started + 300
    while time.monotonic() < deadline:
        if int(show("NRestarts")) > restarts and show("ActiveState") == "active":
            break
        time.sleep(5)
    timed("watchdog: hung broker restarted", started)
    journal = vm.ssh("sudo journalctl -u edgenats --no-pager").stdout
    assert "Watchdog timeout" in journal, journal[-3000:]
    assert show("ActiveState") == "active" and show("MainPID") not in ("0", pid)


def test_reboot_brings_the_service_and_the_leaf_link_back(vm, hub):
    TIMINGS["reboot to SSH"] = round(vm.reboot(), 1)
    services = "edgenats edgenats-sensors edgenats-serial"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if vm.ssh(f"sudo systemctl is-active {services}").stdout.split() == ["active"] * 3:
            break
        time.sleep(2)
    state = vm.ssh(f"sudo systemctl is-active {services}").stdout.split()
    assert state == ["active"] * 3, vm.ssh("sudo journalctl -u edgenats -u edgenats-sensors -u edgenats-serial").stdout
    asyncio.run(message_from_the_vm_reaches_the_hub(vm, hub))
    print(f"[timing] summary: {TIMINGS}")


async def message_from_the_vm_reaches_the_hub(vm, hub, timeout=180.0):
    """A client of the VM's broker publishes until a subscriber at the hub receives: the leaf link is
    back (the broker redials the hub after the reboot)."""
    at_hub = await nats.connect(hub.url)
    at_vm = await nats.connect(f"nats://devices:{DEVICE_PASSWORD}@127.0.0.1:{vm.nats_port}", connect_timeout=30)
    try:
        arrivals = await at_hub.subscribe("site.after-reboot")
        await subscribed(at_hub)
        started = time.monotonic()
        while True:
            await at_vm.publish("site.after-reboot", b"back")
            try:
                message = await arrivals.next_msg(timeout=5)
                break
            except nats.errors.TimeoutError:
                assert time.monotonic() - started < timeout, hub.log_text()[-3000:]
        assert message.data == b"back"
        timed("reboot: leaf link carries messages again", started)
    finally:
        await at_vm.close()
        await at_hub.close()
