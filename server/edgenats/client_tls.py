"""TLS on the client port at run time: the server context built from the settings (again on every reload,
so a SIGHUP picks up renewed certificate files), the accept path of a TLS port (`TLSAcceptor`: the INFO in
plain text or TLS first with its fallback delay, the connection limit, the handshake and its timeout, the
`pinned_certs` check, then the session on the TLS transport), and the TLS facts the monitor reports.

The acceptor takes the socket away from the plain transport the listener made before that transport
reads a byte (uvloop starts reading right after `connection_made`, whatever the protocol asked), so
nothing the client sends is ever read outside TLS; asyncio then wraps the socket in TLS from its first
byte (`connect_accepted_socket`). What a client certificate maps to under `verify_and_map` is auth's job
(`auth.certificates`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from enum import Enum
from typing import Protocol

from edgenats.client_tls_settings import MIN_VERSIONS, ClientTLSSettings
from edgenats.protocol.framing import error_line, info_line
from edgenats.tls import server_tls_context
from edgenats.tls_runtime import load_ssl

log = logging.getLogger("edgenats")


def public_key_pin(certificate_der: bytes) -> str:
    """The `pinned_certs` entry of a certificate: SHA-256 of its DER SubjectPublicKeyInfo, hex."""
    # Imported on first use: only a port with pinned certificates needs the X.509 code.
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = x509.load_der_x509_certificate(certificate_der).public_key()
    info = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(info).hexdigest()


class Opening(Enum):
    """How a client connection reaches its session."""

    # INFO, the connection limit, the session: a plain port (and WebSocket clients).
    PLAIN = "plain"
    # Admitted and given the INFO in plain text before the TLS handshake: the session starts at once.
    INFO_SENT = "info_sent"
    # Admitted, TLS first: the INFO goes inside TLS, then the session.
    TLS_FIRST = "tls_first"


class TLSSession(Protocol):
    """What the acceptor needs of the client session it opens (a ClientConnection)."""

    cid: int
    host: str
    port: int
    opening: Opening
    closed: bool

    def describe(self) -> str: ...

    def close(self, reason: str) -> None: ...

    def connection_made(self, transport: asyncio.BaseTransport) -> None: ...


class AcceptingHost(Protocol):
    """What the acceptor needs of the server."""

    loop: asyncio.AbstractEventLoop

    def admit(self, connection: TLSSession) -> bool: ...

    def client_info(self, connection: TLSSession) -> dict: ...


class ClientTLS:
    """The client port's TLS: settings and the context they make; built at start and on every reload."""

    def __init__(self, settings: ClientTLSSettings, allow_non_tls: bool = False) -> None:
        self.settings = settings
        self.allow_non_tls = allow_non_tls  # TLS offered, plain text served too
        context = server_tls_context(settings)
        if settings.min_version:
            context.minimum_version = load_ssl().TLSVersion[MIN_VERSIONS[settings.min_version]]
        self.context = context
        self.certificate_not_after = _not_after(settings.cert_file)

    def varz_fields(self) -> dict:
        """What /varz says of TLS on the client port (nats-server's fields)."""
        return {**({} if self.allow_non_tls else {"tls_required": True}),
                **({"tls_verify": True} if self.settings.verify else {})}

    def info_fields(self) -> dict:
        """What the INFO says of TLS: as /varz, and `tls_available` when plain text is allowed."""
        return {**self.varz_fields(), **({"tls_available": True} if self.allow_non_tls else {})}

    def pinned(self, transport: asyncio.BaseTransport) -> bool:
        """Whether `pinned_certs` (if any) lists the certificate of the client on `transport`; a client with
        none (or not on TLS) is not listed."""
        pins = self.settings.pinned_certs
        if not pins:
            return True
        der = peer_certificate(transport)
        return der is not None and public_key_pin(der) in pins


def peer_certificate(transport: asyncio.BaseTransport) -> bytes | None:
    """The client certificate (DER) of a TLS transport; None without TLS or without a certificate."""
    ssl_object = transport.get_extra_info("ssl_object")
    return ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None


