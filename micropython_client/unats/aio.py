"""unats.aio: the client for asyncio (MicroPython's and CPython's): the same names, as coroutines.

It reuses the blocking core's parser, subscriptions, outbox and reconnect logic; only the waiting
differs: one reader task sleeps until the socket is readable, so other tasks run in the meantime.
Callbacks may be plain functions or coroutines (a coroutine runs as its own task). Writes stay
direct socket writes, which return at once unless the send buffer is full.
"""

import asyncio

import unats
from unats import ClosedError, NoRespondersError, TimeoutError, ticks_add, ticks_diff, ticks_ms

MICROPYTHON = not hasattr(asyncio, "get_running_loop")
# what wait_for raises: MicroPython's asyncio.TimeoutError name points at a builtin that port lacks
WAIT_TIMEOUT = asyncio.core.TimeoutError if MICROPYTHON else asyncio.TimeoutError  # noqa: UP041


async def _mp_readable(sock):  # MicroPython: park this task in the event loop's poller until readable
    yield asyncio.core._io_queue.queue_read(sock)


async def _cpython_readable(sock):
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    fd = sock.fileno()  # kept: the socket may be closed (fileno -1) while we wait
    loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
    try:
        await ready
    finally:
        loop.remove_reader(fd)


class Client(unats.Client):
    def _start(self):
        self._event = asyncio.Event()  # set after each batch of input, wakes request()/flush()
        self._task = asyncio.create_task(self._reader())

    async def _reader(self):
        while not self._closed:
            self._event.clear()
            pending = getattr(self._sock, "pending", None)  # CPython TLS may hold decrypted bytes
            if self._sock is None:
                await asyncio.sleep(max(ticks_diff(self._next_try, ticks_ms()), 10) / 1000)
            elif not (pending and pending()):
                await (_mp_readable if MICROPYTHON else _cpython_readable)(self._sock)
            self._step(0)
            self._event.set()

    async def _until(self, done, deadline, what):
        while not done():
            left = ticks_diff(deadline, ticks_ms())
            if left <= 0:
                raise TimeoutError(what + " timed out")
            if self._closed:
                raise ClosedError("connection closed")
            try:
                await asyncio.wait_for(self._event.wait(), left / 1000)
            except WAIT_TIMEOUT:
                pass

    async def publish(self, subject, data=b"", reply=None, headers=None):
        super().publish(subject, data, reply, headers)

    async def subscribe(self, subject, cb=None, queue=None):
        def deliver(msg):
            result = cb(msg)
            if hasattr(result, "send"):  # a coroutine (a generator on MicroPython)
                asyncio.create_task(result)

        return super().subscribe(subject, deliver if cb else None, queue)

    async def unsubscribe(self, sid, max_msgs=None):
        super().unsubscribe(sid, max_msgs)

    async def request(self, subject, data=b"", timeout=2.0, headers=None):
        token = self._ask(subject, data, headers)
        try:
            deadline = ticks_add(ticks_ms(), int(timeout * 1000))
            await self._until(lambda: self._replies[token] is not None, deadline, "request to " + subject)
            msg = self._replies[token]
        finally:
            del self._replies[token]
        if msg.status == 503 and not msg.data:
            raise NoRespondersError("no responders for " + subject)
        return msg

    async def flush(self, timeout=2.0):
        deadline = ticks_add(ticks_ms(), int(timeout * 1000))
        await self._until(lambda: self._sock is not None, deadline, "flush")
        conn, target = self.reconnects, self._pings + 1
        self._pings += 1
        self._send(b"PING\r\n")
        await self._until(lambda: self._pongs >= target or self.reconnects != conn, deadline, "flush")

    async def close(self):
        self._task.cancel()
        super().close()


async def connect(servers, **kwargs):
    """Connect (the handshake itself is a short blocking exchange) and start the reader task."""
    nc = Client(servers, **kwargs)
    nc.connect()
    nc._start()
    return nc
