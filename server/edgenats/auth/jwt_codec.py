"""NATS JWTs as text: decoding with the issuer's signature checked, encoding (version 2) signed by a
seed, and `.creds` files (a user JWT and its seed between nats-server's armour lines).

A JWT is `header.claims.signature`, each part unpadded base64url; the header is
`{"typ":"JWT","alg":"ed25519-nkey"}` (version 1 tokens say `ed25519`), the signature is Ed25519 by the
`iss` public key over the first two parts as written (over the claims part alone in version 1). A
version 1 token (its kind in a top-level `type`) decodes to the version 2 layout, as the jwt library
migrates it: `type`, `tags` and `issuer_account` move into `nats`, an account gets no JetStream, and a
user has no subscription, data or payload limit unless it names one (its old `max` limit is dropped).
What the claims mean (expiry, permissions, limits) is checked elsewhere: this module only says whether a
token is well formed, of the expected kind, and signed by its issuer. Signing uses the NATS project's
`nkeys` library, imported when a token is made.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time

from .nkey_keys import PREFIX_ACCOUNT, PREFIX_OPERATOR, public_key_bytes, signed_by

ALGORITHM = "ed25519-nkey"
_ALGORITHMS = (ALGORITHM, "ed25519")
CLAIMS_VERSION = 2
_HEADER = {"typ": "JWT", "alg": ALGORITHM}
# The kinds of key that may issue each kind of JWT (an account's own key or one of its signing keys
# for users; the operator's key or a signing key for accounts; operators sign themselves).
ISSUER_KINDS = {"operator": (PREFIX_OPERATOR,), "account": (PREFIX_OPERATOR, PREFIX_ACCOUNT),
                "user": (PREFIX_ACCOUNT,), "activation": (PREFIX_ACCOUNT,)}
# nats-server's names of those kinds, in its "unable to validate expected prefixes" error.
# The limits a version 1 account can have (no JetStream ones: those stay unset, so JetStream is off).
_V1_ACCOUNT_LIMITS = frozenset({"subs", "data", "payload", "imports", "exports", "wildcards", "conn", "leaf",
                                "disallow_bearer"})
_KIND_NAMES = {PREFIX_OPERATOR: "operator", PREFIX_ACCOUNT: "account"}
_CREDS_BLOCK = re.compile(r"-{3,}[^\n]*BEGIN[^\n]*-{3,}\s*\n\s*(\S+)\s*\n\s*-{3,}[^\n]*END[^\n]*-{3,}")


class JwtError(ValueError):
    """A token that is not a well-formed, correctly signed NATS JWT of the expected kind."""


def _b64decode(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise JwtError("invalid base64 in token") from None


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json_part(part: str, what: str) -> dict:
    try:
        value = json.loads(_b64decode(part))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise JwtError(f"invalid {what} in token") from None
    if not isinstance(value, dict):
        raise JwtError(f"invalid {what} in token")
    return value


def decode_jwt(token: str, expected_type: str) -> dict:
    """The claims of `token`, a JWT of `expected_type` ("operator", "account", "user", "activation") whose signature
    is by its `iss` key, a key of a kind that may issue it; raises JwtError otherwise, with the jwt
    library's text where nats-server shows it. Whether the issuer is trusted (an account JWT may be
    self-signed), expiry and other claims are not checked here."""
    if not isinstance(token, str):
        raise JwtError("token is not a string")
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise JwtError("expected 3 chunks")
    header = _json_part(parts[0], "header")
    if str(header.get("typ", "")).upper() != "JWT" or str(header.get("alg", "")).lower() not in _ALGORITHMS:
        raise JwtError(f"unexpected token header {header!r}")
    claims = _json_part(parts[1], "claims")
    version = 1 if "type" in claims else CLAIMS_VERSION
    if version == 1:
        claims = _migrated(claims)
    nats = claims.get("nats")
    if not isinstance(nats, dict) or nats.get("type") != expected_type:
        raise JwtError(f"not {expected_type} claim")
    if version == CLAIMS_VERSION and nats.get("version", 1) != CLAIMS_VERSION:
        raise JwtError(f"unsupported JWT version {nats.get('version')!r}")
    kinds = ISSUER_KINDS[expected_type]
    key = next((found for found in (public_key_bytes(claims.get("iss"), kind) for kind in kinds) if found), None)
    if key is None:
        names = " ".join(_KIND_NAMES[kind] for kind in kinds)
        raise JwtError(f"unable to validate expected prefixes - [{names}]")
    signed = parts[1] if version == 1 else f"{parts[0]}.{parts[1]}"
    if not signed_by(key, signed.encode(), _b64decode(parts[2])):
        raise JwtError(f"claim failed V{version} signature verification")
    return claims


def _migrated(claims: dict) -> dict:
    """Version 1 `claims` in the version 2 layout (`nats.version` 1)."""
    body = dict(claims)
    nats = body.get("nats") or {}
    if not isinstance(nats, dict):
        raise JwtError("invalid claims in token")
    nats = dict(nats)
    kind = body.pop("type")
    nats["type"] = kind
    for moved in ("tags", "issuer_account"):
        if moved in body:
            nats[moved] = body.pop(moved)
    if kind == "user":
        nats.pop("max", None)
        nats = {"subs": -1, "data": -1, "payload": -1, **nats}
    if kind == "account" and isinstance(nats.get("limits"), dict):
        nats["limits"] = {key: value for key, value in nats["limits"].items() if key in _V1_ACCOUNT_LIMITS}
    nats["version"] = 1
    body["nats"] = nats
    return body


def _claims_id(claims: dict) -> str:
    """A repeatable id for `claims`: base32 of SHA-512/256 of the common fields, as the jwt library makes `jti`."""
    import hashlib  # OpenSSL's libcrypto: loaded where a jti is computed, not by every broker

    common = {key: claims[key] for key in ("aud", "exp", "iat", "iss", "name", "sub", "nbf") if key in claims}
    digest = hashlib.new("sha512_256", json.dumps(common, sort_keys=True).encode()).digest()
    return base64.b32encode(digest).rstrip(b"=").decode()


def encode_jwt(claims: dict, signer_seed: bytes | str) -> str:
    """`claims` (with `sub`, `nats.type` and the kind's fields) signed by the seed's key: sets `iss`,
    `iat` (unless given), `jti` and `nats.version`."""
    import nkeys

    seed = signer_seed.encode() if isinstance(signer_seed, str) else signer_seed
    signer = nkeys.from_seed(bytearray(seed))
    body = dict(claims)
    body["iss"] = signer.public_key.decode()
    body.setdefault("iat", int(time.time()))
    body["nats"] = {**body.get("nats", {}), "version": CLAIMS_VERSION}
    body["jti"] = _claims_id(body)
    signing_input = f"{_b64encode(json.dumps(_HEADER).encode())}.{_b64encode(json.dumps(body).encode())}"
    return f"{signing_input}.{_b64encode(signer.sign(signing_input.encode()))}"


def parse_creds(text: str) -> tuple[str, str]:
    """The user JWT and nkey seed of a `.creds` file's text; raises JwtError when either is missing."""
    blocks = _CREDS_BLOCK.findall(text)
    if len(blocks) < 2:
        raise JwtError("a creds file needs a JWT block and a seed block")
    return blocks[0], blocks[1]


def format_creds(user_jwt: str, seed: str) -> str:
    """A `.creds` file's text for a user JWT and its seed, in the layout `nsc` writes."""
    return (
        f"-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n"
        "NKEYs are sensitive and should be treated as secrets.\n\n"
        f"-----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\n"
        "*************************************************************\n"
    )
