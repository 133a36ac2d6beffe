"""The unparsed tail of a byte stream, held until enough bytes arrive: shared by the protocol parsers.

A parser keeps an incomplete control line or payload with `_keep`. The next `feed` gets it back from
`_completed`, joined with only as much of the new bytes as finishes that frame (the rest of a payload,
or the rest of a line up to its newline), then parses the new bytes from there in place: a read is
never copied whole to be joined with a held tail, whatever the reads' sizes.
"""

from __future__ import annotations

# The parsers' two states: waiting for a control line, or for a message's payload and its CRLF.
CONTROL_LINE = 0
PAYLOAD = 1

CRLF = b"\r\n"
# Longest verb plus separator: a partial line may hold this much beyond max_control_line.
VERB_ALLOWANCE = 8


class PendingInput:
    __slots__ = ("_pending", "_pending_size", "_needed", "_stopped", "_state")

    def __init__(self) -> None:
        self._state = CONTROL_LINE
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._needed = 0
        self._stopped = False

    def stop(self) -> None:
        """Ignore the rest of the stream (the connection is closing)."""
        self._stopped = True

    def _parse(self, data: bytes, position: int) -> None:
        """The parser proper: consume `data` from `position`, keeping an incomplete tail."""
        raise NotImplementedError

    def _resume(self, data: bytes) -> int:
        """Parse the held tail joined with as much of `data` as completes its frame, as often as a tail
        is held again; where the parsing of `data` itself goes on, or -1 when nothing of it is left."""
        position = 0
        while self._pending:
            completed = self._completed(data, position, self._state == PAYLOAD)
            if completed is None:
                return -1
            head, position = completed
            self._parse(head, 0)
            if position == len(data) or self._stopped:
                return -1
        return position

    def _completed(self, data: bytes, start: int, payload: bool) -> tuple[bytes, int] | None:
        """The held tail joined with `data` from `start` to the end of its frame (`payload`: the bytes
        still needed; a line: up to its newline, or all of `data` without one, so that the parser sees
        the partial line at once), and where that frame ended in `data`; None while `data` falls short
        of a payload (it is held too)."""
        if payload:
            stop = start + self._needed - self._pending_size
            if stop > len(data):
                self._pending.append(data[start:] if start else data)
                self._pending_size += len(data) - start
                return None
        else:
            stop = data.find(b"\n", start) + 1 or len(data)
        self._pending.append(data[start:stop] if start or stop < len(data) else data)
        head = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        return head, stop

    def _keep(self, data: bytes, position: int, needed: int) -> None:
        """Hold an incomplete tail until at least `needed` bytes of it are available."""
        self._pending.append(data[position:])
        self._pending_size = len(data) - position
        self._needed = needed
