"""The sensor service on a real kernel I2C bus, under emulation (one boot): the emulated node's kernel
binds its own i2c-tiny-usb driver to a USB I2C adapter (the simulated one of usb_i2c_adapter.py, on
QEMU's xHCI controller through usb-redir) with a BME280 and an SHT31 behind it, and i2c-dev gives
/dev/i2c-N. `edgenats-sensors`, installed offline from `scripts/wheels --extras sensors` into a venv in
the guest, reads both chips through the real Blinka, Adafruit_PureIO and the CircuitPython drivers, and
publishes to the guest's broker; a nats-py client on the host, over the forwarded port, gets the
readings. Each is checked against what the loaded registers encode, computed here with the BME280
datasheet's compensation formulas and the SHT3x datasheet's conversion. The SHT31 unplugged (the
adapter naks its address) gives error readings while the BME280 goes on; plugged back, it reads again.

Run alone with `pytest -m qemu tests/qemu/test_vm_sensors.py`."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import nats
import pytest
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
from usb_i2c_adapter import qemu_args
from vm import ROOT, EdgeVM, build_image

pytestmark = pytest.mark.qemu

INTERVAL_S = 0.5
SERVICE_CONFIG = {"servers": ["nats://127.0.0.1:4222"], "site": "site1", "node": "pi1",
                  "sensors": [{"name": "greenhouse", "type": "bme280", "bus": 0, "address": BME280_ADDRESS,
                               "interval_s": INTERVAL_S},
                              {"name": "shed", "type": "sht31", "bus": 0, "address": SHT31_ADDRESS,
                               "interval_s": INTERVAL_S}]}
VENV = "/home/pi/sensors"


@pytest.fixture(scope="module")
def adapter():
    with simulated_adapter() as host:
        yield host


@pytest.fixture(scope="module")
def vm(tmp_path_factory, adapter):
    machine = EdgeVM(build_image(), tmp_path_factory.mktemp("vm"), qemu_args=qemu_args(adapter.path))
    try:
        started = time.monotonic()
        machine.boot()
        print(f"[timing] boot to SSH: {time.monotonic() - started:.0f} s")
        yield machine
    finally:
        machine.stop()


@pytest.fixture(scope="module")
def sensor_wheels(tmp_path_factory) -> Path:
    """The README's offline wheels with the `sensors` extra (Blinka, the drivers, sysv_ipc for aarch64)."""
    out = tmp_path_factory.mktemp("sensor-wheels")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "wheels"), str(out), "--extras", "sensors"], check=True,
                   capture_output=True)
    return out


def guest(vm: EdgeVM, command: str, timeout: float = 120) -> str:
    done = vm.ssh(command, timeout=timeout)
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def i2c_bus(vm) -> int:
    """N of the adapter's /dev/i2c-N, found by the name its driver gives it, opened to the `i2c` group."""
    names = guest(vm, "sudo modprobe i2c-dev && grep -H . /sys/bus/i2c/devices/i2c-*/name")
    buses = [int(line.split("/")[5].removeprefix("i2c-")) for line in names.splitlines()
             if line.split(":", 1)[1].startswith("i2c-tiny-usb at bus ")]
    assert len(buses) == 1, names
    guest(vm, f"sudo groupadd -f i2c && sudo chgrp i2c /dev/i2c-{buses[0]} && sudo chmod 660 /dev/i2c-{buses[0]}")
    return buses[0]


@pytest.fixture(scope="module")
def service(vm, i2c_bus, sensor_wheels):
    """The guest's broker and `edgenats-sensors --config` as transient units (the service as user pi in
    the i2c group); the units' journals when something fails."""
    vm.copy_in(sensor_wheels, "wheels")
    started = time.monotonic()
    guest(vm, f"python3 -m venv {VENV} && {VENV}/bin/pip install -q --no-index --find-links wheels "
              "'edgenats[sensors]'", timeout=900)
    print(f"[timing] pip install edgenats[sensors] in the guest: {time.monotonic() - started:.0f} s")
    config = dict(SERVICE_CONFIG, sensors=[dict(sensor, bus=i2c_bus) for sensor in SERVICE_CONFIG["sensors"]])
    guest(vm, f"echo '{json.dumps(config)}' > sensors.json")
    guest(vm, f"sudo systemd-run --unit broker -p User=pi {VENV}/bin/edgenats-server -a 0.0.0.0 -p 4222 && "
              f"sudo systemd-run --unit sensors -p User=pi -p SupplementaryGroups=i2c "
              f"{VENV}/bin/edgenats-sensors --config /home/pi/sensors.json")
    yield
    print(vm.ssh("sudo journalctl -u sensors --no-pager | tail -40").stdout)


def test_the_guest_kernel_drives_the_adapter_as_an_i2c_tiny_usb(vm, adapter, i2c_bus):
    name = guest(vm, f"cat /sys/bus/i2c/devices/i2c-{i2c_bus}/name")
    assert name.startswith("i2c-tiny-usb at bus "), name
    assert adapter.device.delay_us == 10, "the driver's probe sets its default 10 us bit delay"


async def test_readings_are_what_the_registers_encode_and_an_unplugged_sht31_is_reported(vm, adapter, service):
    client = await nats.connect(f"nats://127.0.0.1:{vm.nats_port}", connect_timeout=30, max_reconnect_attempts=60)
    readings: asyncio.Queue[dict] = asyncio.Queue()

    async def received(message):
        await readings.put(json.loads(message.data))

    async def next_of(sensor: str, *, error: bool, timeout: float = 90) -> tuple[dict, list[dict]]:
        """The next document of `sensor` with (or without) an error, and the documents before it."""
        before = []
        deadline = time.monotonic() + timeout
        while True:
            document = await asyncio.wait_for(readings.get(), deadline - time.monotonic())
            if document["sensor"] == sensor and ("error" in document) == error:
                return document, before
            before.append(document)

    try:
        await client.subscribe("site1.pi1.greenhouse", cb=received)
        await client.subscribe("site1.pi1.shed", cb=received)
        greenhouse, _ = await next_of("greenhouse", error=False)
        shed, _ = await next_of("shed", error=False)
        assert values(greenhouse) == pytest.approx(bme280_expected(BME280_TRIM, BME280_ADC), abs=1e-3)
        assert values(shed) == pytest.approx(sht31_expected(SHT31_RAW), abs=1e-3)
        assert (greenhouse["type"], shed["type"]) == ("bme280", "sht31")

        adapter.device.unplug(SHT31_ADDRESS)
        failed, _ = await next_of("shed", error=True, timeout=30)
        assert failed["error"] in ("[Errno 6] No such device or address", "No I2C device at address: 0x44"), failed
        going_on, _ = await next_of("greenhouse", error=False, timeout=30)
        assert going_on["seq"] > greenhouse["seq"]
        assert values(going_on) == pytest.approx(bme280_expected(BME280_TRIM, BME280_ADC), abs=1e-3)

        adapter.device.plug(SHT31_ADDRESS)
        back, meanwhile = await next_of("shed", error=False, timeout=30)
        assert values(back) == pytest.approx(sht31_expected(SHT31_RAW), abs=1e-3)
        assert back["seq"] > failed["seq"]
        assert all("error" not in document for document in meanwhile if document["sensor"] == "greenhouse")
    finally:
        await client.close()
    assert adapter.problems == []
