"""One Pi without Ansible, under emulation: on a fresh VM from the cached image (one boot), the commands
of docs/deploy-pi.md's "Without Ansible: one Pi" section, as it writes them: the wheels copied in, a
virtualenv, `pip install` from the wheels alone, `edgenats service install` with a leaf link to a real
nats-server hub on the host, a client user and a JetStream domain. The service is enabled, active and
hardened, a client over the forwarded port publishes and its stream stores, the hub sees the leaf; a
reboot brings the service back with the stream it stored; `service uninstall` removes the unit and keeps
config and data.

Run alone with `pytest -m qemu tests/qemu/test_service_vm.py`."""

from __future__ import annotations

import asyncio
import time

import nats
import pytest
from nats.js.api import StreamConfig
from servers import RunningServer, free_port, start_server
from vm import ROOT, EdgeVM, build_image

pytestmark = pytest.mark.qemu

HUB_PASSWORD = "leaf-secret-for-the-test"
CLIENT_PASSWORD = "device-secret-for-the-test"
# The guide's commands on the Pi, with its placeholders; the test fills them in for the VM.
GUIDE_COMMANDS = [
    "sudo python3 -m venv /opt/edgenats",
    "sudo /opt/edgenats/bin/pip install --no-index --find-links wheels edgenats",
    "(umask 077 && echo '<leaf password>' > hub-password && echo '<client password>' > client-password)",
    "sudo /opt/edgenats/bin/edgenats service install --hub nats-leaf://<hub address>:7422 --hub-user site1 "
    "--hub-password-file hub-password --jetstream-domain site1 --client-user devices "
    "--client-password-file client-password",
    "rm hub-password client-password",
    "sudo /opt/edgenats/bin/edgenats service status",
]
PLACES = {"<leaf password>": HUB_PASSWORD, "<client password>": CLIENT_PASSWORD, "<hub address>": "10.0.2.100"}


def guide_section() -> str:
    text = (ROOT / "docs" / "deploy-pi.md").read_text()
    return text.split("## Without Ansible: one Pi", 1)[1].split("\n## ", 1)[0]


def filled(command: str) -> str:
    for place, value in PLACES.items():
        command = command.replace(place, value)
    return command


@pytest.fixture(scope="module")
def leaf_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def hub(tmp_path_factory, leaf_port):
    """A real nats-server as the cloud hub, accepting the site's leaf link with a password."""
    config = (f'leafnodes {{ listen: "127.0.0.1:{leaf_port}"\n'
              f'  authorization {{ user: site1, password: "{HUB_PASSWORD}" }} }}\n')
    server: RunningServer = start_server("nats-server", tmp_path_factory.mktemp("hub"), config)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def vm(tmp_path_factory, hub, leaf_port):
    machine = EdgeVM(build_image(), tmp_path_factory.mktemp("vm"), hub_port=leaf_port)
    try:
        started = time.monotonic()
        machine.boot()
        print(f"[timing] boot to SSH: {time.monotonic() - started:.0f} s")
        yield machine
    finally:
        machine.stop()


@pytest.fixture(scope="module")
def installed(vm, wheels):
    """The guide's commands run in the guest, one after another; their output."""
    section = guide_section()
    for command in GUIDE_COMMANDS:
        assert command in section.replace("\\\n  ", ""), f"docs/deploy-pi.md no longer shows: {command}"
    vm.copy_in(wheels, "wheels")
    outputs = []
    for command in GUIDE_COMMANDS:
        started = time.monotonic()
        done = vm.ssh(filled(command), timeout=900)
        print(f"[timing] {command[:60]}: {time.monotonic() - started:.0f} s")
        assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        outputs.append(done.stdout)
    return outputs


def show(vm: EdgeVM, *names: str) -> dict[str, str]:
    text = vm.ssh("sudo systemctl show " + " ".join(f"-p {name}" for name in names) + " edgenats").stdout
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


async def publish_and_count(vm: EdgeVM, *, create: bool) -> int:
    """A client over the forwarded port: (creates the stream,) publishes one acked message; the count."""
    client = await nats.connect(f"nats://devices:{CLIENT_PASSWORD}@127.0.0.1:{vm.nats_port}",
                                connect_timeout=30, allow_reconnect=False)
    try:
        js = client.jetstream(timeout=30)
        if create:
            await js.add_stream(StreamConfig(name="TELEMETRY", subjects=["devices.*.telemetry"]))
        ack = await js.publish("devices.pi1.telemetry", b'{"t": 21.5}')
        assert ack.stream == "TELEMETRY"
        return (await js.stream_info("TELEMETRY")).state.messages
    finally:
        await client.close()


async def leaf_created(hub: RunningServer, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while "Leafnode connection created" not in hub.log_text():
        assert time.monotonic() < deadline, f"the VM's broker never linked to the hub:\n{hub.log_text()[-2000:]}"
        await asyncio.sleep(1)


async def test_pip_and_service_install_run_a_broker_linked_to_a_nats_server_hub(vm, hub, installed):
    install_output = installed[3]
    assert "ran systemctl enable --now edgenats.service" in install_output, install_output
    assert "leaf-secret" not in install_output
    unit = show(vm, "UnitFileState", "ActiveState", "User", "MemoryMax", "ProtectSystem", "KillSignal",
                "WatchdogUSec", "ExecStart")
    assert (unit["UnitFileState"], unit["ActiveState"], unit["User"]) == ("enabled", "active", "edgenats"), unit
    assert (unit["MemoryMax"], unit["ProtectSystem"], unit["KillSignal"]) == ("134217728", "strict", "12"), unit
    assert unit["WatchdogUSec"] == "30s" and "/opt/edgenats/bin/edgenats-server" in unit["ExecStart"], unit
    config = vm.ssh("sudo stat -c '%a %U:%G' /etc/edgenats/edgenats.conf /var/lib/edgenats").stdout.split("\n")
    assert config[:2] == ["640 root:edgenats", "750 edgenats:edgenats"], config
    assert "active (running)" in installed[5], installed[5]
    assert await publish_and_count(vm, create=True) == 1
    await leaf_created(hub)


async def test_reboot_brings_the_service_back_with_its_stream(vm, installed):
    started = time.monotonic()
    vm.reboot()
    deadline = time.monotonic() + 180
    while show(vm, "ActiveState")["ActiveState"] != "active":
        assert time.monotonic() < deadline, vm.ssh("sudo journalctl -u edgenats --no-pager").stdout[-3000:]
        await asyncio.sleep(2)
    print(f"[timing] reboot to an active service: {time.monotonic() - started:.0f} s")
    assert await publish_and_count(vm, create=False) == 2, "the stream kept the message stored before the reboot"


def test_uninstall_removes_the_unit_and_keeps_config_and_data(vm, installed):
    done = vm.ssh("sudo /opt/edgenats/bin/edgenats service uninstall")
    assert done.returncode == 0, done.stderr
    assert "kept the config, the data and the service user" in done.stdout
    left = vm.ssh("sudo systemctl is-active edgenats; test -e /etc/systemd/system/edgenats.service || echo no-unit; "
                  "sudo test -f /etc/edgenats/edgenats.conf && sudo test -d /var/lib/edgenats/jetstream && echo kept")
    assert left.stdout.split() == ["inactive", "no-unit", "kept"], left.stdout + left.stderr
