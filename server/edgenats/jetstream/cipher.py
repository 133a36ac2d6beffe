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

from edgenats.jetstream.errors import CipherError

CIPHER_FILE = "cipher.json"
_CHECK = b"edgenats stream key check"
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


@dataclass(frozen=True)
class AtRest:
    """The configured encryption: the cipher for new streams and the key (empty: none)."""

    cipher: str
    key: str

    def codec_for(self, folder: Path, created: bool, label: str) -> RecordCodec:
        """The codec of the file stream kept in `folder`; `created` when the stream is new."""
        path = folder / CIPHER_FILE
        if created:
            return self._seal_new(folder, path, label) if self.key else PLAIN
        if not path.exists():
            return PLAIN
        if not self.key:
            raise CipherError(f"stream {label} is encrypted and no jetstream.key is configured")
        return self._open_sealed(path, label)

    # The AEADs load only with a key in use: `cryptography` costs about 7 MB of RSS, too much for every
    # broker on a 512 MB Pi.

    def _seal_new(self, folder: Path, path: Path, label: str) -> RecordCodec:
        from edgenats.jetstream.sealing import SealingCodec, derive_stream_key

        folder.mkdir(parents=True, exist_ok=True)
        salt = os.urandom(16)
        codec = SealingCodec(self.cipher, derive_stream_key(self.key, salt, label))
        document = {"cipher": self.cipher, "salt": _b64(salt), "check": _b64(codec.seal(_CHECK, 0, b"k"))}
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document))
        os.replace(temporary, path)
        return codec

    def _open_sealed(self, path: Path, label: str) -> RecordCodec:
        from edgenats.jetstream.sealing import SealingCodec, derive_stream_key

        try:
            document = json.loads(path.read_text())
            cipher, salt, check = document["cipher"], base64.b64decode(document["salt"]), document["check"]
            codec = SealingCodec(cipher, derive_stream_key(self.key, salt, label))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CipherError(f"stream {label}: unreadable {CIPHER_FILE}: {error}") from None
        try:
            codec.open(base64.b64decode(check), 0, b"k")
        except CipherError:
            raise CipherError(f"stream {label} does not decrypt with the configured jetstream.key "
                              "(wrong key?)") from None
        return codec


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
