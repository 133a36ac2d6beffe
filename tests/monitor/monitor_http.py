"""A tiny HTTP client for the monitoring tests: real requests over sockets to 127.0.0.1, with
http.client for ordinary (keep-alive) use and a raw socket for what curl or an old tool sends.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


class Monitor:
    def __init__(self, port: int) -> None:
        self.port = port

    def request(self, path: str, method: str = "GET") -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def get(self, path: str) -> dict:
        reply = self.request(path)
        assert reply.status == 200, (path, reply.status, reply.body)
        return reply.json()

    def wait_for(self, path: str, condition: Callable[[dict], bool], timeout: float = 5.0) -> dict:
        """Poll until `condition` holds: closing a connection and counting it is asynchronous."""
        deadline = time.monotonic() + timeout
        while True:
            document = self.get(path)
            if condition(document) or time.monotonic() > deadline:
                return document
            time.sleep(0.05)

    def raw(self, request: bytes) -> bytes:
        """Send `request` bytes as they are and read until the server closes the connection."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(request)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


def split_response(data: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status_line, headers, body
