"""Credentials a soliciting leaf puts in its CONNECT: user/password or token from the URL, an nkey
seed, or a `.creds` file (user JWT plus nkey seed). Seeds sign the hub's nonce (Ed25519, unpadded
base64url), which is what nats-server verifies.
"""

from __future__ import annotations

import base64
import re

from edgenats.leafnode.config import RemoteSettings, RemoteURL

_CREDS_BLOCK = re.compile(r"-{3,}[^\n]*-{3,}\r?\n(.+?)\r?\n-{3,}[^\n]*-{3,}", re.DOTALL)


class CredentialsError(Exception):
    """A credentials file or seed that cannot be used."""


def read_creds_file(path: str) -> tuple[str, bytes]:
    """(user JWT, nkey seed) from a `.creds` file: the first two framed blocks, JWT first."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as error:
        raise CredentialsError(f"cannot read credentials {path!r}: {error}") from None
    blocks = [block.strip() for block in _CREDS_BLOCK.findall(text)]
    if len(blocks) < 2 or not blocks[1].startswith("SU"):
        raise CredentialsError(f"{path!r} is not a NATS credentials file (JWT and user seed)")
    return blocks[0], blocks[1].encode()


def sign_nonce(seed: bytes, nonce: str) -> tuple[str, str]:
    """(public nkey, signature of the nonce) for a user seed."""
    import nkeys

    try:
        keypair = nkeys.from_seed(seed)
    except Exception as error:  # nkeys raises its own error types for every kind of bad seed
        raise CredentialsError(f"invalid nkey seed: {error}") from None
    try:
        signature = keypair.sign(nonce.encode())
        public = keypair.public_key.decode()
    finally:
        keypair.wipe()
    return public, base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def connect_credentials(remote: RemoteSettings, url: RemoteURL, nonce: str) -> dict:
    """The credential fields of CONNECT for this remote and URL, given the hub's nonce ("" if none)."""
    fields: dict = {}
    if remote.credentials:
        jwt, seed = read_creds_file(remote.credentials)
        fields["jwt"] = jwt
        fields["sig"] = sign_nonce(seed, nonce)[1]
    elif remote.nkey_seed:
        public, signature = sign_nonce(remote.nkey_seed.encode(), nonce)
        fields["nkey"] = public
        fields["sig"] = signature
    elif url.user and url.password:
        fields["user"] = url.user
        fields["pass"] = url.password
    elif url.user:
        # A user part alone may be a token; nats-server sends it both ways and the hub picks.
        fields["user"] = url.user
        fields["auth_token"] = url.user
    return fields
