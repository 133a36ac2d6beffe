"""The ack protocol a client speaks to a consumer on `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.
<cseq>.<ts_ns>.<pending>` (V1, read from the right so the V2 form parses too): which verb a payload
is, the delay of a `-NAK {"delay": ns}`, and the ack reply subject a delivery carries."""

from __future__ import annotations

import enum
import json

from edgenats.conf.units import parse_duration


class AckKind(enum.Enum):
    ACK = "ack"
    NAK = "nak"
    TERM = "term"
    PROGRESS = "progress"
    NEXT = "next"  # ack, then the rest is a pull request answered on the ack's reply


_VERBS = ((b"+ACK", AckKind.ACK), (b"+OK", AckKind.ACK), (b"-NAK", AckKind.NAK), (b"+TERM", AckKind.TERM),
          (b"+WPI", AckKind.PROGRESS), (b"+NXT", AckKind.NEXT))


def ack_kind(payload: bytes) -> tuple[AckKind, bytes] | None:
    """(kind, what follows the verb), or None for what is not an ack (ignored, as the reference does)."""
    text = payload.strip()
    if not text:
        return AckKind.ACK, b""
    for verb, kind in _VERBS:
        if text.startswith(verb):
            return kind, text[len(verb):].strip()
    return None


def nak_delay_ns(rest: bytes) -> int:
    """The delay of `-NAK {"delay": ns}` or `-NAK <Go duration>` (e.g. `-NAK 5s`); 0 (redeliver now)
    for anything else."""
    if not rest:
        return 0
    if not rest.startswith(b"{"):
        try:
            return max(round(parse_duration(rest.decode("latin-1")) * 1e9), 0)
        except ValueError:
            return 0
    try:
        delay = json.loads(rest).get("delay", 0)
    except (ValueError, AttributeError):
        return 0
    return delay if isinstance(delay, int) and delay > 0 else 0


def acked_stream_seq(subject: str) -> int | None:
    """The stream sequence an ack subject names (the 4th token from the right), or None."""
    tokens = subject.split(".")
    if len(tokens) < 9 or not tokens[-4].isdigit():
        return None
    return int(tokens[-4])


def ack_reply(prefix: str, deliveries: int, sseq: int, cseq: int, time_ns: int, pending: int) -> str:
    """`prefix` is `$JS.ACK.<stream>.<consumer>.`."""
    return f"{prefix}{deliveries}.{sseq}.{cseq}.{time_ns}.{max(pending, 0)}"
