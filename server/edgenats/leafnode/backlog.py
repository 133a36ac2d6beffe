"""The bound on a leaf link's pending output (`leafnodes { max_pending }`, 64 MB by default).

A hub that stops reading (frozen, or on a saturated uplink) leaves the link's output in the
transport's buffer. nats-server lets that buffer grow without limit on a leaf link; edgenats keeps it
within `max_pending` bytes: each loop turn's output is written whole while it fits, otherwise its
protocol lines (interest, PING/PONG, errors) still go and its messages go only as far as the bound
allows, in order; the rest are dropped and counted. The link stays up (the write deadline decides
about that, see connection.py).

States:
  WITHIN    every message is written
  DROPPING  messages beyond the bound are dropped; back to WITHIN when the transport drains (resumes
            writing), or at a turn whose whole output fits while the transport is not blocked
"""

from __future__ import annotations

from enum import Enum

DEFAULT_MAX_PENDING = 64 * 1024 * 1024
_MESSAGE_VERBS = (b"LMSG ", b"HMSG ")


class BacklogState(Enum):
    WITHIN = "within"
    DROPPING = "dropping"


class Backlog:
    """One link's dropped-message accounting and the admission of its output."""

    __slots__ = ("state", "dropped_msgs", "dropped_bytes", "episode_msgs")

    def __init__(self) -> None:
        self.state = BacklogState.WITHIN
        self.dropped_msgs = 0
        self.dropped_bytes = 0
        # Dropped since the last change to DROPPING (for the log line when it ends).
        self.episode_msgs = 0

    def admit(self, data: bytes, pending: int, limit: int, blocked: bool) -> bytes:
        """What of a turn's output `data` (whole link frames) to write when `pending` bytes wait in
        the transport: all of it within `limit`; otherwise every protocol line, and the messages up to
        the first that does not fit. `blocked`: the transport has paused us."""
        if pending + len(data) <= limit:
            if not blocked:
                self.recover()
            return data
        if self.state is BacklogState.WITHIN:
            self.state = BacklogState.DROPPING
            self.episode_msgs = 0
        return self._within(data, limit - pending)

    def recover(self) -> None:
        """The peer has caught up: messages are written again."""
        self.state = BacklogState.WITHIN

    def _within(self, data: bytes, budget: int) -> bytes:
        kept: list[bytes] = []
        used = 0
        position = run_start = 0
        end = len(data)
        dropping = False
        while position < end:
            line_end = data.index(b"\r\n", position) + 2
            if not data.startswith(_MESSAGE_VERBS, position):
                used += line_end - position
                position = line_end
                continue
            # The last field of an LMSG/HMSG line is the size of what follows it.
            size = int(data[data.rindex(b" ", position, line_end - 2) + 1:line_end - 2])
            frame_end = line_end + size + 2
            if not dropping and used + frame_end - position > budget:
                dropping = True
            if dropping:
                kept.append(data[run_start:position])
                run_start = frame_end
                self.dropped_msgs += 1
                self.dropped_bytes += size
                self.episode_msgs += 1
            else:
                used += frame_end - position
            position = frame_end
        kept.append(data[run_start:])
        return b"".join(kept)