class TLSAcceptor(asyncio.Protocol):
    """The protocol of a connection just accepted on a TLS client port: takes its socket from the plain
    transport at once, then runs the steps before the session (see the module's docstring)."""

    def __init__(self, host: AcceptingHost, tls: ClientTLS, session: TLSSession) -> None:
        self.host = host
        self.tls = tls
        self.session = session
        self.task: asyncio.Task | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = socket.socket(fileno=os.dup(transport.get_extra_info("socket").fileno()))
        sock.setblocking(False)
        # The plain transport closes its descriptor and never reads; the duplicate keeps the connection.
        transport.abort()
        self.task = self.host.loop.create_task(self._open(sock))

    def connection_lost(self, exc: Exception | None) -> None:
        """The abandoned plain transport's end: nothing to do."""

    async def _open(self, sock: socket.socket) -> None:
        try:
            await self._steps(sock)
        finally:
            self.task = None

    async def _steps(self, sock: socket.socket) -> None:
        host, session, settings = self.host, self.session, self.tls.settings
        try:
            session.host, session.port = sock.getpeername()[:2]
        except OSError:  # gone already
            sock.close()
            return
        out = b"" if settings.handshake_first else info_line(host.client_info(session))
        if not host.admit(session):
            log.error("%s - Maximum connections exceeded", session.describe())
            _send_and_close(sock, out + error_line("maximum connections exceeded"))
            session.close("Maximum Connections Exceeded")
            return
        tls_first = settings.handshake_first
        if tls_first and settings.fallback_delay and not await self._client_speaks_first(sock):
            # Silent past the delay: not a TLS-first client; it gets the INFO, then the handshake.
            tls_first = False
            out = info_line(host.client_info(session))
        if out and not _send(sock, out):
            sock.close()
            session.close("Client Closed")
            return
        session.opening = Opening.TLS_FIRST if tls_first else Opening.INFO_SENT
        if not tls_first and self.tls.allow_non_tls and not await self._client_starts_tls(sock):
            await host.loop.connect_accepted_socket(lambda: session, sock)  # plain text, as allowed
            return
        try:
            await host.loop.connect_accepted_socket(lambda: _Handover(self), sock, ssl=self.tls.context,
                                                    ssl_handshake_timeout=settings.timeout)
        except OSError as error:  # SSL errors, the handshake timeout and resets alike
            self.refuse(_reason(error))

    async def _client_speaks_first(self, sock: socket.socket, within: float | None = None) -> bool:
        """Whether the client sends anything (its TLS handshake) before the fallback delay (or `within`
        seconds) ends; nothing is read."""
        loop = self.host.loop
        ready = loop.create_future()
        loop.add_reader(sock.fileno(), lambda: ready.done() or ready.set_result(True))
        try:
            return await asyncio.wait_for(ready, self.tls.settings.fallback_delay if within is None else within)
        except TimeoutError:
            return False
        finally:
            loop.remove_reader(sock.fileno())

    async def _client_starts_tls(self, sock: socket.socket) -> bool:
        """With `allow_non_tls`, after the INFO: whether the client's first byte, sent within the TLS timeout,
        opens a TLS handshake (a record of type 22); silence or anything else is a plain-text client, as
        nats-server decides. The byte is only peeked at."""
        if not await self._client_speaks_first(sock, self.tls.settings.timeout):
            return False
        try:
            return sock.recv(1, socket.MSG_PEEK) == b"\x16"
        except OSError:
            return False

    def refuse(self, reason: str) -> None:
        level = logging.DEBUG if reason.lower().startswith(_QUIET_FAILURES) else logging.ERROR
        log.log(level, "%s - TLS handshake error: %s", self.session.describe(), reason)
        self.session.close("TLS Handshake Failure")


class _Handover(asyncio.Protocol):
    """The TLS transport's first protocol: checks `pinned_certs`, then hands the transport to the session
    (before any data is delivered)."""

    def __init__(self, acceptor: TLSAcceptor) -> None:
        self.acceptor = acceptor

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        acceptor = self.acceptor
        if acceptor.session.closed:
            transport.abort()
        elif not acceptor.tls.pinned(transport):
            transport.abort()
            acceptor.refuse("certificate not pinned")
        else:
            transport.set_protocol(acceptor.session)
            acceptor.session.connection_made(transport)


def _send(sock: socket.socket, data: bytes) -> bool:
    """Write the first bytes of a new connection (its send buffer is empty: they fit at once)."""
    try:
        return sock.send(data) == len(data)
    except OSError:
        return False


def _send_and_close(sock: socket.socket, data: bytes) -> None:
    _send(sock, data)
    sock.close()


def _not_after(cert_file: str) -> float:
    """When the server certificate expires (a Unix time), for /varz's `tls_cert_not_after`."""
    # Imported on first use, as for pins: a server without client TLS does not load the X.509 code.
    from cryptography import x509

    with open(cert_file, "rb") as pem:
        return x509.load_pem_x509_certificate(pem.read()).not_valid_after_utc.timestamp()


# Go's names of the TLS 1.2 suites it offers, by OpenSSL's names (TLS 1.3 names are the same in both).
_GO_CIPHER_NAMES = {
    "ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "ECDHE-RSA-CHACHA20-POLY1305": "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}


def session_fields(transport: asyncio.BaseTransport | None) -> dict:
    """/connz's `tls_version` and `tls_cipher_suite` of a connection's transport (nothing for plain TCP)."""
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None or ssl_object.version() is None:
        return {}
    cipher = ssl_object.cipher()[0]
    return {"tls_version": ssl_object.version().removeprefix("TLSv"),
            "tls_cipher_suite": _GO_CIPHER_NAMES.get(cipher, cipher)}


def peer_certificates(transport: asyncio.BaseTransport | None) -> list[dict]:
    """/connz's `tls_peer_certs` (asked for with auth): each certificate the client presented, its own first,
    with its subject (RFC 4514, as Go writes a name), SHA-256 of its SubjectPublicKeyInfo and of the whole
    certificate, hex; empty without TLS or without a client certificate."""
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None or ssl_object.getpeercert(binary_form=True) is None:
        return []
    from cryptography import x509

    # What the client sent, its own certificate first: Python 3.13's SSLObject.get_unverified_chain(), which
    # 3.10 to 3.12 already have on the object underneath (returning certificate objects there).
    sent = ssl_object._sslobj.get_unverified_chain()
    import hashlib

    der_encoding = load_ssl()._ssl.ENCODING_DER
    chain = [certificate.public_bytes(der_encoding) for certificate in sent]
    return [{"subject": x509.load_der_x509_certificate(der).subject.rfc4514_string(),
             "spki_sha256": public_key_pin(der), "cert_sha256": hashlib.sha256(der).hexdigest()} for der in chain]


def _reason(error: BaseException) -> str:
    ssl = load_ssl()
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"failed to verify certificate: {error.verify_message}"
    if isinstance(error, ssl.SSLError) and error.reason:
        return error.reason.replace("_", " ").lower()
    return str(error) or type(error).__name__


# What a client that never started a handshake (plain text, an HTTP request, silence, a closed socket) ends
# with: logged at debug, as nats-server does; refused certificates and failed negotiations are errors.
_QUIET_FAILURES = ("wrong version number", "http request", "https proxy request", "ssl handshake is taking longer",
                   "connection lost", "unexpected eof")

