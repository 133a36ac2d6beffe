"""TLS on the client port: the top-level `tls { ... }` block and the `--tls*` flags (nats-server's
syntax and checks), the server context built from them (again on every reload, so a SIGHUP picks up
renewed certificate files), and the handshake a client connection goes through before its session:
the TLS upgrade itself, its timeout, and the `pinned_certs` check of the client certificate.

What a client certificate maps to under `verify_and_map` is auth's job (`auth.certificates`); this
module only hands the certificate over.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import ssl
from dataclasses import dataclass, field
from typing import Any

from edgenats.conf.units import parse_duration
from edgenats.tls import server_tls_context

# nats-server's TLS_TIMEOUT: how long a client has to complete the handshake.
DEFAULT_TIMEOUT = 2.0
# `handshake_first: auto`: how long to wait for a TLS-first client before sending the INFO in plain text.
AUTO_FALLBACK_DELAY = 0.05
_MIN_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
# Keys nats-server knows in this block that edgenats does not implement: refused by name.
_NOT_SUPPORTED = {
    "cipher_suites": "choosing cipher suites",
    "curve_preferences": "choosing curves",
    "insecure": "insecure (a client-side setting)",
    "cert_store": "OS certificate stores",
    "cert_match_by": "OS certificate stores",
    "cert_match": "OS certificate stores",
    "cert_match_skip_invalid": "OS certificate stores",
    "ca_certs_match": "OS certificate stores",
    "certs": "several certificates",
    "ocsp_peer": "OCSP peer checks",
    "connection_rate_limit": "a TLS connection rate limit",
}


@dataclass(frozen=True)
class ClientTLSSettings:
    cert_file: str = ""
    key_file: str = ""
    ca_file: str = ""
    # Require and verify a client certificate (verify_and_map implies it).
    verify: bool = False
    # Authenticate a client as the configured user its certificate names.
    verify_and_map: bool = False
    timeout: float = DEFAULT_TIMEOUT
    min_version: str = ""
    # TLS before INFO: the client starts the handshake at once.
    handshake_first: bool = False
    # With handshake_first: a client silent this long (seconds) gets the INFO in plain text and the
    # handshake after it, as without handshake_first; 0: no fallback.
    fallback_delay: float = 0.0
    # SHA-256 (lower-case hex) of accepted client certificates' SubjectPublicKeyInfo; empty: any.
    pinned_certs: frozenset[str] = field(default_factory=frozenset)


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be true or false, got {value!r}")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {value!r}")
    return value


def _pinned(value: Any) -> frozenset[str]:
    keys = value if isinstance(value, list | tuple) else [value]
    for key in keys:
        if not isinstance(key, str) or not _SHA256_HEX.fullmatch(key):
            raise ValueError(f"error parsing tls config, 'pinned_certs' key {key} does not look like hex-encoded "
                             "sha256 of DER encoded SubjectPublicKeyInfo")
    return frozenset(key.lower() for key in keys)


def _handshake_first(value: Any) -> tuple[bool, float]:
    """true/false, "auto" (a 50 ms fallback) or a fallback delay such as "300ms"."""
    if isinstance(value, bool):
        return value, 0.0
    text = str(value).lower()
    if text in ("true", "false"):
        return text == "true", 0.0
    if text in ("auto", "auto_fallback"):
        return True, AUTO_FALLBACK_DELAY
    try:
        delay = parse_duration(text)
    except ValueError:
        delay = 0.0
    if delay <= 0:
        raise ValueError(f'field "handshake_first"\'s value "{value}" is invalid')
    return True, delay


def parse_client_tls(block: Any) -> ClientTLSSettings:
    """The top-level `tls` block, checked as nats-server checks it."""
    if not isinstance(block, dict):
        raise ValueError("tls must be a block { ... }")
    values: dict[str, Any] = {}
    for raw_key, value in block.items():
        key = str(raw_key).lower()
        where = f"tls.{key}"
        if key in ("cert_file", "key_file", "ca_file"):
            values[key] = _text(value, where)
        elif key in ("verify", "verify_and_map"):
            values[key] = _flag(value, where)
        elif key == "timeout":
            timeout = parse_duration(value)
            if timeout <= 0:
                raise ValueError(f"{where} must be positive")
            values["timeout"] = timeout
        elif key == "min_version":
            version = _text(value, where)
            if version not in _MIN_VERSIONS:
                raise ValueError(f"error parsing tls config: unsupported TLS version: TLS {version}")
            values["min_version"] = version
        elif key == "handshake_first":
            values["handshake_first"], values["fallback_delay"] = _handshake_first(value)
        elif key == "pinned_certs":
            values["pinned_certs"] = _pinned(value)
        elif key in _NOT_SUPPORTED:
            raise ValueError(f"{where}: {_NOT_SUPPORTED[key]} is not supported by edgenats")
        else:
            raise ValueError(f'error parsing tls config, unknown field "{raw_key}"')
    if not values.get("cert_file"):
        raise ValueError("missing 'cert_file' in TLS configuration")
    if not values.get("key_file"):
        raise ValueError("missing 'key_file' in TLS configuration")
    if values.get("verify_and_map"):
        values["verify"] = True
    return ClientTLSSettings(**values)


def tls_from_flags(flags: dict[str, Any], configured: ClientTLSSettings | None) -> ClientTLSSettings | None:
    """nats-server's `--tls*` flags: any of them (but `--tls=false`) replaces the file's block with one made
    of the flags alone; `--tls=false` turns TLS off."""
    if flags.get("tls") is False:
        return None
    if not any(name in flags for name in ("tls", "tls_cert", "tls_key", "tls_ca_cert", "tls_verify")):
        return configured
    if not flags.get("tls_cert"):
        raise ValueError("TLS Server certificate must be present and valid")
    if not flags.get("tls_key"):
        raise ValueError("TLS Server private key must be present and valid")
    return ClientTLSSettings(cert_file=flags["tls_cert"], key_file=flags["tls_key"],
                             ca_file=flags.get("tls_ca_cert", ""), verify=bool(flags.get("tls_verify")))


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
    """A completed handshake: the TLS transport, what the client already sent inside it, its certificate."""

    transport: asyncio.Transport
    early_input: bytes
    lost: bool
    certificate_der: bytes | None


class ClientTLS:
    """The client port's TLS: settings and the context they make; built at start and on every reload."""

    def __init__(self, settings: ClientTLSSettings) -> None:
        self.settings = settings
        context = server_tls_context(settings)
        if settings.min_version:
            context.minimum_version = _MIN_VERSIONS[settings.min_version]
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
        except (OSError, ssl.SSLError, TimeoutError) as error:
            raise TLSRefused(_reason(error)) from None
        if not self.pinned(upgraded):
            upgraded.abort()
            raise TLSRefused("certificate not pinned")
        return AcceptedTLS(upgraded, b"".join(held.chunks), held.lost, _peer_certificate(upgraded))

    def pinned(self, transport: asyncio.BaseTransport) -> bool:
        """Whether `pinned_certs` (if any) lists the certificate of the client on `transport`; a client with
        none (or not on TLS) is not listed."""
        pins = self.settings.pinned_certs
        if not pins:
            return True
        der = _peer_certificate(transport)
        return der is not None and public_key_pin(der) in pins


def _peer_certificate(transport: asyncio.BaseTransport) -> bytes | None:
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
