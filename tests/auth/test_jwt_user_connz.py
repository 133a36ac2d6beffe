"""/connz in operator mode on both brokers: a JWT user's public key as `authorized_user`, its account
key, its JWT, the key that issued it and the account's name, open and after the session ended."""

from __future__ import annotations

import json
import time
import urllib.request

from auth_wire import WireClient
from jwt_mint import Operator, account_key, user_jwt, user_key
from servers import free_port


def _connz(http_port: int, query: str) -> list[dict]:
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/connz?auth=true&{query}", timeout=5) as reply:
        return json.load(reply)["connections"]


def test_connz_shows_the_jwt_user(server_kind, server_factory):
    operator = Operator()
    account, signer = account_key(), account_key()
    operator.add_account(account, "site-a", signing_keys=[signer.public])
    http_port = free_port()
    server = server_factory(server_kind, operator.config(), extra_args=["-m", str(http_port)])
    user = user_key()
    token = user_jwt(user, signer, claims={"issuer_account": account.public}, exp=int(time.time()) + 1)
    expected = {"authorized_user": user.public, "account": account.public, "jwt": token,
                "issuer_key": signer.public, "name_tag": "site-a"}
    with WireClient(server.port) as client:
        client.connect(jwt=token, sig=user.sign(client.info["nonce"]), name="sensor")
        assert client.read_line() == b"PONG"
        [entry] = _connz(http_port, "state=open")
        assert {key: entry.get(key) for key in expected} == expected
        assert client.read_to_close(timeout=3) == b"-ERR 'User Authentication Expired'\r\n"
    [closed] = [entry for entry in _connz(http_port, "state=closed") if entry.get("name") == "sensor"]
    assert {key: closed.get(key) for key in expected} == expected
    assert closed["reason"] == "Authentication Expired"
