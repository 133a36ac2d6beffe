"""Who may read the monitoring port: everyone (nats-server's monitoring has no login), or, with the edgenats
settings `http_user` and `http_password`, HTTP Basic authentication with that user and password (plain or a
bcrypt hash, as client passwords).

A bcrypt check costs tens of milliseconds on a Pi and the dashboard asks several times a second, so an
Authorization header that passed once is remembered (its SHA-256, for as long as the settings stay) and
later requests with it skip the hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from edgenats.auth import verify_password

REALM_HEADER = ("WWW-Authenticate", 'Basic realm="edgenats monitoring", charset="UTF-8"')


class MonitorAccess:
    """Checks requests' Authorization headers against the configured monitoring user, if any."""

    def __init__(self) -> None:
        self._settings: tuple[str, str] = ("", "")
        self._accepted: set[bytes] = set()

    def allows(self, user: str, password: str, authorization: str) -> bool:
        """Whether a request with `authorization` may read the port when `user`/`password` are configured
        ("" user: no login required)."""
        if not user:
            return True
        if (user, password) != self._settings:
            self._settings, self._accepted = (user, password), set()
        digest = hashlib.sha256(authorization.encode("latin-1", "replace")).digest()
        if digest in self._accepted:
            return True
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            offered_user, _, offered_password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        same_user = hmac.compare_digest(offered_user.encode(), user.encode())
        if not (same_user and verify_password(password, offered_password)):
            return False
        self._accepted.add(digest)
        return True
