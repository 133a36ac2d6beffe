"""TLS contexts from config blocks: the server side of a listener that takes TLS (the leaf port, the
WebSocket port), from any block with cert_file, key_file, ca_file and verify."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from edgenats.tls_runtime import load_ssl

if TYPE_CHECKING:
    import ssl


class ServerTLSSettings(Protocol):
    cert_file: str
    key_file: str
    ca_file: str
    verify: bool


def server_tls_context(tls: ServerTLSSettings) -> ssl.SSLContext:
    """Our certificate; the CA (if given) to check clients with; client certificates required with verify."""
    ssl = load_ssl()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    except OSError as error:
        # nats-server's words, so an operator finds the same message whichever broker runs.
        raise OSError(f"error parsing X509 certificate/key pair: {error}") from None
    if tls.ca_file:
        context.load_verify_locations(tls.ca_file)
    if tls.verify:
        context.verify_mode = ssl.CERT_REQUIRED
    return context
