"""Peer-side helpers for the unats tests (nats-py)."""

from __future__ import annotations

from pathlib import Path

from subscribed import subscribed

CLIENT = Path(__file__).resolve().parents[2] / "micropython_client"


async def collect(nc, subject: str, queue: str = "") -> list:
    """Subscribe and return the list that every received message is appended to."""
    got: list = []

    async def append(msg):
        got.append(msg)

    await nc.subscribe(subject, queue=queue, cb=append)
    await subscribed(nc)
    return got

# The blocking core runs in a 32K heap; with the JetStream or service module loaded as well, the
# 64-bit Unix port needs more (figures in micropython_client/README.md).
EXTRAS_HEAP = "64K"
