"""The bound on a leaf link's pending output, frame by frame: over `max_pending`, protocol lines still
go, messages go in order up to the first that does not fit, and the rest are dropped and counted
(payloads that look like protocol lines are skipped by their size, never read as lines)."""

from __future__ import annotations

from edgenats.leafnode.backlog import Backlog, BacklogState

PING = b"PING\r\n"
INTEREST = b"LS+ stall.>\r\n"


def lmsg(subject: bytes, payload: bytes) -> bytes:
    return b"LMSG %s %d\r\n%s\r\n" % (subject, len(payload), payload)


def hmsg(subject: bytes, headers: bytes, payload: bytes) -> bytes:
    return b"HMSG %s | q1 q2 %d %d\r\n%s%s\r\n" % (subject, len(headers), len(headers) + len(payload), headers,
                                                    payload)


def test_output_within_the_bound_is_written_whole():
    backlog = Backlog()
    data = lmsg(b"a", b"1") + PING
    assert backlog.admit(data, pending=0, limit=len(data), blocked=True) is data
    assert (backlog.state, backlog.dropped_msgs) == (BacklogState.WITHIN, 0)


def test_over_the_bound_protocol_lines_go_and_later_messages_are_dropped():
    backlog = Backlog()
    first = lmsg(b"a", b"one")
    tricky = lmsg(b"b", b"\r\nLMSG c 1\r\nx\r\nPING\r\n")
    headed = hmsg(b"d", b"NATS/1.0\r\nK: V\r\n\r\n", b"four")
    data = first + INTEREST + tricky + PING + headed + lmsg(b"e", b"1")
    kept = backlog.admit(data, pending=100, limit=100 + len(first) + len(INTEREST) + 5, blocked=True)
    assert kept == first + INTEREST + PING
    assert backlog.state is BacklogState.DROPPING
    assert backlog.dropped_msgs == backlog.episode_msgs == 3
    assert backlog.dropped_bytes == len(b"\r\nLMSG c 1\r\nx\r\nPING\r\n") + len(b"NATS/1.0\r\nK: V\r\n\r\nfour") + 1


def test_dropping_ends_when_the_transport_drains_or_a_turn_fits_unblocked():
    backlog = Backlog()
    message = lmsg(b"a", b"payload")
    assert backlog.admit(message, pending=10, limit=10, blocked=True) == b""
    assert backlog.admit(message, pending=0, limit=100, blocked=True) == message
    assert backlog.state is BacklogState.DROPPING
    assert backlog.admit(message, pending=0, limit=100, blocked=False) == message
    assert backlog.state is BacklogState.WITHIN
    backlog.admit(message, pending=10, limit=10, blocked=True)
    backlog.recover()
    assert (backlog.state, backlog.dropped_msgs) == (BacklogState.WITHIN, 2)
