"""The whole path under emulation: site.yml provisions a fresh arm64 Debian VM (a Pi Zero 2 W's CPU,
cores and memory) over SSH; the broker runs as a systemd service with JetStream in domain site1 and the
TELEMETRY stream the inventory declares, and links as a leaf to a real nats-server hub (JetStream,
domain hub) on the host; a nats-py client at the hub and the device app on a virtual board, which
connects to the VM's broker, exchange messages through the VM; a second run changes nothing; readings
the device publishes acked are stored in the VM while the hub is killed and reach the hub's stream
sourcing TELEMETRY once and in order when it is back; a broker whose loop stops (SIGSTOP) is restarted
by systemd's watchdog; a reboot brings the service back.

Run alone with `pytest -m qemu tests/qemu` (as root: the image build uses debootstrap)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nats
import nats.errors
import pytest
from firmware.virtual_board import VirtualBoard
from nats.js.api import ExternalStream, StreamConfig, StreamSource
from servers import RunningServer, free_port, start_server
from subscribed import subscribed
from vm import ROOT, EdgeVM, build_image

pytestmark = pytest.mark.qemu

BIN = Path(sys.executable).parent
HUB_PASSWORD = "hub-secret-for-the-test"
DEVICE_PASSWORD = "device-secret"
TIMINGS: dict[str, float] = {}
# The stream the inventory declares on the VM (edgenats_streams): what the device's acked readings go to.
TELEMETRY_STREAM = {"name": "TELEMETRY", "subjects": ["devices.*.telemetry"], "storage": "file", "max_age": "24h"}


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
def vm(tmp_path_factory, hub):
    started = time.monotonic()
    image = build_image()
    timed("image (cached or built)", started)
    machine = EdgeVM(image, tmp_path_factory.mktemp("vm"), hub_port=hub.leaf_port)
    try:
        TIMINGS["boot to SSH"] = round(machine.boot(), 1)
        yield machine
    finally:
        machine.stop()


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
    (host_vars / "edge-vm.yml").write_text(encrypted)
    vm.inventory(folder / "hosts.yml", edgenats_wheel_dir=str(wheels),
                 edgenats_hub_url="nats-leaf://10.0.2.100:7422", edgenats_hub_user="site1",
                 edgenats_users=json.dumps([{"user": "devices", "password": DEVICE_PASSWORD}]),
                 edgenats_http_port=8222, edgenats_jetstream_domain="site1",
                 edgenats_streams=json.dumps([TELEMETRY_STREAM]))
    return folder


def playbook(site: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible" / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOST_KEY_CHECKING="False", PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", str(site / "hosts.yml"), "--vault-password-file",
                           str(site / "vault-pass"), str(ROOT / "ansible" / "site.yml")],
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
    memory = vm.ssh("free -m | awk '/Mem:/ {print $3}'").stdout.strip()
    print(f"[timing] guest memory used after provisioning: {memory} MB")


def test_second_run_changes_nothing(site, first_run):
    started = time.monotonic()
    again = playbook(site)
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
                                    f"nats://devices:{DEVICE_PASSWORD}@127.0.0.1:{vm.nats_port}")
    try:
        reading = json.loads((await readings.next_msg(timeout=90)).data)
        assert reading["id"] == "vmdev"
        reply = await peer.request("devices.vmdev.cmd", b'{"op": "read"}', timeout=30)
        assert json.loads(reply.data)["id"] == "vmdev"
    finally:
        board.stop()
        await peer.close()


def provision_virtual_board(folder: Path, device_id: str, server: str, **settings) -> VirtualBoard:
    """A virtual board on the host running the device app against the VM's forwarded broker port."""
    board = VirtualBoard(folder / "board")
    config = folder / f"{device_id}.json"
    config.write_text(json.dumps({"device_id": device_id, "servers": [server], "interval_s": 0.5} | settings))
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


async def readings_in(js, stream: str, device_id: str, count: int, timeout: float) -> list[int]:
    """The reading numbers (of their Nats-Msg-Id) of `device_id` in `stream`, once it holds `count` of them."""
    deadline = time.monotonic() + timeout
    while True:
        state = (await js.stream_info(stream)).state
        stored = [await js.get_msg(stream, seq) for seq in range(state.first_seq, state.last_seq + 1)
                  ] if state.messages else []
        numbers = [int(message.headers["Nats-Msg-Id"].rsplit("-", 1)[1]) for message in stored
                   if message.subject == f"devices.{device_id}.telemetry"]
        if len(numbers) >= count:
            return numbers
        assert time.monotonic() < deadline, f"{stream} holds {len(numbers)} of {count} readings of {device_id}"
        await asyncio.sleep(1)


async def test_readings_stored_in_the_vm_reach_the_hub_stream_once_in_order(vm, hub, first_run, tmp_path):
    await wait_for_leaf(hub)
    at_hub = await nats.connect(hub.url)
    at_vm = await nats.connect(f"nats://devices:{DEVICE_PASSWORD}@127.0.0.1:{vm.nats_port}", connect_timeout=30)
    board = None
    try:
        # The hub manages the VM's stream through its domain: the one the inventory declared.
        site = at_hub.jetstream(domain="site1")
        info = await answered(lambda: site.stream_info("TELEMETRY"))
        assert (info.config.subjects, info.config.max_age) == (["devices.*.telemetry"], 24 * 3600)
        source = StreamSource(name="TELEMETRY", external=ExternalStream(api="$JS.site1.API"))
        await at_hub.jetstream().add_stream(StreamConfig(name="AGG", sources=[source]))
        board = await asyncio.to_thread(provision_virtual_board, tmp_path, "sfdev",
                                        f"nats://devices:{DEVICE_PASSWORD}@127.0.0.1:{vm.nats_port}",
                                        interval_s=0.3, acked=True, client={"reconnect_wait_max": 1})
        started = time.monotonic()
        await readings_in(at_hub.jetstream(), "AGG", "sfdev", 3, timeout=120)
        timed("store-and-forward: first readings at the hub", started)

        # The uplink goes: the hub is killed; the device's readings go on being stored in the VM.
        await at_hub.close()
        hub.kill()
        in_vm = at_vm.jetstream()
        at_cut = len(await readings_in(in_vm, "TELEMETRY", "sfdev", 0, timeout=0))
        await readings_in(in_vm, "TELEMETRY", "sfdev", at_cut + 10, timeout=60)
        hub.start_again()
        started = time.monotonic()
        await readings_in(in_vm, "TELEMETRY", "sfdev", at_cut + 13, timeout=60)
        board.stop()
        board = None
        kept = await readings_in(in_vm, "TELEMETRY", "sfdev", 0, timeout=0)
        assert kept == list(range(1, len(kept) + 1)), "the VM's stream holds each acked reading once"
        at_hub = await nats.connect(hub.url)
        at_the_hub = await readings_in(at_hub.jetstream(), "AGG", "sfdev", len(kept), timeout=180)
        timed("store-and-forward: the hub caught up after its restart", started)
        assert at_the_hub == kept, "the hub holds every reading once, in order"
        print(f"[store-and-forward] {len(kept)} readings, {len(kept) - at_cut} stored in the VM after the cut")
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
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if vm.ssh("sudo systemctl is-active edgenats").stdout.strip() == "active":
            break
        time.sleep(2)
    state = vm.ssh("sudo systemctl is-active edgenats").stdout.strip()
    assert state == "active", vm.ssh("sudo journalctl -u edgenats").stdout
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
