"""Lame-duck mode (SIGUSR2, `--signal ldm`), as nats-server runs it: the client and WebSocket ports stop
accepting, every client is told with an INFO carrying `"ldm": true`, and after `lame_duck_grace_period`
the clients are closed one at a time, spread over the rest of `lame_duck_duration` (a random pause of
half to all of (duration - grace) / clients between two, never more than a second), so that they
reconnect elsewhere, or later, without a thundering herd (with no client at all, at once). Then the
server stops as on SIGTERM (leaf links closed, JetStream stores flushed). A stop signal during lame
duck stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable
from typing import Protocol

log = logging.getLogger("edgenats")

# nats-server's bounds on the pause between two closes.
_MIN_SPREAD = 1.0
_MAX_PAUSE = 1.0


class Closable(Protocol):
    def close(self, reason: str, error_text: str | None = None, flush: bool = True) -> None: ...


def close_pause(duration: float, grace: float, clients: int) -> float:
    """The longest pause between two closes: the time left after the grace period shared among the
    clients, at most a second (a pause is drawn from half of it to all of it)."""
    spread = max(duration - grace, _MIN_SPREAD)
    return min(spread / clients, _MAX_PAUSE)


async def run_lame_duck(clients: Iterable[Closable], tell: Callable[[], None], duration: float,
                        grace: float) -> None:
    """Tell the clients (`tell`), wait `grace`, close `clients` spread over the duration; returns when
    all are closed. The caller has stopped accepting; it cancels this task to stop at once."""
    targets = list(clients)
    if not targets:
        return
    pause = close_pause(duration, grace, len(targets))
    tell()
    await asyncio.sleep(grace)
    log.info("Closing existing clients")
    for index, client in enumerate(targets):
        client.close("Server Shutdown")
        if index < len(targets) - 1:
            await asyncio.sleep(random.uniform(pause / 2, pause))
