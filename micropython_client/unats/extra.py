"""unats.extra: the blocking client's rarely used parts, imported on first use: header blocks, TLS and the
exception classes that are seldom raised (reached as unats.AuthError and so on).

They live outside unats/__init__ so that a device which never sees a header, TLS or one of these errors
does not keep their bytecode in its heap (the core has to fit a 24K heap). Install this module beside
unats/__init__: a request that finds no responders gets its 503 status in a header block.
"""

# ruff: noqa: UP031 - %-formatting works on bytes in MicroPython and CPython alike; str.format on bytes does not

from unats import NATSError, ProtocolError


class AuthError(NATSError):
    pass


class TimeoutError(NATSError):  # shadows the builtin on purpose: the API names it unats.TimeoutError
    pass


class NoRespondersError(NATSError):
    pass


class OutboxFullError(NATSError):
    """A publish made while disconnected did not fit the outbox and was not queued."""


class ClosedError(NATSError):
    pass


def encode_headers(headers):
    """{name: value} -> the header block bytes of an HPUB."""
    hdr = "NATS/1.0\r\n"
    for k in headers:
        hdr += "%s: %s\r\n" % (k, headers[k])
    return (hdr + "\r\n").encode()


def parse_headers(raw):
    """Header block bytes -> (status or None, {name: value}); a repeated name keeps its last value."""
    lines = raw.decode().split("\r\n")
    if not lines[0].startswith("NATS/1"):
        raise ProtocolError("bad header block")
    status = lines[0][9:12]
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name] = value.strip()
    return (int(status) if status else None), headers  # a non-numeric status raises ValueError


def ca_context(pem):
    """An SSLContext that verifies the server against the CA certificate `pem` (text, the first certificate
    of it counts on MicroPython): CPython reads PEM, MicroPython's mbedTLS context is given its DER bytes."""
    import ssl

    if hasattr(ssl, "create_default_context"):
        return ssl.create_default_context(cadata=pem)
    from binascii import a2b_base64

    body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=a2b_base64(body.replace("\n", "").replace("\r", "")))
    return ctx


def wrap_tls(sock, host, ctx):
    """Wrap a connected socket in TLS: ctx is an SSLContext, or anything else for a default context."""
    import ssl

    if not hasattr(ctx, "wrap_socket"):
        if hasattr(ssl, "create_default_context"):
            ctx = ssl.create_default_context()
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.verify_mode = ssl.CERT_NONE  # a device without a CA bundle: pass an SSLContext to verify
    return ctx.wrap_socket(sock, server_hostname=host)
