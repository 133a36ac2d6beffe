"""The two chips behind the simulated USB I2C adapter the VM tests use: what their registers hold (a
BME280's trimming parameters and one measurement, an SHT31's raw words), the values those encode by the
Bosch and Sensirion datasheets' formulas (computed here, independently of the drivers under test), and
the adapter itself with both chips, serving QEMU's usb-redir socket."""

from __future__ import annotations

import contextlib
import shutil
import struct
import tempfile
from collections.abc import Iterator

from usb_i2c_adapter import Bme280, Sht31, TinyUsbI2c, UsbRedirHost

BME280_ADDRESS, SHT31_ADDRESS = 0x76, 0x44
# A BME280's trimming parameters (datasheet table 16 names) and one measurement's raw values; a real
# chip's values, with the pressure and temperature of the datasheet's worked example.
BME280_TRIM = {"T1": 27504, "T2": 26435, "T3": -1000, "P1": 36477, "P2": -10685, "P3": 3024, "P4": 2855,
               "P5": 140, "P6": -7, "P7": 15500, "P8": -14600, "P9": 6000,
               "H1": 75, "H2": 362, "H3": 0, "H4": 321, "H5": 50, "H6": 30}
BME280_ADC = {"P": 415148, "T": 519888, "H": 30000}
SHT31_RAW = {"T": 0x6A3C, "RH": 0x7B1E}


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


@contextlib.contextmanager
def simulated_adapter() -> Iterator[UsbRedirHost]:
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
