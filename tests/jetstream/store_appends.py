"""Appends to a message store, each awaited on its own: a store reports whole batches (to one callback,
in append order); `append` turns those reports into one future per append, for tests that wait on
single appends."""

from __future__ import annotations

import asyncio
from collections import deque
from weakref import WeakKeyDictionary

_waiting: WeakKeyDictionary = WeakKeyDictionary()  # store -> the futures of its unreported appends


def append(store, subject: str, headers: bytes | None, data: bytes, time_ns: int) -> asyncio.Future[int]:
    """`store.append(...)`, and a future that gives the message's sequence once its batch is reported
    stored (or fails with the store's error)."""
    waiting = _waiting.get(store)
    if waiting is None:
        waiting = _waiting[store] = deque()
        store.report_to(lambda seqs, error: _reported(waiting, seqs, error))
    store.append(subject, headers, data, time_ns)
    future = asyncio.get_running_loop().create_future()
    waiting.append(future)
    return future


def _reported(waiting: deque, seqs: list[int], error: Exception | None) -> None:
    for seq in seqs:
        future = waiting.popleft()
        if error is None:
            future.set_result(seq)
        else:
            future.set_exception(error)
