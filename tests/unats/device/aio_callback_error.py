"""Device (asyncio): a plain callback and a coroutine callback raise OSError; both errors reach error_cb, and
the connection stays up."""

import asyncio
import sys

import unats.aio as aio


async def main(url):
    stop = asyncio.Event()
    nc = await aio.connect(url, name="cb-dev", error_cb=lambda e: print("ERRCB", type(e).__name__, e.args[0]))

    def on_read(msg):
        if msg.data == b"fail":
            raise OSError(5, "I2C read failed")
        print("READ", msg.data.decode())

    async def on_slow(msg):
        await asyncio.sleep(0)
        raise OSError(121, "remote I/O error")

    await nc.subscribe("dev.read", on_read)
    await nc.subscribe("dev.slow", on_slow)
    await nc.subscribe("dev.stop", lambda msg: stop.set())
    await nc.flush()
    print("READY")
    await stop.wait()
    print("END", nc.reconnects, nc.is_connected)
    await nc.close()


asyncio.run(main(sys.argv[1]))
