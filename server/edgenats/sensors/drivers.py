"""The sensor drivers by the name a config's `type` gives: each is a function taking Blinka's I2C bus
and the sensor's address and returning a reader, a function that takes one reading as a dict of named
values. Building the driver talks to the chip (its id, its calibration), so both run in the bus's
thread. A driver's library is imported when a sensor of its type is first set up.

Adding a sensor type is a function here and a line in DRIVERS."""

from __future__ import annotations

from collections.abc import Callable

Reader = Callable[[], dict[str, float]]
Driver = Callable[[object, int], Reader]


def bme280(i2c, address: int) -> Reader:
    from adafruit_bme280 import basic

    chip = basic.Adafruit_BME280_I2C(i2c, address)
    return lambda: {"temperature_c": chip.temperature, "humidity_pct": chip.relative_humidity,
                    "pressure_hpa": chip.pressure}


def sht31(i2c, address: int) -> Reader:
    import adafruit_sht31d

    chip = adafruit_sht31d.SHT31D(i2c, address)
    return lambda: {"temperature_c": chip.temperature, "humidity_pct": chip.relative_humidity}


DRIVERS: dict[str, Driver] = {"bme280": bme280, "sht31": sht31}
