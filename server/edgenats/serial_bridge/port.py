"""A configured serial port's life: opened with pyserial, read and written on the event loop, moved to
WAITING when it goes away (a read error such as EIO, end of file, the path gone or pointing at another
device) and opened again once its path is back (polled every POLL_S, a stat call), without a restart.

pyserial opens and configures the port (termios: the baud rate, raw 8N1, an exclusive lock), and the loop
then watches its file descriptor with add_reader/add_writer: no thread per port, and a vanished device is
seen as the read error it gives. pyserial's own asyncio support is the separate pyserial-asyncio package,
one more dependency whose transport does the same add_reader underneath.
"""

from __future__ import annotations

import asyncio
import enum
import errno
import logging
import os
from collections.abc import Callable

import serial

log = logging.getLogger("edgenats.serial")

POLL_S = 0.25
READ_SIZE = 4096
MAX_PENDING_WRITE = 64 * 1024  # a board that stopped reading: what it does not take is dropped


class PortState(enum.Enum):
    CLOSED = "closed"  # not started, or stopped
    WAITING = "waiting"  # the path is absent or cannot be opened: polled
    OPEN = "open"


class SerialPort:
    def __init__(self, path: str, baud: int, on_open: Callable[[Callable[[bytes], None]], None],
                 on_data: Callable[[bytes], None], on_close: Callable[[], None]):
        self.path = path
        self.baud = baud
        self.on_open, self.on_data, self.on_close = on_open, on_data, on_close
        self.state = PortState.CLOSED
        self.last_error: str | None = None
        self.opened = 0
        self._serial: serial.Serial | None = None
        self._device: tuple[int, int] | None = None  # the opened device's (st_dev, st_ino)
        self._out = bytearray()
        self._lost = asyncio.Event()

    async def run(self) -> None:
        """Open, serve until lost, wait for the path, and again, until cancelled."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                self.state = PortState.WAITING
                while not self._open(loop):
                    await asyncio.sleep(POLL_S)
                while not self._lost.is_set():
                    try:
                        await asyncio.wait_for(self._lost.wait(), POLL_S)
                    except TimeoutError:
                        self._check_path()
        finally:
            self._close(loop)
            self.state = PortState.CLOSED

    def _open(self, loop: asyncio.AbstractEventLoop) -> bool:
        try:
            stat = os.stat(self.path)
        except OSError:
            return False
        try:
            self._serial = serial.Serial(self.path, self.baud, timeout=0, write_timeout=0, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as error:
            if self.last_error != str(error):
                log.warning("%s: cannot open: %s", self.path, error)
            self.last_error = str(error)
            return False
        self._device = (stat.st_dev, stat.st_ino)
        self._lost.clear()
        self._out.clear()
        fd = self._serial.fileno()
        os.set_blocking(fd, False)
        loop.add_reader(fd, self._readable)
        self.state = PortState.OPEN
        self.opened += 1
        log.info("%s: open at %d baud", self.path, self.baud)
        self.on_open(self.write)
        return True

    def _check_path(self) -> None:
        try:
            stat = os.stat(self.path)
        except OSError:
            self._gone("the path is gone")
            return
        if (stat.st_dev, stat.st_ino) != self._device:
            self._gone("the path names another device")

    def _readable(self) -> None:
        try:
            data = os.read(self._serial.fileno(), READ_SIZE)
        except BlockingIOError:
            return
        except OSError as error:
            self._gone(f"read error: {os.strerror(error.errno) if error.errno else error}")
            return
        if not data:
            self._gone("end of file")
            return
        self.on_data(data)

    def write(self, data: bytes) -> None:
        if self.state is not PortState.OPEN:
            return
        if len(self._out) + len(data) > MAX_PENDING_WRITE:
            self.last_error = "the board does not read: output dropped"
            return
        waiting = bool(self._out)
        self._out += data
        if not waiting:
            self._writable()

    def _writable(self) -> None:
        loop = asyncio.get_running_loop()
        fd = self._serial.fileno()
        try:
            written = os.write(fd, self._out)
        except BlockingIOError:
            written = 0
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.EINTR):
                written = 0
            else:
                self._gone(f"write error: {os.strerror(error.errno) if error.errno else error}")
                return
        del self._out[:written]
        if self._out:
            loop.add_writer(fd, self._writable)
        else:
            loop.remove_writer(fd)

    def _gone(self, reason: str) -> None:
        if self.state is not PortState.OPEN:
            return
        log.warning("%s: lost (%s); waiting for it to come back", self.path, reason)
        self.last_error = reason
        self._close(asyncio.get_running_loop())
        self.state = PortState.WAITING
        self._lost.set()
        self.on_close()

    def _close(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._serial is None:
            return
        fd = self._serial.fileno()
        loop.remove_reader(fd)
        loop.remove_writer(fd)
        try:
            self._serial.close()
        except (serial.SerialException, OSError):
            pass
        self._serial = None
        self._out.clear()
