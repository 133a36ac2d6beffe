"""Logging in with a user JWT in operator mode, on both brokers: the INFO nonce, CONNECT `jwt` + `sig`,
nats-py's creds file and callbacks, signing keys, bearer tokens, and the logins refused with an
`Authorization Violation` (and logged): no or a wrong signature, an unknown or untrusted account, a
signer the account does not list, a bearer token where the account's limits disallow them, an expired,
not yet valid or revoked user, an expired account."""

from __future__ import annotations

import base64
import json
import re
import time

import nats
import nkeys
import pytest
from auth_wire import WireClient
from jwt_mint import UNLIMITED_ACCOUNT, Key, Operator, account_key, user_jwt, user_key, write_creds
from subscribed import subscribed

AUTH_VIOLATION = b"-ERR 'Authorization Violation'\r\n"


@pytest.fixture
def trust():
    """An operator with account A (a signing key listed) and account B."""
    operator = Operator()
    operator.a, operator.a_signer, operator.b = account_key(), account_key(), account_key()
    operator.add_account(operator.a, "A", signing_keys=[operator.a_signer.public])
    operator.add_account(operator.b, "B")
    return operator


def test_info_asks_for_a_signed_nonce_and_a_user_jwt_logs_in(server_kind, server_factory, trust):
    server = server_factory(server_kind, trust.config())
    user = user_key()
    with WireClient(server.port) as client, WireClient(server.port) as other:
        assert client.info["auth_required"] is True
        assert re.fullmatch(r"[A-Za-z0-9_-]{15}", client.info["nonce"])
        assert client.info["nonce"] != other.info["nonce"]
        client.connect(jwt=user_jwt(user, trust.a), sig=user.sign(client.info["nonce"]))
        assert client.read_line() == b"PONG"
        assert client.exchange(b"SUB a 1\r\nPUB a 2\r\nhi\r\n") == b"MSG a 1 2\r\nhi\r\nPONG\r\n"


async def test_nats_py_logs_in_with_a_creds_file_and_with_callbacks(server_kind, server_factory, trust, tmp_path):
    server = server_factory(server_kind, trust.config())
    first, second = user_key(), user_key()
    creds = write_creds(tmp_path / "dev1.creds", user_jwt(first, trust.a), first)
    token = user_jwt(second, trust.a_signer, claims={"issuer_account": trust.a.public})
    signer = nkeys.from_seed(bytearray(second.seed))
    with_file = await nats.connect(server.url, user_credentials=str(creds), allow_reconnect=False)
    with_callbacks = await nats.connect(server.url, user_jwt_cb=lambda: token.encode(),
                                        signature_cb=lambda nonce: base64.b64encode(signer.sign(nonce.encode())),
                                        allow_reconnect=False)
    try:
        sub = await with_file.subscribe("readings.>")
        await subscribed(with_file)
        await with_callbacks.publish("readings.t1", b"21.5")
        message = await sub.next_msg(timeout=2)
        assert (message.subject, message.data) == ("readings.t1", b"21.5")
    finally:
        await with_file.close()
        await with_callbacks.close()


async def test_accounts_are_apart(server_kind, server_factory, trust):
    server = server_factory(server_kind, trust.config())
    in_a, in_b = user_key(), user_key()
    with WireClient(server.port) as a, WireClient(server.port) as b:
        a.connect(jwt=user_jwt(in_a, trust.a), sig=in_a.sign(a.info["nonce"]))
        b.connect(jwt=user_jwt(in_b, trust.b), sig=in_b.sign(b.info["nonce"]))
        assert a.read_line() == b.read_line() == b"PONG"
        assert b.exchange(b"SUB x 1\r\n") == b"PONG\r\n"
        assert a.exchange(b"SUB x 1\r\nPUB x 1\r\na\r\n") == b"MSG x 1 1\r\na\r\nPONG\r\n"
        assert b.exchange(b"") == b"PONG\r\n"


def test_a_bearer_token_needs_no_signature(server_kind, server_factory, trust):
    server = server_factory(server_kind, trust.config())
    with WireClient(server.port) as client:
        client.connect(jwt=user_jwt(user_key(), trust.a, claims={"bearer_token": True}))
        assert client.read_line() == b"PONG"


