"""The error a benchmark run raises when a server refuses, misbehaves or stops delivering."""

from __future__ import annotations


class BenchError(Exception):
    """A run could not complete; the message says what the server did."""
