"""systemd's notify protocol (sd_notify), with the standard library: datagrams of `KEY=value` lines sent
to the AF_UNIX socket named by $NOTIFY_SOCKET (a leading '@' names an abstract socket).

The server says READY=1 once every listener accepts, RELOADING=1 and READY=1 around a reload,
STOPPING=1 when it begins to stop (lame duck included), STATUS= lines for `systemctl status`, and, when
systemd set $WATCHDOG_USEC (WatchdogSec= in the unit) for this process, WATCHDOG=1 every half of that
interval from a timer on the event loop: a loop that blocks stops the pings and systemd restarts the
broker. Without $NOTIFY_SOCKET every call does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger("edgenats")


class SystemdNotifier:
    def __init__(self, address: str | bytes, watchdog_interval: float | None) -> None:
        self._address = address
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._socket.setblocking(False)
        # Half of WatchdogSec, as systemd recommends.
        self.watchdog_interval = watchdog_interval
        self._timer: asyncio.TimerHandle | None = None

    @classmethod
    def from_environment(cls, environment: Mapping[str, str] = os.environ) -> SystemdNotifier | None:
        path = environment.get("NOTIFY_SOCKET", "")
        if not path:
            return None
        address: str | bytes = b"\0" + path[1:].encode() if path.startswith("@") else path
        interval = None
        usec = environment.get("WATCHDOG_USEC", "")
        watchdog_pid = environment.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (not watchdog_pid or watchdog_pid == str(os.getpid())):
            interval = int(usec) / 2_000_000
        return cls(address, interval)

    def notify(self, *fields: str) -> None:
        try:
            self._socket.sendto("\n".join(fields).encode(), self._address)
        except OSError as error:
            log.debug("systemd notify failed: %s", error)

    def ready(self, status: str) -> None:
        self.notify("READY=1", f"STATUS={status}")

    def reloading(self) -> None:
        monotonic_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.notify("RELOADING=1", f"MONOTONIC_USEC={monotonic_usec}", "STATUS=Reloading configuration")

    def stopping(self, status: str) -> None:
        self.notify("STOPPING=1", f"STATUS={status}")

    def start_watchdog(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.watchdog_interval is None:
            return

        def ping() -> None:
            self.notify("WATCHDOG=1")
            self._timer = loop.call_later(self.watchdog_interval, ping)

        ping()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._socket.close()
