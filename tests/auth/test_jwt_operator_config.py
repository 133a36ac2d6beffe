"""Operator mode's config on both brokers: the operator JWT inline, in a file or in a list, the system
account it names, accounts signed by the operator or its signing key (only the latter when strict),
and the settings nats-server refuses beside trusted operators; and what edgenats
does not run in operator mode yet, refused by name."""

from __future__ import annotations

import pytest
from auth_wire import WireClient
from jwt_mint import Operator, account_key, user_jwt, user_key
from servers import free_port

AUTH_VIOLATION = b"-ERR 'Authorization Violation'\r\n"


def _logs_in(port: int, operator: Operator, account) -> bytes:
    user = user_key()
    with WireClient(port) as client:
        client.connect(jwt=user_jwt(user, account), sig=user.sign(client.info["nonce"]))
        return client.read_line()


@pytest.mark.parametrize("form", ["file", "armoured-file-in-list"])
def test_the_operator_jwt_may_be_a_file_or_a_list(server_kind, server_factory, tmp_path, form):
    operator = Operator()
    account = account_key()
    operator.add_account(account, "A")
    folder = tmp_path / "servers"
    folder.mkdir()
    if form == "file":
        (folder / "op.jwt").write_text(operator.jwt + "\n")
        value = "op.jwt"
    else:
        (folder / "op.jwt").write_text(
            f"-----BEGIN NATS OPERATOR JWT-----\n{operator.jwt}\n------END NATS OPERATOR JWT------\n")
        value = "[op.jwt]"
    server = server_factory(server_kind, operator.config(value))
    assert _logs_in(server.port, operator, account) == b"PONG"


@pytest.mark.parametrize("extra, message", [
    ("authorization { users: [ { user: a, password: b } ] }", "operators do not allow users to be configured directly"),
    ("accounts { X { users: [ { user: a, password: b } ] } }",
     "operators do not allow Accounts to be configured directly"),
    ("no_auth_user: a", "no_auth_user not compatible with Trusted Operator"),
    ("websocket { port: {port}, no_tls: true, no_auth_user: a }", "no_auth_user not compatible with Trusted Operator"),
    ("leafnodes { port: {port}, authorization { users: [ { user: a, password: b } ] } }",
     "operator mode does not allow specifying users in leafnode config"),
    ("system_account: {other}", "system_account in config and operator JWT must be identical"),
    ("operator: missing.jwt", "error parsing operator JWT"),
    ("resolver: FOO", "error parsing account resolver"),
    ("resolver_preload: { {other}: not.a.jwt }", "invalid account JWT"),
], ids=["users", "accounts", "no_auth_user", "ws-no_auth_user", "leaf-users", "other-system-account",
        "missing-file", "bad-resolver", "bad-preload"])
def test_refused_beside_trusted_operators(server_kind, server_factory, extra, message):
    operator = Operator()
    config = operator.config() + extra.replace("{other}", account_key().public).replace("{port}", str(free_port()))
    config += "\n"
    with pytest.raises(RuntimeError) as refused:
        server_factory(server_kind, config)
    assert message in str(refused.value)


def test_the_system_account_must_be_preloaded(server_kind, server_factory):
    operator = Operator()
    del operator.accounts[operator.system.public]
    with pytest.raises(RuntimeError) as refused:
        server_factory(server_kind, operator.config())
    assert "error resolving system account: account missing" in str(refused.value)


@pytest.mark.parametrize("strict", [False, True], ids=["any-key", "strict"])
def test_accounts_and_users_signed_by_identity_or_signing_keys(server_kind, server_factory, strict):
    """With `strict_signing_key_usage` only signing keys sign: the operator's for accounts, an
    account's for its users."""
    operator = Operator(strict=strict)
    by_identity, by_signing_key, user_signer = account_key(), account_key(), account_key()
    operator.add_account(by_identity, "by-identity")
    operator.add_account(by_signing_key, "by-signing-key", signer=operator.signing_key,
                         signing_keys=[user_signer.public])
    server = server_factory(server_kind, operator.config())
    offers = {"account-by-identity": user_jwt(user := user_key(), by_identity),
              "user-by-account-identity": user_jwt(user, by_signing_key),
              "user-by-account-signing-key": user_jwt(user, user_signer,
                                                      claims={"issuer_account": by_signing_key.public})}
    answers = {}
    for case, token in offers.items():
        with WireClient(server.port) as client:
            client.connect(jwt=token, sig=user.sign(client.info["nonce"]))
            answers[case] = client.read_line()
    refused = b"-ERR 'Authorization Violation'"
    assert answers == {"account-by-identity": refused if strict else b"PONG",
                       "user-by-account-identity": refused if strict else b"PONG",
                       "user-by-account-signing-key": b"PONG"}


def test_a_strict_operators_system_account_signed_by_its_own_key_is_refused(server_kind, server_factory):
    operator = Operator(strict=True)
    operator.add_account(operator.system, "SYS")
    with pytest.raises(RuntimeError) as refused:
        server_factory(server_kind, operator.config())
    assert "error resolving system account: account validation failed" in str(refused.value)


def test_a_token_beside_an_operator_logs_nobody_in(server_kind, server_factory):
    server = server_factory(server_kind, Operator().config() + "authorization { token: s3cret }\n")
    with WireClient(server.port) as client:
        assert client.info["auth_required"] is True
        client.connect(auth_token="s3cret")
        assert client.read_to_close() == AUTH_VIOLATION


@pytest.mark.parametrize("extra, message", [
    ("leafnodes { port: {port} }", "accepting leaf connections in operator mode is not supported by edgenats"),
    ("websocket { port: {port}, no_tls: true, authorization { user: a, password: b } }",
     "websocket: a user or token of its own is not used in operator mode"),
], ids=["leaf-listener", "websocket-user"])
def test_what_edgenats_does_not_run_in_operator_mode_is_refused_by_name(server_factory, extra, message):
    config = Operator().config() + extra.replace("{port}", str(free_port())) + "\n"
    with pytest.raises(RuntimeError) as refused:
        server_factory("edgenats", config)
    assert message in str(refused.value)
