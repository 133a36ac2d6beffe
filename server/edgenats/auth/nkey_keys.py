"""Nkeys and signatures: which strings are public keys of a kind (operator, account, user), the nonce a
client signs, and the check of a signature (a CONNECT `sig` over the nonce's ASCII bytes, or a JWT's)
against a public key.

Public keys are read as nats-server reads them: base32, a prefix byte (`O`, `A`, `U`), 32 key bytes
and a CRC-16 trailer (XMODEM, the standard library's `binascii.crc_hqx`). A signature is unpadded
base64url, or standard base64 as nats-server's fallback. PyNaCl (libsodium) checks signatures and is
imported on first use: a broker without nkey users never loads it (about 2 MB of memory on a Pi).
"""

from __future__ import annotations

import base64
import binascii
import os
import re

# The first byte of a public key: its kind's letter number in the top five bits.
PREFIX_OPERATOR = "O"
PREFIX_ACCOUNT = "A"
PREFIX_USER = "U"
_PREFIX_BYTES = {PREFIX_OPERATOR: 14 << 3, PREFIX_ACCOUNT: 0, PREFIX_USER: 20 << 3}
# 11 random bytes give nats-server's 15-character nonce.
_NONCE_BYTES = 11
_URL_SAFE = re.compile(r"[A-Za-z0-9_-]*")


def new_nonce() -> str:
    """A fresh nonce for one connection's INFO: base64url of 11 random bytes, unpadded."""
    return base64.urlsafe_b64encode(os.urandom(_NONCE_BYTES)).rstrip(b"=").decode()


def public_key_bytes(public_key: object, kind: str) -> bytes | None:
    """The 32 Ed25519 key bytes of a public nkey of `kind` (PREFIX_USER, ...), or None when it is not one."""
    if not isinstance(public_key, str) or not public_key.startswith(kind):
        return None
    try:
        raw = base64.b32decode(public_key + "=" * (-len(public_key) % 8))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 35 or raw[0] != _PREFIX_BYTES[kind]:
        return None
    if binascii.crc_hqx(raw[:-2], 0) != int.from_bytes(raw[-2:], "little"):
        return None
    return raw[1:33]


def user_key_bytes(public_key: object) -> bytes | None:
    """The 32 Ed25519 key bytes of a public user nkey (`U...`), or None when it is not one."""
    return public_key_bytes(public_key, PREFIX_USER)


def _signature_bytes(sig: str) -> bytes | None:
    try:
        if _URL_SAFE.fullmatch(sig):
            return base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
        return base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError):
        return None


def signature_valid(public_key: str, nonce: str, sig: str) -> bool:
    """Whether `sig` is the signature of `nonce` by the holder of user key `public_key`."""
    key = user_key_bytes(public_key)
    signature = _signature_bytes(sig) if sig else None
    if key is None or signature is None:
        return False
    return signed_by(key, nonce.encode(), signature)


def signed_by(key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether `signature` is an Ed25519 signature of `message` by the 32-byte public `key`."""
    import nacl.exceptions
    import nacl.signing

    try:
        nacl.signing.VerifyKey(key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError, TypeError):
        return False
    return True