def _offer(case: str, trust: Operator, user: Key) -> str:
    now = int(time.time())
    stranger = Operator()
    foreign = account_key()
    stranger.add_account(foreign, "F")
    if case == "revoked":
        revoked = account_key()
        trust.add_account(revoked, "R", revocations={user.public: now + 5})
        return user_jwt(user, revoked, iat=now)
    if case == "all-revoked":
        revoked = account_key()
        trust.add_account(revoked, "R", revocations={"*": now})
        return user_jwt(user, revoked, iat=now - 1)
    if case == "expired-account":
        old = account_key()
        trust.add_account(old, "OLD", top={"exp": now - 5})
        return user_jwt(user, old)
    if case == "bearer-disallowed":
        strict = account_key()
        trust.add_account(strict, "S", limits={**UNLIMITED_ACCOUNT, "disallow_bearer": True})
        return user_jwt(user, strict, claims={"bearer_token": True})
    if case == "account-of-another-operator":
        trust.accounts[foreign.public] = stranger.accounts[foreign.public]
        return user_jwt(user, foreign)
    return {
        "unknown-account": lambda: user_jwt(user, account_key()),
        "unlisted-signing-key": lambda: user_jwt(user, account_key(), claims={"issuer_account": trust.a.public}),
        "expired": lambda: user_jwt(user, trust.a, exp=now - 2),
        "not-yet-valid": lambda: user_jwt(user, trust.a, nbf=now + 60),
    }.get(case, lambda: user_jwt(user, trust.a))()


@pytest.mark.parametrize("case", [
    "missing-sig", "wrong-sig", "unknown-account", "account-of-another-operator", "unlisted-signing-key",
    "expired", "not-yet-valid", "revoked", "all-revoked", "expired-account",
    "bearer-disallowed"])
def test_refused_logins_are_authorization_violations_and_logged(server_kind, server_factory, trust, case):
    user = user_key()
    token = _offer(case, trust, user)
    server = server_factory(server_kind, trust.config())
    with WireClient(server.port) as client:
        fields = {"jwt": token}
        if case != "missing-sig":
            fields["sig"] = (user_key() if case == "wrong-sig" else user).sign(client.info["nonce"])
        client.connect(**fields)
        assert client.read_to_close() == AUTH_VIOLATION
        port = client.sock.getsockname()[1]
    assert f"127.0.0.1:{port} - cid:{client.info['client_id']} - authentication error" in server.log_text()


def test_a_revocation_before_the_users_issue_time_lets_it_in(server_kind, server_factory, trust):
    user = user_key()
    account = account_key()
    trust.add_account(account, "R", revocations={user.public: int(time.time()) - 60})
    server = server_factory(server_kind, trust.config())
    with WireClient(server.port) as client:
        client.connect(jwt=user_jwt(user, account), sig=user.sign(client.info["nonce"]))
        assert client.read_line() == b"PONG"


async def test_a_user_of_the_operators_system_account_reaches_the_server(server_kind, server_factory, trust, tmp_path):
    server = server_factory(server_kind, trust.config())
    admin = user_key()
    creds = write_creds(tmp_path / "sys.creds", user_jwt(admin, trust.system, name="ops"), admin)
    client = await nats.connect(server.url, user_credentials=str(creds), allow_reconnect=False)
    try:
        reply = await client.request("$SYS.REQ.SERVER.PING.VARZ", b"", timeout=2)
        assert json.loads(reply.data)["data"]["system_account"] == trust.system.public
    finally:
        await client.close()


@pytest.mark.parametrize("claims, named", [
    ({"mappings": {"a": [{"subject": "b"}]}}, "subject mappings in account JWTs is not supported"),
    ({"authorization": {"auth_users": ["UABC"]}}, "external authorization (auth callout) in account JWTs"),
], ids=["mappings", "auth-callout"])
def test_account_claims_edgenats_does_not_apply_yet_refuse_the_login(server_factory, trust, claims, named):
    account = account_key()
    trust.add_account(account, "X", **claims)
    server = server_factory("edgenats", trust.config())
    user = user_key()
    with WireClient(server.port) as client:
        client.connect(jwt=user_jwt(user, account), sig=user.sign(client.info["nonce"]))
        assert client.read_to_close() == AUTH_VIOLATION
    assert named in server.log_text()
