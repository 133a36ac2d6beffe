"""Monitoring in operator mode on both brokers: /connz gives a JWT user's public key as
`authorized_user`, its account key, its JWT, the key that issued it and the account's name, open and
after the session ended; the account's CONNECT event names them too."""

from __future__ import annotations

import json
import time
import urllib.request

import nats
from auth_wire import WireClient
from jwt_mint import Operator, account_key, user_jwt, user_key, write_creds
from servers import free_port
from subscribed import subscribed


def _connz(http_port: int, query: str) -> list[dict]:
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/connz?auth=true&{query}", timeout=5) as reply:
        return json.load(reply)["connections"]


def _closed_entry(http_port: int, name: str, timeout: float = 3.0) -> dict:
    """The closed connection named `name`, once the server has recorded it (it may trail the close)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [entry for entry in _connz(http_port, "state=closed") if entry.get("name") == name]
        if found or time.monotonic() > deadline:
            assert found, f"no closed connection named {name!r}"
            return found[0]
        time.sleep(0.05)


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
    closed = _closed_entry(http_port, "sensor")
    assert {key: closed.get(key) for key in expected} == expected
    assert closed["reason"] == "Authentication Expired"


async def test_connect_events_name_the_jwt_user(server_kind, server_factory, tmp_path):
    operator = Operator()
    account = account_key()
    operator.add_account(account, "plant")
    server = server_factory(server_kind, operator.config())
    admin, user = user_key(), user_key()
    token = user_jwt(user, account, name="dev9")
    system = await nats.connect(server.url, allow_reconnect=False, user_credentials=str(
        write_creds(tmp_path / "sys.creds", user_jwt(admin, operator.system, name="ops"), admin)))
    try:
        events = await system.subscribe(f"$SYS.ACCOUNT.{account.public}.CONNECT")
        await subscribed(system)
        client = await nats.connect(server.url, allow_reconnect=False, name="sensor",
                                    user_credentials=str(write_creds(tmp_path / "u.creds", token, user)))
        await client.close()
        event = json.loads((await events.next_msg(timeout=3)).data)["client"]
    finally:
        await system.close()
    expected = {"acc": account.public, "user": user.public, "name": "sensor", "jwt": token,
                "issuer_key": account.public, "name_tag": "plant"}
    assert {key: event.get(key) for key in expected} == expected
