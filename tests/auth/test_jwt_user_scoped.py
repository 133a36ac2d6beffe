"""Users signed by a scoped signing key, on both brokers: the scope's template gives their permissions
(`{{name()}}` and `{{tag(x)}}` filled in per user), and a scoped user that brings its own permissions,
or whose template makes an invalid deny subject, is refused."""

from __future__ import annotations

import pytest
from auth_wire import WireClient
from edgenats.auth.jwt_codec import encode_jwt
from jwt_mint import Operator, account_key, user_key

AUTH_VIOLATION = b"-ERR 'Authorization Violation'\r\n"
TEMPLATE = {"pub": {"allow": ["site.{{name()}}.>", "_INBOX.>"], "deny": ["site.{{name()}}.secret"]},
            "sub": {"allow": ["cmd.{{tag(zone)}}", "acct.{{account-name()}}"]},
            "subs": -1, "data": -1, "payload": -1}


@pytest.fixture
def scoped():
    operator = Operator()
    operator.a, operator.scope = account_key(), account_key()
    operator.add_account(operator.a, "plant", signing_keys=[
        {"kind": "user_scope", "key": operator.scope.public, "role": "device", "template": TEMPLATE}])
    return operator


def _scoped_user(scoped: Operator, user, **nats) -> str:
    claims = {"type": "user", "issuer_account": scoped.a.public, "tags": ["zone:north", "zone:south"], **nats}
    return encode_jwt({"sub": user.public, "name": "dev7", "nats": claims}, scoped.scope.seed)


def test_the_scope_template_gives_the_permissions(server_kind, server_factory, scoped):
    server = server_factory(server_kind, scoped.config())
    user = user_key()
    with WireClient(server.port) as client:
        client.connect(jwt=_scoped_user(scoped, user), sig=user.sign(client.info["nonce"]))
        assert client.read_line() == b"PONG"
        assert client.exchange(
            b"SUB cmd.north 1\r\nSUB cmd.south 2\r\nSUB cmd.east 3\r\nSUB acct.plant 4\r\n"
            b"PUB site.dev7.t 1\r\na\r\nPUB site.dev8.t 1\r\nb\r\nPUB site.dev7.secret 1\r\nc\r\n") == (
            b"-ERR 'Permissions Violation for Subscription to \"cmd.east\"'\r\n"
            b"-ERR 'Permissions Violation for Publish to \"site.dev8.t\"'\r\n"
            b"-ERR 'Permissions Violation for Publish to \"site.dev7.secret\"'\r\nPONG\r\n")


@pytest.mark.parametrize("case", ["own-permissions", "own-limits", "invalid-deny"])
def test_refused_scoped_users(server_kind, server_factory, scoped, case):
    if case == "invalid-deny":
        bad = account_key()
        scoped.add_account(bad, "bad", signing_keys=[{"kind": "user_scope", "key": scoped.scope.public,
                                                       "template": {"sub": {"deny": ["x.{{tag(missing)}}"]}}}])
        scoped.a = bad
    server = server_factory(server_kind, scoped.config())
    user = user_key()
    extra = {"own-permissions": {"pub": {"allow": [">"]}}, "own-limits": {"subs": -1}}.get(case, {})
    with WireClient(server.port) as client:
        client.connect(jwt=_scoped_user(scoped, user, **extra), sig=user.sign(client.info["nonce"]))
        assert client.read_to_close() == AUTH_VIOLATION
