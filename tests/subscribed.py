"""Wait until the server has a nats-py client's subscriptions.

nats-py 2.16 writes `flush()`'s PING to the socket at once but leaves a SUB in its pending buffer for
its flusher task, so the first PONG can come back before the server has read the SUB (nats-server then
drops a message another client publishes right away). By the second round trip the flusher has written
the SUB ahead of the PING.
"""

from __future__ import annotations

from nats.aio.client import Client


async def subscribed(client: Client, timeout: float = 10) -> None:
    await client.flush(timeout=timeout)
    await client.flush(timeout=timeout)
