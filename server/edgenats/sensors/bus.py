"""An I2C bus by number, through Blinka's own classes, and the one thread its transfers run in.

Blinka's `busio.I2C(scl, sda)` finds the bus from the detected board's SCL/SDA pins, which names only
the board's wired buses; any `/dev/i2c-N` (a second bus from a dtoverlay, a USB adapter) is opened by
Blinka's generic-Linux I2C class, Adafruit_PureIO underneath. `LinuxI2C` puts that class under
`busio.I2C`'s locking and buffer handling, the object the CircuitPython drivers expect (as
adafruit-extended-bus does).

`Bus` runs every transfer of one bus in its own thread, never on the event loop, one at a time. The bus
is opened at the first transfer and again after an open that failed (a bus enabled later is found).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import busio
from adafruit_blinka.microcontroller.generic_linux.i2c import I2C as GenericLinuxI2C

T = TypeVar("T")


class LinuxI2C(busio.I2C):
    """busio.I2C on /dev/i2c-<number>. Raises RuntimeError when that bus does not exist (Blinka's
    "I2C Bus #N not found, check if enabled in config!") and OSError when it cannot be opened."""

    def __init__(self, number: int) -> None:  # busio.I2C.__init__ would pick the bus by pins
        self._i2c = GenericLinuxI2C(number, mode=GenericLinuxI2C.MASTER)
        self._lock = threading.RLock()


class Bus:
    def __init__(self, number: int) -> None:
        self.number = number
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"i2c-{number}")
        self._i2c: LinuxI2C | None = None

    async def run(self, work: Callable[[LinuxI2C], T]) -> T:
        """`work(i2c)` in the bus's thread; its exception (or the bus's own, opening) is raised here."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._call, work)

    def _call(self, work: Callable[[LinuxI2C], T]) -> T:
        if self._i2c is None:
            self._i2c = LinuxI2C(self.number)
        return work(self._i2c)

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)
