"""The unparsed tail of a byte stream, held until enough bytes arrive: shared by the protocol parsers.

A parser keeps an incomplete control line or payload with `_keep`; the next `feed` gets it back,
joined with the new bytes, from `_joined` once at least the needed number of bytes is there.
"""

from __future__ import annotations

# The parsers' two states: waiting for a control line, or for a message's payload and its CRLF.
CONTROL_LINE = 0
PAYLOAD = 1

CRLF = b"\r\n"
# Longest verb plus separator: a partial line may hold this much beyond max_control_line.
VERB_ALLOWANCE = 8


class PendingInput:
    __slots__ = ("_pending", "_pending_size", "_needed", "_stopped")

    def __init__(self) -> None:
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._needed = 0
        self._stopped = False

    def stop(self) -> None:
        """Ignore the rest of the stream (the connection is closing)."""
        self._stopped = True

    def _joined(self, data: bytes) -> bytes | None:
        """`data` after the held tail, or None while the tail is still short of what it needs."""
        if not self._pending:
            return data
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size < self._needed:
            return None
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        return data

    def _keep(self, data: bytes, position: int, needed: int) -> None:
        """Hold an incomplete tail until at least `needed` bytes of it are available."""
        self._pending.append(data[position:])
        self._pending_size = len(data) - position
        self._needed = needed
