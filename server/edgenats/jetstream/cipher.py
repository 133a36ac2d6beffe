"""Encryption at rest (`jetstream { key, cipher }`): the codec a file store seals its row blobs with.

Each file stream created while a key is configured gets its own key, derived (HKDF-SHA256) from the
configured key and a random salt kept in `cipher.json` in the stream's folder, with the cipher
(`chachapoly`: ChaCha20-Poly1305, `aes`: AES-256-GCM) and a sealed check value. A record blob
(message headers, message data) is sealed with a fresh random 12-byte nonce and the message's
sequence and part as associated data, so a blob cannot be moved to another row unnoticed. Subjects
are sealed the same way (and opened when the in-memory index is rebuilt at start); sequences and times
stay readable.

Opening a stream checks the key: a stream sealed with another key, or an encrypted stream while no
key is configured, raises CipherError and the server does not start. A stream created before a key
was configured stays unencrypted (PLAIN).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from edgenats.jetstream.errors import CipherError

CIPHER_FILE = "cipher.json"
NONCE_SIZE = 12
TAG_SIZE = 16
_CHECK = b"edgenats stream key check"
_AEADS = {"chachapoly": ChaCha20Poly1305, "aes": AESGCM}
CIPHER_NAMES = {"chachapoly": "ChaCha20-Poly1305", "aes": "AES-GCM"}


class RecordCodec:
    """The identity codec: rows stored as they are."""

    overhead = 0

    def seal(self, blob: bytes, seq: int, part: bytes) -> bytes:
        return blob

    def open(self, blob: bytes, seq: int, part: bytes) -> bytes:
        return blob

    def seal_subject(self, subject: str, seq: int) -> str | bytes:
        return subject

    def open_subject(self, stored: str | bytes, seq: int) -> str:
        return stored


PLAIN = RecordCodec()


class SealingCodec(RecordCodec):
    """AEAD with one key per stream: nonce + ciphertext + tag per blob."""

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


@dataclass(frozen=True)
class AtRest:
    """The configured encryption: the cipher for new streams and the key (empty: none)."""

    cipher: str
    key: str

    def codec_for(self, folder: Path, created: bool, label: str) -> RecordCodec:
        """The codec of the file stream kept in `folder`; `created` when the stream is new."""
        path = folder / CIPHER_FILE
        if created:
            if not self.key:
                return PLAIN
            folder.mkdir(parents=True, exist_ok=True)
            salt = os.urandom(16)
            codec = SealingCodec(self.cipher, self._derive(salt, label))
            document = {"cipher": self.cipher, "salt": _b64(salt), "check": _b64(codec.seal(_CHECK, 0, b"k"))}
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps(document))
            os.replace(temporary, path)
            return codec
        if not path.exists():
            return PLAIN
        if not self.key:
            raise CipherError(f"stream {label} is encrypted and no jetstream.key is configured")
        try:
            document = json.loads(path.read_text())
            cipher, salt, check = document["cipher"], base64.b64decode(document["salt"]), document["check"]
            codec = SealingCodec(cipher, self._derive(salt, label))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CipherError(f"stream {label}: unreadable {CIPHER_FILE}: {error}") from None
        try:
            codec.open(base64.b64decode(check), 0, b"k")
        except CipherError:
            raise CipherError(f"stream {label} does not decrypt with the configured jetstream.key "
                              "(wrong key?)") from None
        return codec

    def _derive(self, salt: bytes, label: str) -> bytes:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"edgenats stream " + label.encode())
        return hkdf.derive(self.key.encode())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
