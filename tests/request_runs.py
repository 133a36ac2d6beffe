"""A raw client for tests of requests written back to back (as async publishes leave a client): it
subscribes to its own inboxes, sends a run of PUBs with one reply each in a single write, and reads the
MSG/HMSG frames that come back with the bench's FrameReader until enough have arrived."""

from __future__ import annotations

import json
import socket

from edgenats.bench.js_wire import FrameReader

INBOX = "_INBOX.run"


class RawRequester:
    """One connection with headers and no-responders on, subscribed to `_INBOX.run.*`."""

    def __init__(self, port: int, user: str | None = None) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5.0)
        options = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True, "protocol": 1}
        if user is not None:
            options.update(user=user, **{"pass": user})
        sock.sendall(b"CONNECT " + json.dumps(options).encode() + b"\r\nSUB " + INBOX.encode() + b".* 1\r\nPING\r\n")
        received = b""
        while b"PONG\r\n" not in received:  # (the subscription is in place)
            chunk = sock.recv(65536)
            assert chunk, f"the server closed the connection: {received!r}"
            received += chunk
        self.reader = FrameReader(sock, 5.0)
        self.sock = sock

    def send_run(self, subject: str, payloads: list[bytes]) -> None:
        """Every request in one write: `PUB <subject> _INBOX.run.<index> <size>`."""
        self.sock.sendall(b"".join(b"PUB %s %s.%d %d\r\n%s\r\n" % (subject.encode(), INBOX.encode(), index,
                                                                    len(payload), payload)
                                   for index, payload in enumerate(payloads)))

    def frames(self, count: int) -> list[tuple[str, bytes | None, bytes]]:
        """The next `count` messages: (subject, header block or None, payload)."""
        found: list[tuple[str, bytes | None, bytes]] = []
        while len(found) < count:
            found += [(frame.subject.decode(), frame.headers, frame.payload) for frame in self.reader.read()]
        return found

    def close(self) -> None:
        self.sock.close()
