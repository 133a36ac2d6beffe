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
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nats
import pytest
from usb_i2c_adapter import Bme280, Sht31, TinyUsbI2c, UsbRedirHost, qemu_args
from vm import ROOT, EdgeVM, build_image

pytestmark = pytest.mark.qemu

BME280_ADDRESS, SHT31_ADDRESS = 0x76, 0x44
# A BME280's trimming parameters (datasheet table 16 names) and one measurement's raw values; a real
# chip's values, with the pressure and temperature of the datasheet's worked example.
BME280_TRIM = {"T1": 27504, "T2": 26435, "T3": -1000, "P1": 36477, "P2": -10685, "P3": 3024, "P4": 2855,
               "P5": 140, "P6": -7, "P7": 15500, "P8": -14600, "P9": 6000,
               "H1": 75, "H2": 362, "H3": 0, "H4": 321, "H5": 50, "H6": 30}
BME280_ADC = {"P": 415148, "T": 519888, "H": 30000}
SHT31_RAW = {"T": 0x6A3C, "RH": 0x7B1E}
INTERVAL_S = 0.5
SERVICE_CONFIG = {"servers": ["nats://127.0.0.1:4222"], "site": "site1", "node": "pi1",
                  "sensors": [{"name": "greenhouse", "type": "bme280", "bus": 0, "address": BME280_ADDRESS,
                               "interval_s": INTERVAL_S},
                              {"name": "shed", "type": "sht31", "bus": 0, "address": SHT31_ADDRESS,
                               "interval_s": INTERVAL_S}]}
VENV = "/home/pi/sensors"


def bme280_registers(trim: dict[str, int]) -> tuple[bytes, bytes]:
    """The calibration registers 0x88..0xA1 and 0xE1..0xE7 holding `trim`, laid out as the datasheet's
    table 16 says (dig_H4 and dig_H5 share 0xE5, 12 bits each)."""
    low = struct.pack("<HhhHhhhhhhhh", *(trim[name] for name in
                                          ("T1", "T2", "T3", "P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9")))
    low += bytes([0, trim["H1"]])  # 0xA0 is not used
    h4, h5 = trim["H4"], trim["H5"]
    high = struct.pack("<hB", trim["H2"], trim["H3"]) + bytes([(h4 >> 4) & 0xFF, ((h5 & 0x0F) << 4) | (h4 & 0x0F),
                                                              (h5 >> 4) & 0xFF]) + struct.pack("<b", trim["H6"])
    return low, high


def bme280_expected(t: dict[str, int], adc: dict[str, int]) -> dict[str, float]:
    """Temperature (deg C), pressure (hPa) and humidity (%RH) by the datasheet's floating-point
    compensation formulas (section 8.1)."""
    var1 = (adc["T"] / 16384.0 - t["T1"] / 1024.0) * t["T2"]
    var2 = (adc["T"] / 131072.0 - t["T1"] / 8192.0) ** 2 * t["T3"]
    t_fine = int(var1 + var2)
    temperature = (var1 + var2) / 5120.0
    var1 = t_fine / 2.0 - 64000.0
    var2 = var1 * var1 * t["P6"] / 32768.0 + var1 * t["P5"] * 2.0
    var2 = var2 / 4.0 + t["P4"] * 65536.0
    var1 = (t["P3"] * var1 * var1 / 524288.0 + t["P2"] * var1) / 524288.0
    var1 = (1.0 + var1 / 32768.0) * t["P1"]
    pressure = ((1048576.0 - adc["P"]) - var2 / 4096.0) * 6250.0 / var1
    pressure += (t["P9"] * pressure * pressure / 2147483648.0 + pressure * t["P8"] / 32768.0 + t["P7"]) / 16.0
    var_h = t_fine - 76800.0
    var_h = (adc["H"] - (t["H4"] * 64.0 + t["H5"] / 16384.0 * var_h)) * (
        t["H2"] / 65536.0 * (1.0 + t["H6"] / 67108864.0 * var_h * (1.0 + t["H3"] / 67108864.0 * var_h)))
    humidity = min(max(var_h * (1.0 - t["H1"] * var_h / 524288.0), 0.0), 100.0)
    return {"temperature_c": temperature, "humidity_pct": humidity, "pressure_hpa": pressure / 100}


def sht31_expected(raw: dict[str, int]) -> dict[str, float]:
    """The SHT3x datasheet's conversion (section 4.13)."""
    return {"temperature_c": -45 + 175 * raw["T"] / 65535, "humidity_pct": 100 * raw["RH"] / 65535}


def values(document: dict) -> dict[str, float]:
    return {key: value for key, value in document.items() if key not in ("sensor", "type", "seq", "ts")}


@pytest.fixture(scope="module")
def adapter():
    """The adapter with both chips, connecting to QEMU's socket as soon as it is there (a short path:
    a unix socket's path has at most 107 bytes)."""
    folder = tempfile.mkdtemp(prefix="i2cusb-")
    low, high = bme280_registers(BME280_TRIM)
    device = TinyUsbI2c({BME280_ADDRESS: Bme280(low, high, (BME280_ADC["P"], BME280_ADC["T"], BME280_ADC["H"])),
                         SHT31_ADDRESS: Sht31((SHT31_RAW["T"], SHT31_RAW["RH"]))})
    host = UsbRedirHost(f"{folder}/usb.sock", device)
    host.start()
    try:
        yield host
    finally:
        host.stop()
        shutil.rmtree(folder, ignore_errors=True)


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
