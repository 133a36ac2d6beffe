"""Version 1 JWTs (as old nsc made them, and as nats.py's own tests still use): an operator, its
accounts and a user in the v1 layout (kind in a top-level `type`, header alg `ed25519`, the signature
over the claims part alone) log in on both brokers, with no subscription limit unless the user names
one (the old `max` limit is ignored); a v1 user signed the v2 way is an `Authorization Violation`."""

from __future__ import annotations

import base64
import json

import nkeys
import pytest
from auth_wire import WireClient
from jwt_mint import Key, account_key, user_key

AUTH_VIOLATION = b"-ERR 'Authorization Violation'\r\n"
V1_ACCOUNT_LIMITS = {"subs": -1, "conn": -1, "imports": -1, "exports": -1, "data": -1, "payload": -1,
                     "wildcards": True}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def v1_jwt(kind: str, subject: Key | str, signer: Key, nats: dict | None = None, sign_header: bool = False) -> str:
    """A version 1 JWT of `kind` for `subject`; `sign_header` signs header and claims, as v2 does."""
    claims = {"jti": "V1", "iat": 1553840000, "iss": signer.public, "name": kind,
              "sub": subject if isinstance(subject, str) else subject.public, "type": kind}
    if nats is not None:
        claims["nats"] = nats
    header, body = _b64(json.dumps({"typ": "jwt", "alg": "ed25519"}).encode()), _b64(json.dumps(claims).encode())
    signed = f"{header}.{body}" if sign_header else body
    return f"{header}.{body}.{_b64(nkeys.from_seed(bytearray(signer.seed)).sign(signed.encode()))}"


@pytest.fixture
def v1_site():
    operator = Key.new(nkeys.PREFIX_BYTE_OPERATOR)
    account = account_key()
    account_jwt = v1_jwt("account", account, operator, {"limits": V1_ACCOUNT_LIMITS})
    config = (f"operator: {v1_jwt('operator', operator, operator)}\nresolver: MEMORY\n"
              f"resolver_preload: {{\n  {account.public}: {account_jwt}\n}}\n")
    return config, account


def _login(server, user: Key, token: str) -> WireClient:
    client = WireClient(server.port)
    client.connect(jwt=token, sig=user.sign(client.info["nonce"]))
    return client


@pytest.mark.parametrize("limits", [{}, {"max": 1}])
def test_a_v1_user_of_a_v1_account_logs_in_and_subscribes(server_kind, server_factory, v1_site, limits):
    config, account = v1_site
    server = server_factory(server_kind, config)
    user = user_key()
    with _login(server, user, v1_jwt("user", user, account, {"pub": {}, "sub": {}, **limits})) as client:
        assert client.read_line() == b"PONG"
        assert client.exchange(b"SUB a 1\r\nSUB b 2\r\nPUB a 2\r\nhi\r\n") == b"MSG a 1 2\r\nhi\r\nPONG\r\n"


def test_a_v1_user_with_a_subscription_limit_keeps_it(server_kind, server_factory, v1_site):
    config, account = v1_site
    server = server_factory(server_kind, config)
    user = user_key()
    with _login(server, user, v1_jwt("user", user, account, {"pub": {}, "sub": {}, "subs": 1})) as client:
        assert client.read_line() == b"PONG"
        assert client.exchange(b"SUB a 1\r\nSUB b 2\r\n") == b"-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n"


def test_a_v1_user_signed_the_v2_way_is_refused(server_kind, server_factory, v1_site):
    config, account = v1_site
    server = server_factory(server_kind, config)
    user = user_key()
    token = v1_jwt("user", user, account, {"pub": {}, "sub": {}}, sign_header=True)
    with _login(server, user, token) as client:
        assert client.read_line() + b"\r\n" == AUTH_VIOLATION
