"""One sensor's read loop: a reading every `interval_s` (changed at run time by `set-interval`), a
reading on demand (`read-now`), and what `status` reports of it.

Each attempt ends in a document handed to the publisher: a reading
`{"sensor", "type", "seq", "ts", <values>}` or, when the driver fails, an error reading
`{"sensor", "type", "seq", "ts", "error"}` and one log line. The error is the exception's text for what
drivers raise (OSError, ValueError, and the RuntimeError Blinka and the drivers raise for a missing bus
or chip); any other exception (a driver's bug) is a failure too, its type named in the text. After a
failure the next attempt waits the interval doubled per failure in a row, up to BACKOFF_FACTOR_MAX
times the interval; the driver is built again (chip id, calibration) at the next attempt. `seq` counts
the documents of this run from 1, without gaps: with the run's boot id it makes each one's Nats-Msg-Id.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable

from edgenats.sensors.bus import Bus
from edgenats.sensors.config import SensorConfig
from edgenats.sensors.drivers import DRIVERS, Reader

SENSOR_FAILURES = (OSError, ValueError, RuntimeError)
BACKOFF_FACTOR_MAX = 8

log = logging.getLogger("edgenats.sensors")


class SensorState(enum.Enum):
    STARTING = "starting"  # no attempt yet
    READING = "reading"  # the last attempt gave a reading
    FAILING = "failing"  # the last attempt failed; retrying with backoff


class Sensor:
    def __init__(self, config: SensorConfig, bus: Bus, emit: Callable[[str, dict], None]) -> None:
        self.config = config
        self.bus = bus
        self.emit = emit
        self.interval_s = config.interval_s
        self.state = SensorState.STARTING
        self.seq = 0
        self.readings = 0
        self.errors = 0
        self.failures_in_a_row = 0
        self.last: dict | None = None
        self._reader: Reader | None = None
        self._attempt = asyncio.Lock()  # one attempt at a time: the loop's or a read-now
        self._paced = asyncio.Event()  # set when the interval changes
        self._last_attempt = 0.0

    @property
    def name(self) -> str:
        return self.config.name

    async def run(self) -> None:
        """Read forever at the sensor's pace; cancel the task to stop."""
        while True:
            await self.read_now()
            while (remaining := self._last_attempt + self.delay() - time.monotonic()) > 0:
                self._paced.clear()
                try:
                    await asyncio.wait_for(self._paced.wait(), remaining)
                except TimeoutError:
                    break

    def delay(self) -> float:
        """Seconds from one attempt to the next: the interval, doubled per failure in a row (at most
        BACKOFF_FACTOR_MAX times)."""
        return self.interval_s * min(2 ** max(self.failures_in_a_row - 1, 0), BACKOFF_FACTOR_MAX)

    def set_interval(self, seconds: float) -> None:
        """A new pace, from the last attempt; a failing sensor starts its backoff over."""
        self.interval_s = seconds
        self.failures_in_a_row = min(self.failures_in_a_row, 1)
        self._paced.set()

    async def read_now(self) -> dict:
        """Take a reading (or fail to), publish it and return it."""
        async with self._attempt:
            self._last_attempt, taken = time.monotonic(), time.time()
            try:
                values = await self.bus.run(self._read)
            except Exception as error:  # a driver's bug is this sensor's failure, not the service's
                document = self._failed(error, taken)
            else:
                document = self._document(values, taken)
                self.state, self.failures_in_a_row = SensorState.READING, 0
                self.readings += 1
            self.last = document
            self.emit(self.config.subject, document)
            return document

    def _read(self, i2c) -> dict[str, float]:
        """In the bus's thread: build the driver if needed, take one reading."""
        try:
            if self._reader is None:
                self._reader = DRIVERS[self.config.type](i2c, self.config.address)
            return self._reader()
        except BaseException:
            self._reader = None
            raise

    def _failed(self, error: BaseException, taken: float) -> dict:
        self.state = SensorState.FAILING
        self.errors += 1
        self.failures_in_a_row += 1
        text = str(error) if isinstance(error, SENSOR_FAILURES) else f"{type(error).__name__}: {error}"
        log.warning("sensor %s (%s on bus %d at 0x%02x): %s; retrying in %gs", self.name, self.config.type,
                    self.config.bus, self.config.address, text, self.delay())
        return self._document({"error": text}, taken)

    def _document(self, values: dict, taken: float) -> dict:
        """The published document; `ts` is when the attempt began (seconds since the epoch)."""
        self.seq += 1
        return {"sensor": self.name, "type": self.config.type, "seq": self.seq, "ts": taken, **values}

    def status(self) -> dict:
        """The sensor's entry in the `status` answer."""
        config = self.config
        return {"name": config.name, "type": config.type, "bus": config.bus, "address": config.address,
                "subject": config.subject, "interval_s": self.interval_s, "state": self.state.value,
                "last": self.last, "readings": self.readings, "errors": self.errors}
