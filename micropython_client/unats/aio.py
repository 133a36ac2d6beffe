"""unats.aio: the client for asyncio (MicroPython's and CPython's): the same names, as coroutines.

It reuses the blocking core's parser, subscriptions, outbox and reconnect logic; only the waiting
differs: one reader task sleeps until the socket is readable, so other tasks run in the meantime. The
connect and handshake (of connect() and of every reconnect) wait in the event loop too, so a server that
accepts and never answers, or an address that never completes the TCP handshake, stalls no other task.
Callbacks may be plain functions or coroutines (a coroutine runs as its own task); what one raises goes
to error_cb (printed when there is none), never taken for a broken connection. Writes stay direct socket
writes, which return at once unless the send buffer is full.
"""

import asyncio

import unats
from unats import ClosedError, NoRespondersError, TimeoutError, ticks_add, ticks_diff, ticks_ms

MICROPYTHON = not hasattr(asyncio, "get_running_loop")
# what wait_for raises: MicroPython's asyncio.TimeoutError name points at a builtin that port lacks
WAIT_TIMEOUT = asyncio.core.TimeoutError if MICROPYTHON else asyncio.TimeoutError  # noqa: UP041
POLL_MS = 20  # how often a connect or handshake in progress looks at its socket


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
                wait = ticks_diff(self._next_try, ticks_ms())
                if wait > 0:
                    await asyncio.sleep(max(wait, 10) / 1000)
                    continue
                try:
                    await self._open_async()
                except (OSError, unats.NATSError) as e:
                    self._retry_later(e)
            else:
                if not (pending and pending()):
                    await (_mp_readable if MICROPYTHON else _cpython_readable)(self._sock)
                if self._sock is not None:  # else a failed write dropped it meanwhile: reconnect as above
                    self._step(0)
            self._event.set()

    async def _open_async(self):
        """The core's connect and handshake, each wait spent in the event loop (in short sleeps: the socket
        is still connecting, and a wait has to end at the timeout)."""
        for _ in self._opening():
            deadline = ticks_add(ticks_ms(), self._timeout_ms)
            while not self._input(0):
                if ticks_diff(deadline, ticks_ms()) <= 0:
                    raise OSError("no response from server")
                await asyncio.sleep(POLL_MS / 1000)

    def _callback_error(self, err):
        """What a subscription callback raised: the application's error_cb hears it; printed without one."""
        if self._error_cb:
            self._error_cb(err)
        else:
            print("unats: callback error:", repr(err))

    async def _guard(self, coro):
        try:
            await coro
        except Exception as e:  # noqa: BLE001 - the application's error, handed back to it
            self._callback_error(e)

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
            try:
                result = cb(msg)
            except Exception as e:  # noqa: BLE001 - the application's error, handed back to it
                self._callback_error(e)
                return
            if hasattr(result, "send"):  # a coroutine (a generator on MicroPython)
                asyncio.create_task(self._guard(result))

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
        await self._until(lambda: self.is_connected, deadline, "flush")
        conn, target = self.reconnects, self._pings + 1
        self._pings += 1
        self._send(b"PING\r\n")
        await self._until(lambda: self._pongs >= target or self.reconnects != conn, deadline, "flush")

    async def close(self):
        self._task.cancel()
        super().close()


async def connect(servers, **kwargs):
    """Try every server once (raise the last error if none accepted us), then start the reader task."""
    nc = Client(servers, **kwargs)
    for attempt in range(len(nc._servers)):
        try:
            await nc._open_async()
            break
        except (OSError, unats.NATSError):
            nc._drop()
            if attempt == len(nc._servers) - 1:
                raise
    nc._start()
    return nc
