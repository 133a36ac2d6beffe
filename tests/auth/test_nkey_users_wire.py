"""Nkey users on the wire, against both brokers: the INFO nonce, CONNECT `nkey` + `sig`, the nkey
user's permissions, the log line of a refusal, and nats-py's own `nkeys_seed` login."""

import base64
import json
import os
import re

import nats
import nkeys
import pytest
from auth_wire import WireClient

AUTH_VIOLATION = b"-ERR 'Authorization Violation'\r\n"


def new_user() -> nkeys.KeyPair:
    return nkeys.from_seed(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER))


USER = new_user()
PUBLIC = USER.public_key.decode()
CONFIG = f"""
authorization {{ users: [
  {{ user: plain, password: pl4in }}
  {{ nkey: {PUBLIC}, permissions: {{ publish: ["ok.>", "_INBOX.>"], subscribe: ["ok.>", "_INBOX.>"] }} }}
] }}
"""


def signature(keypair: nkeys.KeyPair, nonce: str) -> str:
    return base64.urlsafe_b64encode(keypair.sign(nonce.encode())).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "config, has_nonce",
    [("", False), ('authorization { token: "t0k3n" }', False),
     ("authorization { users: [ { user: plain, password: pl4in } ] }", False), (CONFIG, True)],
    ids=["no-auth", "token", "password-users", "nkey-users"],
)
def test_info_carries_a_fresh_nonce_only_with_nkey_users(server_kind, server_factory, config, has_nonce):
    server = server_factory(server_kind, config)
    with WireClient(server.port) as first, WireClient(server.port) as second:
        assert ("nonce" in first.info) is has_nonce
        if has_nonce:
            assert re.fullmatch(r"[A-Za-z0-9_-]{15}", first.info["nonce"])
            assert first.info["nonce"] != second.info["nonce"]


def test_signed_nonce_logs_in_with_the_nkey_users_permissions(server_kind, server_factory):
    server = server_factory(server_kind, CONFIG)
    with WireClient(server.port) as client:
        client.connect(nkey=PUBLIC, sig=signature(USER, client.info["nonce"]), protocol=1)
        assert client.read_line() == b"PONG"
        # The INFO that answers a protocol-1 CONNECT carries no nonce.
        after_connect = json.loads(client.read_line()[len(b"INFO "):])
        assert after_connect["connect_info"] is True and "nonce" not in after_connect
        assert client.exchange(b"SUB ok.a 1\r\nPUB ok.a 1\r\nx\r\nPUB no 1\r\ny\r\n") == (
            b"MSG ok.a 1 1\r\nx\r\n-ERR 'Permissions Violation for Publish to \"no\"'\r\nPONG\r\n"
        )


@pytest.mark.parametrize("offer", ["wrong-seed", "missing-sig", "unknown-key", "old-nonce"])
def test_bad_nkey_logins_are_authorization_violations_logged_with_the_address(
    server_kind, server_factory, offer
):
    server = server_factory(server_kind, CONFIG)
    stranger = new_user()
    with WireClient(server.port) as client:
        nonce = client.info["nonce"]
        fields = {
            "wrong-seed": {"nkey": PUBLIC, "sig": signature(stranger, nonce)},
            "missing-sig": {"nkey": PUBLIC},
            "unknown-key": {"nkey": stranger.public_key.decode(), "sig": signature(stranger, nonce)},
            "old-nonce": {"nkey": PUBLIC, "sig": signature(USER, "abcdefghijklmno")},
        }[offer]
        client.connect(**fields)
        assert client.read_to_close() == AUTH_VIOLATION
        port = client.sock.getsockname()[1]
    line = f'127.0.0.1:{port} - cid:{client.info["client_id"]} - authentication error - Nkey "{fields["nkey"]}"'
    assert line in server.log_text()


def test_password_login_failure_is_logged_with_the_address_and_user(server_kind, server_factory):
    server = server_factory(server_kind, CONFIG)
    with WireClient(server.port) as client:
        client.connect(user="plain", **{"pass": "wrong"})
        assert client.read_to_close() == AUTH_VIOLATION
        port = client.sock.getsockname()[1]
    assert f'127.0.0.1:{port} - cid:{client.info["client_id"]} - authentication error - User "plain"' \
        in server.log_text()


async def test_nats_py_logs_in_with_its_nkeys_seed(server_kind, server_factory, tmp_path):
    server = server_factory(server_kind, CONFIG)
    seed_file = tmp_path / "user.nk"
    seed_file.write_bytes(USER.seed)
    nc = await nats.connect(server.url, nkeys_seed=str(seed_file), allow_reconnect=False)

    async def echo(msg):
        await msg.respond(msg.data)

    try:
        sub = await nc.subscribe("ok.echo", cb=echo)
        assert (await nc.request("ok.echo", b"hi", timeout=2)).data == b"hi"
        await sub.unsubscribe()
    finally:
        await nc.close()
