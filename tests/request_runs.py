"""A raw client for tests of requests written back to back (as async publishes leave a client): it
subscribes to its own inboxes, sends a run of PUBs with one reply each in a single write, and reads
what comes back, frame by frame, until enough has arrived."""

from __future__ import annotations

import json
import re
import socket

INBOX = "_INBOX.run"
# MSG <subject> <sid> [reply] <size> | HMSG <subject> <sid> [reply] <header size> <size>
FRAME_LINE = re.compile(rb"(?:MSG (\S+) \S+ (?:\S+ )?()|HMSG (\S+) \S+ (?:\S+ )?(\d+) )(\d+)\r\n")


class RawRequester:
    """One connection with headers and no-responders on, subscribed to `_INBOX.run.*`."""

    def __init__(self, port: int, user: str | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5.0)
        options = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True, "protocol": 1}
        if user is not None:
            options.update(user=user, **{"pass": user})
        self.received = bytearray()
        self.sock.sendall(b"CONNECT " + json.dumps(options).encode() + b"\r\nSUB " + INBOX.encode()
                          + b".* 1\r\nPING\r\n")
        self._read_until(lambda: b"PONG\r\n" in self.received)
        del self.received[:self.received.index(b"PONG\r\n") + 6]

    def send_run(self, subject: str, payloads: list[bytes]) -> None:
        """Every request in one write: `PUB <subject> _INBOX.run.<index> <size>`."""
        self.sock.sendall(b"".join(b"PUB %s %s.%d %d\r\n%s\r\n" % (subject.encode(), INBOX.encode(), index,
                                                                    len(payload), payload)
                                   for index, payload in enumerate(payloads)))

    def frames(self, count: int) -> list[tuple[str, bytes | None, bytes]]:
        """The next `count` messages: (subject, header block or None, payload)."""
        found: list[tuple[str, bytes | None, bytes]] = []

        def complete() -> bool:
            while b"\r\n" in self.received:
                match = FRAME_LINE.match(self.received)
                if match is None:  # INFO (nats-server updates it after CONNECT), PING
                    line = bytes(self.received[:self.received.index(b"\r\n")])
                    if line == b"PING":
                        self.sock.sendall(b"PONG\r\n")
                    del self.received[:len(line) + 2]
                    continue
                total = int(match[5])
                end = match.end() + total + 2
                if len(self.received) < end:
                    break
                header_size = int(match[4] or 0)
                body = bytes(self.received[match.end():match.end() + total])
                found.append(((match[1] or match[3]).decode(), body[:header_size] or None, body[header_size:]))
                del self.received[:end]
            return len(found) >= count

        self._read_until(complete)
        return found

    def _read_until(self, done) -> None:
        while not done():
            chunk = self.sock.recv(65536)
            assert chunk, f"the server closed the connection after {bytes(self.received[-200:])!r}"
            self.received += chunk

    def close(self) -> None:
        self.sock.close()
