"""A virtual microcontroller: the real MicroPython Unix port with its REPL on a pseudo-terminal, and a
second pseudo-terminal standing in for the board's USB serial port, which mpremote opens.

A thread copies bytes between the two, dropping the board's output while nothing reads the port, as a
USB CDC link does, so a board that prints never blocks. The board's file system is its working folder.
power_cycle() cuts the power (SIGKILL) and powers the board up again on the same files, running boot.py
and main.py as a board does at reset. unplug() takes the USB port away (both ends of its pseudo-terminal
closed: whoever has it open reads EIO) while the board runs on, and replug() gives it a new one (board.port
changes, as a replugged board may come back as another /dev/ttyACM*). corrupt_next_frame(verb) flips a
checksum digit of the next serial-protocol frame of that verb the board writes.
"""

from __future__ import annotations

import errno
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import tty
from pathlib import Path

MICROPYTHON = Path(sys.executable).parent / "micropython"


CTRL_C = b"\x03"
RESET = "exec(open('boot.py').read()); exec(open('main.py').read())"


class VirtualBoard:
    def __init__(self, root: Path, heap_bytes: int = 128 * 1024):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.console = root.parent / f"{root.name}-console.log"
        self.heap_bytes = heap_bytes
        self._commands: queue.SimpleQueue = queue.SimpleQueue()  # unplug/replug, done by the pump thread
        self._wake_read, self._wake_write = os.pipe()
        self._corrupt: bytes | None = None
        self._plug_in()
        self._power_on([])

    def _plug_in(self):
        self._port_master, self._port_slave = os.openpty()
        tty.setraw(self._port_slave)
        os.set_blocking(self._port_master, False)
        self.port = os.ttyname(self._port_slave)

    def _unplug(self):
        os.close(self._port_master)
        os.close(self._port_slave)
        self._port_master = self._port_slave = None

    def unplug(self):
        """The USB cable out: the port's pseudo-terminal goes away; what the board writes meanwhile is lost."""
        self._in_pump(self._unplug)

    def replug(self):
        """The cable back in: a new port (board.port names it)."""
        self._in_pump(self._plug_in)

    def corrupt_next_frame(self, verb: bytes):
        self._corrupt = b" " + verb + b" "

    def _in_pump(self, action):
        done = threading.Event()
        self._commands.put((action, done))
        os.write(self._wake_write, b"!")
        assert done.wait(5), "the board's pump thread did not answer"

    def _power_on(self, args: list[str]):
        board_master, board_slave = os.openpty()
        tty.setraw(board_slave)  # no newline translation: mpremote expects the bytes the board sent
        self.process = subprocess.Popen([str(MICROPYTHON), "-X", f"heapsize={self.heap_bytes}", *args],
                                        cwd=self.root, stdin=board_slave, stdout=board_slave,
                                        stderr=board_slave, start_new_session=True)
        os.close(board_slave)
        self._board = board_master
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def power_cycle(self):
        """Power cut and power up: the process is killed with SIGKILL, and a new one on the same files runs
        boot.py and main.py."""
        self.process.kill()
        self.process.wait(5)
        self._stop.set()
        self._thread.join(5)
        os.close(self._board)
        self._power_on(["-c", RESET])

    def _pump(self):
        with open(self.console, "ab") as console:
            while not self._stop.is_set():
                port = [] if self._port_master is None else [self._port_master]
                ready, _, _ = select.select([self._board, self._wake_read, *port], [], [], 0.2)
                if self._wake_read in ready:
                    os.read(self._wake_read, 64)
                    while not self._commands.empty():
                        action, done = self._commands.get()
                        action()
                        done.set()
                    continue
                for fd in ready:
                    try:
                        data = os.read(fd, 4096)
                    except OSError:  # EIO: the board process has gone
                        return
                    if fd == self._board:
                        console.write(data)
                        console.flush()
                        self._to_port(data)
                    else:
                        self._to_board(data)

    def _to_board(self, data: bytes):
        """A board's UART interrupt turns Ctrl-C into KeyboardInterrupt while code runs; the Unix port
        takes SIGINT instead, and catches it exactly while code runs (at its prompt SIGINT would kill it)."""
        if CTRL_C in data and self._catches_sigint():
            self.process.send_signal(signal.SIGINT)
            data = data.replace(CTRL_C, b"")
        os.write(self._board, data)

    def _catches_sigint(self) -> bool:
        with open(f"/proc/{self.process.pid}/status") as status:
            caught = next(line for line in status if line.startswith("SigCgt:"))
        return bool(int(caught.split()[1], 16) & (1 << (signal.SIGINT - 1)))

    def _to_port(self, data: bytes):
        if self._port_master is None:
            return  # unplugged
        if self._corrupt is not None and (at := data.find(self._corrupt)) >= 0 and (end := data.find(b"\n", at)) > 0:
            digit = data[end - 1:end]
            data = data[:end - 1] + (b"0" if digit != b"0" else b"1") + data[end:]
            self._corrupt = None
        try:
            os.write(self._port_master, data)
        except OSError as e:
            if e.errno != errno.EAGAIN:
                raise

    def console_text(self) -> str:
        return self.console.read_text(errors="replace") if self.console.exists() else ""

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._stop.set()
        self._thread.join(5)
        for fd in (self._board, self._port_master, self._port_slave, self._wake_read, self._wake_write):
            if fd is not None:
                os.close(fd)
