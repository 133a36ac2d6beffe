"""Opening a listening port: when it cannot be opened, the error names the port's purpose, the address
and port as the user wrote them, the reason in words, and the setting that chooses another.

Every listener (client, monitoring, leaf node, WebSocket) opens its socket inside `opening(...)`; the
`ListenError` it raises is an OSError, so the server's start reports it in one line and exits.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

ALL_ADDRESSES = ("", "0.0.0.0", "::")
_REASONS = {
    errno.EADDRINUSE: "the address is already in use (is another server listening there?)",
    errno.EACCES: "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
    errno.EADDRNOTAVAIL: "this machine has no such address",
}


class ListenError(OSError):
    """A port that could not be opened, described for the user."""


def describe_address(host: str | None, port: int) -> str:
    """`host:port` as the banner and errors show it; all addresses means IPv4 and IPv6 alike."""
    if host in ALL_ADDRESSES or host is None:
        return f"0.0.0.0:{port} (every IPv4 and IPv6 address)"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@contextmanager
def opening(what: str, host: str | None, port: int, how_to_change: str) -> Iterator[None]:
    """Open a listener for `what` ("client connections", ...) inside this block."""
    try:
        yield
    except OSError as error:
        reason = _REASONS.get(error.errno, error.strerror or str(error))
        advice = "" if error.errno == errno.EADDRNOTAVAIL else f"; choose another port with {how_to_change}"
        raise ListenError(f"cannot listen for {what} on {describe_address(host, port)}: {reason}{advice}") from None
