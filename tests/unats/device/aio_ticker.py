"""Device (asyncio): a 50 ms ticker task runs while the client reconnects across a blackholed address, a server
that accepts and never answers, and the real server (down, then back). Prints the longest gap between ticks
while the client was not connected."""

import asyncio
import sys

import unats.aio as aio
from unats import ticks_diff, ticks_ms

PERIOD_MS = 50


async def main(urls):
    nc = await aio.connect(urls, timeout=1.5, reconnect_wait=0.05, reconnect_wait_max=0.1,
                           error_cb=lambda e: print("DOWN", e))
    state = {"gap": 0, "ticks": 0}

    async def ticker():
        last = ticks_ms()
        while True:
            await asyncio.sleep_ms(PERIOD_MS) if hasattr(asyncio, "sleep_ms") else await asyncio.sleep(PERIOD_MS / 1000)
            now = ticks_ms()
            if not nc.is_connected:
                state["gap"] = max(state["gap"], ticks_diff(now, last))
                state["ticks"] += 1
            last = now

    task = asyncio.create_task(ticker())
    print("READY")
    while nc.is_connected:
        await asyncio.sleep(0.01)
    started = ticks_ms()
    while not nc.is_connected:
        await asyncio.sleep(0.01)
    print("BACK", nc.reconnects, state["gap"], state["ticks"], ticks_diff(ticks_ms(), started))
    task.cancel()
    await nc.close()


asyncio.run(main(sys.argv[1:]))
