"""The AEAD side of encryption at rest: a per-stream key derived from `jetstream.key` and the codec that
seals and opens a file stream's row blobs with it (see `cipher.py` for the format)."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from edgenats.jetstream.errors import CipherError

NONCE_SIZE = 12
TAG_SIZE = 16
_AEADS = {"chachapoly": ChaCha20Poly1305, "aes": AESGCM}


class SealingCodec:
    """AEAD with one key per stream: nonce + ciphertext + tag per blob (cipher.RecordCodec's methods)."""

    overhead = NONCE_SIZE + TAG_SIZE

    def __init__(self, cipher: str, key: bytes) -> None:
        self._aead = _AEADS[cipher](key)

    def seal(self, blob: bytes, seq: int, part: bytes) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, blob, seq.to_bytes(8, "big") + part)

    def open(self, blob: bytes, seq: int, part: bytes) -> bytes:
        try:
            return self._aead.decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], seq.to_bytes(8, "big") + part)
        except InvalidTag:
            raise CipherError(f"message {seq} does not decrypt with this stream's key") from None

    def seal_subject(self, subject: str, seq: int) -> str | bytes:
        return self.seal(subject.encode(), seq, b"s")

    def open_subject(self, stored: str | bytes, seq: int) -> str:
        return self.open(stored, seq, b"s").decode()


def derive_stream_key(configured_key: str, salt: bytes, label: str) -> bytes:
    """The stream's own 32-byte key: HKDF-SHA256 of the configured key with its salt and name."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"edgenats stream " + label.encode())
    return hkdf.derive(configured_key.encode())
