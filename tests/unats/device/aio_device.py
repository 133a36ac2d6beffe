"""Device (asyncio): coroutine and plain callbacks, requests both ways, no responders, a server restart."""

import asyncio
import sys

import unats.aio as aio
from devlib import heap


async def main(url):
    nc = await aio.connect(url, reconnect_wait=0.05, reconnect_wait_max=0.2)
    print("HEAP_CONNECT", *heap())
    stop = asyncio.Event()

    async def answer(msg):
        await asyncio.sleep(0)
        await nc.publish(msg.reply, b"pong:" + msg.data)

    await nc.subscribe("dev1.ping", answer)
    await nc.subscribe("dev1.note", lambda msg: print("NOTE", msg.data.decode(), msg.headers["K"]))
    await nc.subscribe("dev1.stop", lambda msg: stop.set())
    print("REPLY", (await nc.request("svc.time", b"now?")).data.decode())
    try:
        await nc.request("svc.none", b"")
    except aio.NoRespondersError:
        print("NORESPONDERS")
    try:
        await nc.request("svc.silent", b"", timeout=0.3)
    except aio.TimeoutError:
        print("TIMEOUT")
    await nc.publish("dev1.out", b"hello", headers={"K": "v"})
    await nc.flush()
    print("READY")
    await stop.wait()
    print("RECONNECTS", nc.reconnects)
    await nc.close()


asyncio.run(main(sys.argv[1]))
