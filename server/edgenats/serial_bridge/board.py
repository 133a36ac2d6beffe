"""One board's session on an open port: the bridge's half of the line protocol (docs/SERIAL-PROTOCOL.md).

`BoardSession` (one per configured port, kept while the port comes and goes) runs the link's state machine
(`LinkState`: CLOSED while the port is, AWAITING_HELLO once it opens until the board says who it is, then
LINKED) over the frames `frames.LineDecoder` reads. The board's numbered lines are carried out one
after another, in order (publish, subscribe, unsubscribe), and each is acked only when `relay.Relay` says
the broker or the stream has it; a line sent again that was already acked is acked again and not carried
out twice (the numbers of the last DONE_WINDOW lines of this boot are kept). Messages for the board go
down as numbered MSG frames, kept until the board acks them (its acks count up to a number: it takes them
in order) and sent again from the oldest after RESEND_S, after a NAK, and after a new HELLO of the same
boot (from its resume point).
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError

from edgenats.serial_bridge import frames
from edgenats.serial_bridge.relay import Relay

log = logging.getLogger("edgenats.serial")

RESEND_S = 1.0  # an unacked MSG (or, before the hello, a SYNC) goes again after this long
DONE_WINDOW = 256
MAX_DOWN_PENDING = 64  # MSG frames the board has not acked; past this the oldest is dropped


class LinkState(enum.Enum):
    AWAITING_HELLO = "awaiting hello"
    LINKED = "linked"
    CLOSED = "closed"


class BoardSession:
    def __init__(self, path: str, relay: Relay, bridge_id: str):
        self.path = path
        self.relay = relay
        self.bridge_id = bridge_id
        self.state = LinkState.CLOSED
        self.write: Callable[[bytes], None] | None = None
        self.decoder = frames.LineDecoder()
        self.device_id: str | None = None
        self.version: str | None = None
        self.boot: str | None = None
        self.lines_in = self.lines_out = self.acks = self.naks = self.console = 0
        self.last_error: str | None = None
        self._done: OrderedDict[int, str] = OrderedDict()  # board line number -> the ACK's info field
        self._busy: set[int] = set()  # board lines queued or being carried out
        self._work: asyncio.Queue[tuple[int, frames.Frame]] = asyncio.Queue()  # (the board's run, its line)
        self._run = 0  # counts the board's boots seen on this port
        self._subs: dict[str, Subscription] = {}
        self._next_down = 1
        self._down: OrderedDict[int, bytes] = OrderedDict()  # unacked MSG frames
        self._sent_at = 0.0
        self._tasks = [asyncio.create_task(self._carry_out()), asyncio.create_task(self._resend())]

    def opened(self, write: Callable[[bytes], None]) -> None:
        """The port is open: ask the board who it is (it answers a SYNC with its HELLO)."""
        self.write, self.state, self.decoder = write, LinkState.AWAITING_HELLO, frames.LineDecoder()
        self._send(frames.encode(0, "SYNC", self.bridge_id))

    # -- bytes in ------------------------------------------------------------------------------

    def received(self, data: bytes) -> None:
        for event in self.decoder.feed(data):
            if isinstance(event, frames.ConsoleLine):
                self.console += 1
                log.info("%s: board: %s", self.path, event.text)
            elif isinstance(event, frames.Refused):
                self.naks += 1
                self.last_error = f"refused a line ({event.reason})"
                log.warning("%s: refused a frame (%s), number %s", self.path, event.reason, event.n)
                if event.n:
                    self._send(frames.encode(0, "NAK", str(event.n), event.reason))
            else:
                try:
                    self._frame(event)
                except ValueError:  # a number that is none: the checksum was good, the sender was not
                    self.naks += 1
                    self._send(frames.encode(0, "NAK", str(event.n), "bad"))

    def _frame(self, frame: frames.Frame) -> None:
        self.lines_in += 1
        if frame.verb == "ACK":
            self._board_acked(int(frame.fields[0]))
        elif frame.verb == "NAK":
            self._resend_down(force=True)
        elif frame.verb == "HELLO":
            self._hello(frame)
        elif frame.verb in ("PUB", "SUB", "UNSUB") and frame.n > 0:
            if self.state is not LinkState.LINKED:
                self._send(frames.encode(0, "NAK", str(frame.n), "hello"))
            elif frame.n in self._done:
                self._ack(frame.n, self._done[frame.n])  # its ack was lost: the same answer, not done twice
            elif frame.n not in self._busy:
                self._busy.add(frame.n)
                self._work.put_nowait((self._run, frame))
        else:
            self._send(frames.encode(0, "NAK", str(frame.n), "verb"))

    def _hello(self, frame: frames.Frame) -> None:
        device_id, version, boot, rx = frame.fields
        if boot != self.boot:  # a board started afresh: nothing of its last run applies
            if self.boot is not None:
                log.info("%s: %s restarted", self.path, device_id)
            self._run += 1  # lines of the last run still queued are carried out but neither acked nor kept
            self._busy.clear()
            self._done.clear()
            self._down.clear()
            self._next_down = 1
        self.device_id, self.version, self.boot = device_id, version, boot
        self.state = LinkState.LINKED
        self._drop_subscriptions()  # the board subscribes again after every hello
        resume = int(rx)
        self._board_acked(resume)
        self._next_down = max(self._next_down, resume + 1)
        log.info("%s: hello from %s (firmware %s, boot %s, resume after %d)", self.path, device_id, version,
                 boot, resume)
        self._ack(frame.n, frames.NONE)
        self._resend_down(force=True)

    # -- the board's lines, carried out in order ---------------------------------------------------

    async def _carry_out(self) -> None:
        while True:
            run, frame = await self._work.get()
            try:
                info = await self._apply(frame)
            except (ValueError, UnicodeError) as error:  # bad base64 or headers
                info = None
                self.last_error = f"line {frame.n}: {error}"
                self._send(frames.encode(0, "NAK", str(frame.n), "bad"))
            except (NatsError, TimeoutError) as error:  # a subscription the broker did not confirm
                info = None
                self.last_error = f"line {frame.n}: {type(error).__name__}"
                self._send(frames.encode(0, "NAK", str(frame.n), "broker"))
            if run != self._run:
                continue  # the board restarted meanwhile: its numbers now mean other lines
            self._busy.discard(frame.n)
            if info is None:
                continue
            self._done[frame.n] = info
            while len(self._done) > DONE_WINDOW:
                self._done.popitem(last=False)
            self._ack(frame.n, info)

    async def _apply(self, frame: frames.Frame) -> str | None:
        """Carries out one line; the ACK's info field once the broker has it, None after a NAK."""
        if frame.verb == "PUB":
            subject, reply, headers, payload = frame.fields
            outcome = await self.relay.publish(subject, frames.optional(reply), frames.unpack_headers(headers),
                                               frames.unpack(payload))
            if not outcome.acked:
                self.last_error = f"line {frame.n}: {outcome.detail}"
                self._send(frames.encode(0, "NAK", str(frame.n), str(outcome.detail)))
                return None
            return frames.pack(outcome.detail)
        sid = frame.fields[0]
        old = self._subs.pop(sid, None)
        if old is not None:
            await old.unsubscribe()
        if frame.verb == "SUB":
            subject, queue = frame.fields[1], frames.optional(frame.fields[2])
            self._subs[sid] = await self.relay.subscribe(subject, queue, functools.partial(self._deliver, sid))
        return frames.NONE

    def _ack(self, n: int, info: str) -> None:
        self.acks += 1
        self._send(frames.encode(0, "ACK", str(n), info))

    # -- messages for the board -------------------------------------------------------------------

    async def _deliver(self, sid: str, msg: Msg) -> None:
        if self.state is not LinkState.LINKED:
            return
        n, self._next_down = self._next_down, self._next_down + 1
        line = frames.encode(n, "MSG", sid, msg.subject, msg.reply or frames.NONE,
                             frames.pack_headers(dict(msg.headers) if msg.headers else None), frames.pack(msg.data))
        self._down[n] = line
        if len(self._down) > MAX_DOWN_PENDING:
            dropped, _ = self._down.popitem(last=False)
            self.last_error = f"message {dropped} for the board dropped: {MAX_DOWN_PENDING} unacked"
        if len(self._down) == 1:
            self._sent_at = time.monotonic()
        self._send(line)

    def _board_acked(self, upto: int) -> None:
        for n in [n for n in self._down if n <= upto]:
            del self._down[n]
        self._sent_at = time.monotonic()

    def _resend_down(self, force: bool = False) -> None:
        if not self._down or (not force and time.monotonic() - self._sent_at < RESEND_S):
            return
        self._sent_at = time.monotonic()
        for line in list(self._down.values()):
            self._send(line)

    async def _resend(self) -> None:
        while True:
            await asyncio.sleep(RESEND_S / 2)
            if self.state is LinkState.AWAITING_HELLO:
                self._send(frames.encode(0, "SYNC", self.bridge_id))
            else:
                self._resend_down()

    def _send(self, line: bytes) -> None:
        if self.state is LinkState.CLOSED:
            return
        self.lines_out += 1
        self.write(line)

    # -- end -----------------------------------------------------------------------------------

    def _drop_subscriptions(self) -> None:
        if self._subs:
            asyncio.create_task(_unsubscribe(list(self._subs.values())))
        self._subs.clear()

    def closed(self) -> None:
        """The port went away: the board's subscriptions end; its numbers and unacked messages are kept for
        its return (a HELLO of the same boot resumes; another boot starts afresh)."""
        self.state, self.write = LinkState.CLOSED, None
        self._drop_subscriptions()

    async def stop(self) -> None:
        self.closed()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def status(self) -> dict:
        return {"device_id": self.device_id, "firmware": self.version, "link": self.state.value,
                "lines_in": self.lines_in, "lines_out": self.lines_out, "acks": self.acks, "naks": self.naks,
                "console_lines": self.console, "last_error": self.last_error}


async def _unsubscribe(subscriptions: list[Subscription]) -> None:
    for subscription in subscriptions:
        try:
            await subscription.unsubscribe()
        except Exception as error:  # noqa: BLE001 - the connection may be gone: nothing is left to end
            log.debug("unsubscribe: %s", error)
