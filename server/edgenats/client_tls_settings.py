"""The client port's TLS settings: the top-level `tls { ... }` block and the `--tls*` flags, read and
checked as nats-server reads and checks them (its words in the refusals); what edgenats does not
implement is refused by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from edgenats.conf.units import parse_duration

# nats-server's TLS_TIMEOUT: how long a client has to complete the handshake.
DEFAULT_TIMEOUT = 2.0
# `handshake_first: auto`: how long to wait for a TLS-first client before sending the INFO in plain text.
AUTO_FALLBACK_DELAY = 0.05
# `min_version` values and the names of ssl.TLSVersion they stand for.
MIN_VERSIONS = {"1.2": "TLSv1_2", "1.3": "TLSv1_3"}
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
            if version not in MIN_VERSIONS:
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
