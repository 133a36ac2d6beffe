"""TLS on the client port at run time: the server context built from the settings (again on every reload,
so a SIGHUP picks up renewed certificate files), the handshake a client connection goes through before
its session (the TLS upgrade itself, TLS first with its fallback delay, the timeout, the `pinned_certs`
check of the client certificate), and the TLS facts the monitor reports.

What a client certificate maps to under `verify_and_map` is auth's job (`auth.certificates`); this
module only hands the certificate over.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from dataclasses import dataclass

from edgenats.client_tls_settings import MIN_VERSIONS, ClientTLSSettings
from edgenats.tls import server_tls_context


class TLSRefused(Exception):
    """A client's TLS handshake failed or its certificate was refused; the text says why."""


def public_key_pin(certificate_der: bytes) -> str:
    """The `pinned_certs` entry of a certificate: SHA-256 of its DER SubjectPublicKeyInfo, hex."""
    # Imported on first use: only a port with pinned certificates needs the X.509 code.
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = x509.load_der_x509_certificate(certificate_der).public_key()
    info = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(info).hexdigest()


class _HeldInput(asyncio.Protocol):
    """The application side while a handshake completes: keeps what the client sends right after it (its
    CONNECT may come in the same read as the handshake's end) until the session takes the transport."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.lost = False

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


@dataclass
class AcceptedTLS:
    """A completed handshake: the TLS transport, what the client already sent inside it, whether it left."""

    transport: asyncio.Transport
    early_input: bytes
    lost: bool


class ClientTLS:
    """The client port's TLS: settings and the context they make; built at start and on every reload."""

    def __init__(self, settings: ClientTLSSettings) -> None:
        self.settings = settings
        context = server_tls_context(settings)
        if settings.min_version:
            context.minimum_version = MIN_VERSIONS[settings.min_version]
        self.context = context
        self.certificate_not_after = _not_after(settings.cert_file)

    def info_fields(self) -> dict:
        """What the INFO says of TLS (nats-server's fields)."""
        return {"tls_required": True, **({"tls_verify": True} if self.settings.verify else {})}

    async def client_speaks_first(self, loop: asyncio.AbstractEventLoop, transport: asyncio.Transport) -> bool:
        """With a fallback delay: whether the client sends anything (its TLS handshake) before the delay ends.
        Reading stays paused and nothing is consumed: a duplicate of the socket is watched for input."""
        watched = transport.get_extra_info("socket").dup()
        ready = loop.create_future()
        loop.add_reader(watched.fileno(), lambda: ready.done() or ready.set_result(True))
        try:
            return await asyncio.wait_for(ready, self.settings.fallback_delay)
        except TimeoutError:
            return False
        finally:
            loop.remove_reader(watched.fileno())
            watched.close()

    async def accept(self, loop: asyncio.AbstractEventLoop, transport: asyncio.Transport) -> AcceptedTLS:
        """The server side of the handshake on `transport` (its reading paused by the caller); raises
        TLSRefused. The caller sets itself as the returned transport's protocol."""
        held = _HeldInput()
        try:
            upgraded = await loop.start_tls(transport, held, self.context, server_side=True,
                                            ssl_handshake_timeout=self.settings.timeout)
        except OSError as error:  # SSL errors, the handshake timeout and resets alike
            raise TLSRefused(_reason(error)) from None
        if not self.pinned(upgraded):
            upgraded.abort()
            raise TLSRefused("certificate not pinned")
        return AcceptedTLS(upgraded, b"".join(held.chunks), held.lost)

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


def _reason(error: BaseException) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"failed to verify certificate: {error.verify_message}"
    if isinstance(error, ssl.SSLError) and error.reason:
        return error.reason.replace("_", " ").lower()
    return str(error) or type(error).__name__


# What a client that never started a handshake (plain text, an HTTP request, silence, a closed socket) ends
# with: logged at debug, as nats-server does; refused certificates and failed negotiations are errors.
_QUIET_FAILURES = ("wrong version number", "http request", "https proxy request", "ssl handshake is taking longer",
                   "connection lost", "unexpected eof")


def is_quiet_failure(reason: str) -> bool:
    return reason.lower().startswith(_QUIET_FAILURES)
