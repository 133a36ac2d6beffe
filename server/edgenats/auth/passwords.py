"""Password and token checks: bcrypt hashes as nats-server recognises them, else constant-time compare."""

import re

_BCRYPT_HASH = re.compile(r"\$2[abxy]\$\d{2}\$")

# bcrypt only ever uses the first 72 bytes of a password; nats-server (Go) silently ignores the rest,
# while the Python binding refuses longer input, so cut it the same way Go does.
_BCRYPT_MAX_PASSWORD_BYTES = 72


def is_bcrypt_hash(text: str) -> bool:
    """True for `$2a$`, `$2b$`, `$2x$` or `$2y$` followed by a 2-digit cost and `$`."""
    return _BCRYPT_HASH.match(text) is not None


def verify_password(configured: str, offered: str | None) -> bool:
    """Check a client's password or token against the configured one (which may be a bcrypt hash)."""
    offered_bytes = (offered or "").encode("utf-8")
    if is_bcrypt_hash(configured):
        return _bcrypt_matches(configured, offered_bytes)
    # Imported on first use: hmac loads OpenSSL's libcrypto (via hashlib), which a broker without
    # passwords does not carry.
    import hmac

    return hmac.compare_digest(configured.encode("utf-8"), offered_bytes)


def _bcrypt_matches(configured_hash: str, offered: bytes) -> bool:
    # Imported on first use: a broker without bcrypt passwords does not carry the module.
    import bcrypt

    # Go's bcrypt runs the same algorithm for every minor version letter; the Python binding only
    # knows some of them, so present every hash to it as `$2b$`.
    normalised = "$2b$" + configured_hash[4:]
    try:
        return bcrypt.checkpw(offered[:_BCRYPT_MAX_PASSWORD_BYTES], normalised.encode("utf-8"))
    except ValueError:
        return False
