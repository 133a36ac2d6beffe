"""Before a run whose subscribers sit on another server than the publisher: wait until every subscriber's
interest has crossed whatever joins the two servers (a leaf link, a route).

Each subscriber also subscribes to a probe subject of its own, after its bench subscription on the same
connection; interest crosses a link in order, so once a probe published on the publisher's server
arrives, that subscriber's bench subscription is known there too. The probe subscription is then
removed (UNSUB, then PING/PONG: nothing for it can follow the PONG), so the counted stream holds only
bench messages.
"""

from __future__ import annotations

import select
import socket
import time
import uuid

from edgenats.bench.errors import BenchError
from edgenats.bench.frames import PING_FRAME, PONG_FRAME, PONG_MARKER, MarkerCounter, pub_frame

PROBE_SID = 2
PROBE_WAIT_S = 0.05
SERVER_PING = b"PING\r\n"


def probe_subjects(count: int) -> list[str]:
    """One probe subject per subscriber, unique to this run."""
    run = uuid.uuid4().hex[:12]
    return [f"bench-probe.{run}.{index}" for index in range(count)]


class ProbedSubscriber:
    """One subscriber connection while probes are awaited: it collects what arrives, answers server
    PINGs, and once its probe came, unsubscribes from the probe subject."""

    def __init__(self, sock: socket.socket, subject: str) -> None:
        self.sock = sock
        self.subject = subject
        self.arrived = False
        self.unsubscribed = False
        self._probe_frame = f"MSG {subject} {PROBE_SID} 0\r\n".encode()
        self._received = b""
        self._pings_answered = 0

    def read_available(self) -> None:
        """Take what the socket holds now; on the probe's first arrival, send UNSUB and a PING."""
        chunk = self.sock.recv(65536)
        if not chunk:
            raise BenchError("the subscriber's server closed the connection while waiting for interest")
        self._received += chunk
        if b"-ERR" in self._received:
            line = self._received[self._received.index(b"-ERR"):].split(b"\r\n")[0]
            raise BenchError(f"subscriber's server error: {line.decode(errors='replace')}")
        pings = self._received.count(SERVER_PING)
        if pings > self._pings_answered:
            self.sock.sendall(PONG_FRAME * (pings - self._pings_answered))
            self._pings_answered = pings
        if not self.arrived and self._probe_frame in self._received:
            self.arrived = True
            self.sock.sendall(f"UNSUB {PROBE_SID}\r\n".encode() + PING_FRAME)
        if self.arrived and PONG_MARKER in self._received:
            self.unsubscribed = True


def wait_for_interest(
    publisher_sock: socket.socket, subscribers: list[ProbedSubscriber], timeout_s: float
) -> None:
    """Publish each subscriber's probe until it arrived there, then return once every probe subscription
    is gone; raises BenchError when that takes longer than `timeout_s`."""
    pongs = MarkerCounter(PONG_MARKER, 4096)
    deadline = time.monotonic() + timeout_s
    while not all(subscriber.unsubscribed for subscriber in subscribers):
        if time.monotonic() > deadline:
            waiting = sum(not subscriber.arrived for subscriber in subscribers)
            raise BenchError(f"{waiting} of {len(subscribers)} subscribers' interest did not reach the "
                             f"publisher's server within {timeout_s:g}s")
        probes = b"".join(pub_frame(subscriber.subject, b"") for subscriber in subscribers if not subscriber.arrived)
        if probes:
            publisher_sock.sendall(probes + PING_FRAME)
            while not pongs.read_from(publisher_sock):
                pass
        readable, _, _ = select.select([subscriber.sock for subscriber in subscribers], [], [], PROBE_WAIT_S)
        for subscriber in subscribers:
            if subscriber.sock in readable:
                subscriber.read_available()
