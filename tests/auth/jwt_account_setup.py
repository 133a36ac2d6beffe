"""An operator, its system account and accounts A and B, minted with the `nkeys` library, for the
account-claims and directory-resolver tests: account and user JWTs, .creds files, the config that
runs either server in operator mode, and a system-account client's requests."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import nats
import nkeys
from auth_wire import WireClient
from edgenats.auth.jwt_codec import encode_jwt, format_creds, parse_creds

UNLIMITED = {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1, "wildcards": True,
             "conn": -1, "leaf": -1}


def new_key(prefix: int) -> tuple[bytes, str]:
    seed = nkeys.encode_seed(os.urandom(32), prefix)
    return seed, nkeys.from_seed(bytearray(seed)).public_key.decode()


class Operator:
    """One operator with a signing key, a system account and two accounts (fresh keys each)."""

    def __init__(self, strict: bool = False) -> None:
        self.seed, self.key = new_key(nkeys.PREFIX_BYTE_OPERATOR)
        self.signing_seed, self.signing_key = new_key(nkeys.PREFIX_BYTE_OPERATOR)
        self.sys_seed, self.sys = new_key(nkeys.PREFIX_BYTE_ACCOUNT)
        self.a_seed, self.a = new_key(nkeys.PREFIX_BYTE_ACCOUNT)
        self.b_seed, self.b = new_key(nkeys.PREFIX_BYTE_ACCOUNT)

        # Made once: a config written again for a reload must name the same operator JWT.
        self.strict = strict
        operator = {"type": "operator", "signing_keys": [self.signing_key], "system_account": self.sys}
        if strict:
            operator["strict_signing_key_usage"] = True
        self._jwt = encode_jwt({"sub": self.key, "name": "op", "nats": operator}, self.seed)

    def jwt(self) -> str:
        return self._jwt

    def account_jwt(self, key: str, name: str, *, seed: bytes | None = None, iat: int | None = None,
                    **fields) -> str:
        """An account JWT signed by the operator (its signing key when strict, or `seed`); `limits` are
        merged over unlimited ones."""
        nats_fields = {"type": "account", **fields, "limits": {**UNLIMITED, **fields.get("limits", {})}}
        claims = {"sub": key, "name": name, "nats": nats_fields}
        if iat is not None:
            claims["iat"] = iat
        return encode_jwt(claims, seed or (self.signing_seed if self.strict else self.seed))

    def delete_request(self, accounts: list[str], seed: bytes | None = None) -> str:
        """A delete request as `nsc delete account` sends: a generic JWT signed by (and about) its issuer."""
        signer = seed or self.seed
        subject = nkeys.from_seed(bytearray(signer)).public_key.decode()
        return encode_jwt({"sub": subject, "nats": {"type": "generic", "accounts": accounts}}, signer)

    def config(self, resolver: str, preload: dict[str, str]) -> str:
        entries = ", ".join(f"{key}: {token}" for key, token in preload.items())
        return (f"operator: {self.jwt()}\nsystem_account: {self.sys}\nresolver: {resolver}\n"
                f"resolver_preload: {{ {entries} }}\n")

    def full_resolver(self, folder: Path, *extra: str) -> str:
        settings = ", ".join((f'type: full, dir: "{folder}"', *extra))
        return f"{{ {settings} }}"


def write_creds(path: Path, account_seed: bytes, name: str = "user", **user_fields) -> str:
    """A user of the account whose seed signs it, as a .creds file; returns the path."""
    seed, key = new_key(nkeys.PREFIX_BYTE_USER)
    claims = {"sub": key, "name": name, "nats": {"type": "user", "pub": {}, "sub": {}, "subs": -1, "data": -1,
                                                 "payload": -1, **user_fields}}
    path.write_text(format_creds(encode_jwt(claims, account_seed), seed.decode()))
    return str(path)


def user_key(creds: Path) -> str:
    """The public key of a .creds file's user."""
    return nkeys.from_seed(bytearray(parse_creds(creds.read_text())[1].encode())).public_key.decode()


def wire_login(server, creds: str) -> WireClient:
    """A raw-socket client logged in with a .creds file (the INFO nonce signed by the user's seed)."""
    client = WireClient(server.port)
    user_jwt, seed = parse_creds(Path(creds).read_text())
    signature = nkeys.from_seed(bytearray(seed.encode())).sign(client.info["nonce"].encode())
    client.connect(jwt=user_jwt, sig=base64.urlsafe_b64encode(signature).rstrip(b"=").decode())
    assert client.read_until(b"PONG\r\n").endswith(b"PONG\r\n")
    return client


async def connect(server, creds: str, **options) -> nats.NATS:
    return await nats.connect(server.url, user_credentials=creds, allow_reconnect=False, connect_timeout=2,
                              **options)


async def system_request(client: nats.NATS, subject: str, payload: str | bytes = b"") -> dict:
    """A system-account request's JSON answer, without its `server` block (each server names itself)."""
    data = payload.encode() if isinstance(payload, str) else payload
    answer = json.loads((await client.request(subject, data, timeout=2)).data)
    assert "server" in answer
    del answer["server"]
    return answer
