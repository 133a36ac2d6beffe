"""Throwaway certificates (trustme) and a raw TLS client for the tests of TLS on the client port.

One CA signs the server's certificate (127.0.0.1) and the clients': alice (e-mail and DNS SANs, subject
CN=alice,OU=Edge,O=Acme), bob (e-mail SAN only), dev7 (DNS SAN dev7.example.com, subject
CN=dev7,OU=Edge,O=Acme), carol (e-mail SAN only). A second CA signs a stranger the server does not
trust.
"""

from __future__ import annotations

import hashlib
import json
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

CLIENTS = {
    "alice": (("alice@example.com", "dev1.example.com"), "alice"),
    "bob": (("bob@example.com",), "bob"),
    "dev7": (("dev7.example.com",), "dev7"),
    "carol": (("carol@example.com",), "carol"),
}


@dataclass
class Certificates:
    directory: Path
    ca: trustme.CA

    def path(self, name: str) -> str:
        return str(self.directory / name)

    def tls_block(self, **settings: str) -> str:
        """A top-level `tls` block with the server certificate and the CA, plus `settings` (config syntax)."""
        fields = {"cert_file": f'"{self.path("server.pem")}"', "key_file": f'"{self.path("server-key.pem")}"',
                  "ca_file": f'"{self.path("ca.pem")}"', **settings}
        return "tls {\n" + "\n".join(f"  {key}: {value}" for key, value in fields.items()) + "\n}\n"

    def client_context(self, client: str | None = None, maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
        """What a client trusting our CA uses, with the named client's certificate if given."""
        context = ssl.create_default_context(cafile=self.path("ca.pem"))
        if client is not None:
            context.load_cert_chain(self.path(f"{client}.pem"), self.path(f"{client}-key.pem"))
        if maximum is not None:
            context.maximum_version = maximum
        return context

    def issue_server_certificate(self, cert: str, key: str) -> bytes:
        """A new server certificate for 127.0.0.1 written to `cert`/`key` in the directory; its DER."""
        issued = self.ca.issue_cert("127.0.0.1", "localhost")
        issued.cert_chain_pems[0].write_to_path(self.path(cert))
        issued.private_key_pem.write_to_path(self.path(key))
        return ssl.PEM_cert_to_DER_cert(issued.cert_chain_pems[0].bytes().decode())

    def pin(self, client: str) -> str:
        """The `pinned_certs` entry of a client certificate: SHA-256 of its SubjectPublicKeyInfo, hex."""
        certificate = x509.load_pem_x509_certificate(Path(self.path(f"{client}.pem")).read_bytes())
        info = certificate.public_key().public_bytes(serialization.Encoding.DER,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
        return hashlib.sha256(info).hexdigest()


def make_certificates(directory: Path) -> Certificates:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    certificates = Certificates(directory, ca)
    certificates.issue_server_certificate("server.pem", "server-key.pem")
    for name, (identities, common_name) in CLIENTS.items():
        issued = ca.issue_cert(*identities, common_name=common_name, organization_name="Acme",
                               organization_unit_name="Edge")
        issued.cert_chain_pems[0].write_to_path(str(directory / f"{name}.pem"))
        issued.private_key_pem.write_to_path(str(directory / f"{name}-key.pem"))
    stranger = trustme.CA().issue_cert("mallory@example.com", common_name="mallory")
    stranger.cert_chain_pems[0].write_to_path(str(directory / "stranger.pem"))
    stranger.private_key_pem.write_to_path(str(directory / "stranger-key.pem"))
    return certificates


class TLSWire:
    """A raw client: the plain INFO (unless TLS first), then the handshake, then exact bytes inside TLS."""

    def __init__(self, port: int, context: ssl.SSLContext, tls_first: bool = False, timeout: float = 5.0) -> None:
        self.raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""
        self.info: dict = {}
        if not tls_first:
            self.info = self._info()
        self.sock = context.wrap_socket(self.raw, server_hostname="127.0.0.1")
        if tls_first:
            self.info = self._info()

    def __enter__(self) -> TLSWire:
        return self

    def __exit__(self, *exc_info) -> None:
        self.sock.close()

    def _info(self) -> dict:
        return json.loads(self.read_until(b"\r\n")[len(b"INFO "):])

    def _sock(self) -> socket.socket:
        return getattr(self, "sock", self.raw)

    def read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            chunk = self._sock().recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed; unread bytes: {self.buffer!r}")
            self.buffer += chunk
        end = self.buffer.index(marker) + len(marker)
        data, self.buffer = self.buffer[:end], self.buffer[end:]
        return data

    def exchange(self, data: bytes) -> bytes:
        """Send `data` then PING; everything answered up to the PONG."""
        self.sock.sendall(data + b"PING\r\n")
        return self.read_until(b"PONG\r\n")

    def read_to_close(self, timeout: float = 5.0) -> bytes:
        """All bytes until the server closes the connection."""
        deadline = time.monotonic() + timeout
        data, self.buffer = self.buffer, b""
        while (remaining := deadline - time.monotonic()) > 0:
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                return data
            if not chunk:
                return data
            data += chunk
        raise TimeoutError(f"server kept the connection open; got {data!r}")


def plain_info_then_close(port: int, send: bytes = b"", timeout: float = 5.0) -> tuple[bytes, bytes, float]:
    """A client that never starts TLS: (the first line, what followed until the close, seconds to the close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        started = time.monotonic()
        data = b""
        if send:
            sock.sendall(send)
        while chunk := _receive(sock):
            data += chunk
        first, _, rest = data.partition(b"\r\n")
        return first, rest, time.monotonic() - started


def _receive(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except ConnectionResetError:
        return b""


def wait_for_log(server, text: str, times: int = 1, timeout: float = 5.0) -> str:
    """The server's log once it holds `text` `times` times (the server writes it after the client saw the close)."""
    deadline = time.monotonic() + timeout
    while (log := server.log_text()).count(text) < times:
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not logged:\n{log}")
        time.sleep(0.02)
    return log
