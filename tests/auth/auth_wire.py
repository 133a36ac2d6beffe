"""A raw-socket NATS client for the auth wire tests: send exact bytes, read exact bytes back."""

from __future__ import annotations

import json
import socket
import time


class WireClient:
    """One TCP connection to a broker; the server's INFO line is read on connect."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""
        self.info = json.loads(self.read_line()[len(b"INFO ") :])

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> WireClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def connect(self, verbose: bool = False, **fields) -> None:
        """Send CONNECT with the given fields (user, pass, auth_token, ...) followed by PING."""
        body = json.dumps({"verbose": verbose, "pedantic": False, **fields})
        self.send(f"CONNECT {body}\r\nPING\r\n".encode())

    def _receive(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed; unread bytes: {self.buffer!r}")
        return chunk

    def read_line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self.buffer += self._receive()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def read_until(self, marker: bytes) -> bytes:
        """Everything up to and including `marker`."""
        while marker not in self.buffer:
            self.buffer += self._receive()
        end = self.buffer.index(marker) + len(marker)
        data, self.buffer = self.buffer[:end], self.buffer[end:]
        return data

    def exchange(self, data: bytes) -> bytes:
        """Send `data` followed by PING; everything the server answered up to the PONG."""
        self.send(data + b"PING\r\n")
        return self.read_until(b"PONG\r\n")

    def read_to_close(self, timeout: float = 5.0) -> bytes:
        """All bytes until the server closes the connection (fails if it stays open for `timeout`)."""
        deadline = time.monotonic() + timeout
        data, self.buffer = self.buffer, b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"server kept the connection open; got {data!r}")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk
