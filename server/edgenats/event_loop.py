"""The event loop the broker runs on: uvloop's when it is installed, otherwise asyncio's selector loop with
a selector that polls for a moment before it sleeps, while events come close together.

A core that sleeps in epoll_wait as soon as the loop is idle takes tens of microseconds to wake for the
next event (a halted virtual CPU longer still), and a request/reply round trip through the broker pays
that twice. Go's scheduler, under nats-server, spins a little before it parks a thread. This selector
does the same, bounded by what the traffic shows:

    state       on a wait the loop would sleep in                 next state
    SLEEPING    sleep until an event or the loop's timeout        POLLING if an event came within SOON
    POLLING     poll without sleeping for up to POLL_WINDOW,      POLLING if an event came within SOON,
                yielding the core between polls; then sleep       else SLEEPING

Traffic whose events are more than SOON apart (a sensor's readings, an idle broker with its timers)
never polls and costs what it did; a burst costs at most one window after its last event. Between polls
the core is yielded (`sched_yield`), so the other threads of the process (JetStream's writer) are not
held up on a single core.
"""

from __future__ import annotations

import asyncio
import os
import selectors
from collections.abc import Callable
from time import monotonic

POLL_WINDOW = 50e-6  # seconds of polling before sleeping: what a busy loop's next event usually takes
SOON = 150e-6  # an event this soon after the loop went idle means the next may come as soon


class PollingSelector(selectors.DefaultSelector):
    """The platform's selector, polling before it sleeps while events come within SOON of each other."""

    def __init__(self) -> None:
        super().__init__()
        self.polling = False

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is not None and timeout <= 0:
            return super().select(timeout)
        started = monotonic()
        if self.polling:
            window_ends = started + (POLL_WINDOW if timeout is None else min(POLL_WINDOW, timeout))
            while True:
                ready = super().select(0)
                if ready:
                    return ready  # an event within the window: still POLLING
                if monotonic() >= window_ends:
                    break
                os.sched_yield()
            if timeout is not None:
                timeout = max(0.0, timeout - (monotonic() - started))
        ready = super().select(timeout)
        self.polling = bool(ready) and monotonic() - started < SOON
        return ready


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's loop when the optional extra is installed; asyncio's with the polling selector otherwise."""
    try:
        import uvloop
    except ImportError:
        return lambda: asyncio.SelectorEventLoop(PollingSelector())
    return uvloop.new_event_loop
