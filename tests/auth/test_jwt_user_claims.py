"""A user JWT's claims enforced on both brokers: `pub`/`sub` permissions (or the account's
`default_permissions`), `resp`, the `subs` and
`payload` limits, `src`, `allowed_connection_types`, `times` windows, and the expiry of the user
(or its time window) or of its account ending a session."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import nats
import pytest
from auth_wire import WireClient
from edgenats.auth.jwt_codec import encode_jwt
from jwt_mint import Operator, account_key, user_jwt, user_key, write_creds
from servers import free_port, wait_for_port

AUTH_VIOLATION = b"-ERR 'Authorization Violation'\r\n"


@pytest.fixture
def trust():
    operator = Operator()
    operator.a = account_key()
    operator.add_account(operator.a, "A")
    return operator


def _login(port: int, trust: Operator, claims: dict | None = None, protocol: int = 0, **top) -> WireClient:
    user = user_key()
    client = WireClient(port)
    client.connect(jwt=user_jwt(user, trust.a, claims=claims, **top), sig=user.sign(client.info["nonce"]),
                   protocol=protocol)
    return client


def test_publish_and_subscribe_permissions(server_kind, server_factory, trust):
    server = server_factory(server_kind, trust.config())
    claims = {"pub": {"allow": ["ok.>"], "deny": ["ok.secret"]}, "sub": {"allow": ["ok.>"], "deny": ["ok.hidden"]}}
    with _login(server.port, trust, claims) as client:
        assert client.read_line() == b"PONG"
        assert client.exchange(b"SUB ok.> 1\r\nSUB no 2\r\nSUB ok.hidden 3\r\nPUB ok.a 1\r\nx\r\nPUB no 1\r\ny\r\n"
                               b"PUB ok.secret 1\r\nz\r\n") == (
            b"-ERR 'Permissions Violation for Subscription to \"no\"'\r\n"
            b"-ERR 'Permissions Violation for Subscription to \"ok.hidden\"'\r\n"
            b"MSG ok.a 1 1\r\nx\r\n"
            b"-ERR 'Permissions Violation for Publish to \"no\"'\r\n"
            b"-ERR 'Permissions Violation for Publish to \"ok.secret\"'\r\nPONG\r\n")


@pytest.mark.parametrize("own", [None, {"pub": {"allow": ["x", "z"]}}], ids=["defaults", "own-permissions"])
def test_the_accounts_default_permissions_apply_to_users_without_their_own(server_kind, server_factory, trust, own):
    trust.add_account(trust.a, "A", default_permissions={"pub": {"deny": ["x"]}, "sub": {"deny": ["y"]}})
    server = server_factory(server_kind, trust.config())
    with _login(server.port, trust, own) as client:
        assert client.read_line() == b"PONG"
        denied = (b"-ERR 'Permissions Violation for Publish to \"x\"'\r\n"
                  b"-ERR 'Permissions Violation for Subscription to \"y\"'\r\n") if own is None else b""
        assert client.exchange(b"PUB x 1\r\na\r\nSUB y 1\r\n") == denied + b"PONG\r\n"


def test_resp_lets_a_service_answer_once_each_request(server_kind, server_factory, trust):
    server = server_factory(server_kind, trust.config())
    with _login(server.port, trust, {"sub": {"allow": ["svc"]}, "resp": {"max": 1, "ttl": 0}}) as service, \
            _login(server.port, trust) as requester:
        assert service.read_line() == requester.read_line() == b"PONG"
        assert service.exchange(b"SUB svc 1\r\n") == b"PONG\r\n"
        assert requester.exchange(b"SUB inbox.1 9\r\nPUB svc inbox.1 1\r\nq\r\n") == b"PONG\r\n"
        assert service.read_until(b"q\r\n") == b"MSG svc 1 inbox.1 1\r\nq\r\n"
        assert service.exchange(b"PUB inbox.1 1\r\na\r\nPUB inbox.1 1\r\nb\r\nPUB other 1\r\nc\r\n") == (
            b"-ERR 'Permissions Violation for Publish to \"inbox.1\"'\r\n"
            b"-ERR 'Permissions Violation for Publish to \"other\"'\r\nPONG\r\n")
        assert requester.exchange(b"") == b"MSG inbox.1 9 1\r\na\r\nPONG\r\n"


def test_the_subs_limit(server_kind, server_factory, trust):
    server = server_factory(server_kind, trust.config())
    with _login(server.port, trust, {"subs": 1}) as client:
        assert client.read_line() == b"PONG"
        assert client.exchange(b"SUB a 1\r\nSUB b 2\r\n") == b"-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n"


def test_the_payload_limit_is_in_the_connect_info_and_enforced(server_kind, server_factory, trust):
    server = server_factory(server_kind, trust.config())
    with _login(server.port, trust, {"payload": 8}, protocol=1) as client:
        assert client.read_line() == b"PONG"
        info = json.loads(client.read_line()[len(b"INFO "):])
        assert info["max_payload"] == 8
        client.send(b"PUB a 9\r\n123456789\r\n")
        assert client.read_to_close() == b"-ERR 'Maximum Payload Violation'\r\n"


def test_a_user_jwt_without_limits_may_neither_subscribe_nor_publish_a_payload(server_kind, server_factory, trust):
    server = server_factory(server_kind, trust.config())
    user = user_key()
    token = encode_jwt({"sub": user.public, "name": "bare", "nats": {"type": "user"}}, trust.a.seed)
    with WireClient(server.port) as client:
        client.connect(jwt=token, sig=user.sign(client.info["nonce"]), protocol=1)
        # The CONNECT's PONG, then the INFO with the limits; nats-server says at once (from a goroutine,
        # so before or after these) that no subscription is allowed.
        lines = [client.read_line() for _ in range(2)]
        while not lines[-1].startswith(b"INFO "):
            lines.append(client.read_line())
        assert json.loads(lines[-1][len(b"INFO "):])["max_payload"] == 0
        seen = [*lines, *client.exchange(b"SUB a 1\r\nPUB a 0\r\n\r\n").splitlines()]
        refused = b"-ERR 'maximum subscriptions exceeded'"
        while seen.count(refused) < 2:  # nats-server's own may also come after the PING's PONG
            seen.append(client.read_line())
        assert seen.count(refused) == 2
        client.send(b"PUB a 1\r\nx\r\n")
        assert client.read_to_close() == b"-ERR 'Maximum Payload Violation'\r\n"


@pytest.mark.parametrize("networks, allowed", [(["127.0.0.1/32"], True), (["10.0.0.0/8"], False),
                                               (["127.0.0.1"], False)],
                         ids=["host", "other-network", "no-mask"])
def test_src_networks(server_kind, server_factory, trust, networks, allowed):
    server = server_factory(server_kind, trust.config())
    with _login(server.port, trust, {"src": networks}) as client:
        if allowed:
            assert client.read_line() == b"PONG"
        else:
            assert client.read_to_close() == AUTH_VIOLATION


@pytest.mark.parametrize("types, allowed", [(["WEBSOCKET"], False), (["STANDARD", "MQTT"], True)],
                         ids=["websocket-only", "standard"])
def test_allowed_connection_types(server_kind, server_factory, trust, types, allowed):
    server = server_factory(server_kind, trust.config())
    with _login(server.port, trust, {"allowed_connection_types": types}) as client:
        if allowed:
            assert client.read_line() == b"PONG"
        else:
            assert client.read_to_close() == AUTH_VIOLATION


@pytest.mark.parametrize("types, allowed", [(["STANDARD"], False), (["WEBSOCKET"], True)],
                         ids=["standard-only", "websocket"])
async def test_allowed_connection_types_over_websocket(server_kind, server_factory, trust, tmp_path, types, allowed):
    ws_port = free_port()
    websocket = f'websocket {{ listen: "127.0.0.1:{ws_port}", no_tls: true }}\n'
    server = server_factory(server_kind, trust.config() + websocket)
    wait_for_port(ws_port, server.process, server.log_path)
    user = user_key()
    token = user_jwt(user, trust.a, claims={"allowed_connection_types": types})
    creds = write_creds(tmp_path / "ws.creds", token, user)
    connecting = nats.connect(f"ws://127.0.0.1:{ws_port}", user_credentials=str(creds), allow_reconnect=False,
                              connect_timeout=2)
    if not allowed:
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await connecting
        return
    client = await connecting
    try:
        assert client.is_connected
    finally:
        await client.close()


def _window(start: datetime, end: datetime) -> dict:
    return {"start": start.strftime("%H:%M:%S"), "end": end.strftime("%H:%M:%S")}


def _around_now(now: datetime) -> dict:
    """A window holding `now` that does not cross midnight."""
    start, end = now - timedelta(minutes=10), now + timedelta(minutes=10)
    if start.date() != now.date():
        start = now.replace(hour=0, minute=0, second=0)
    if end.date() != now.date():
        end = now.replace(hour=23, minute=59, second=59)
    return _window(start, end)


@pytest.mark.parametrize("location, inside", [("UTC", True), ("UTC", False), ("Pacific/Kiritimati", True)],
                         ids=["inside", "outside", "inside-in-its-location"])
def test_times_windows(server_kind, server_factory, trust, location, inside):
    """A window is read in `times_location` (UTC+14 there: the same window read in UTC would refuse)."""
    server = server_factory(server_kind, trust.config())
    now = datetime.now(ZoneInfo(location))
    earlier = now.replace(hour=(now.hour + 12) % 24)
    window = _around_now(now) if inside else _window(earlier, earlier + timedelta(minutes=1))
    with _login(server.port, trust, {"times": [window], "times_location": location}) as client:
        if inside:
            assert client.read_line() == b"PONG"
        else:
            assert client.read_to_close() == AUTH_VIOLATION


def test_a_jwt_expiring_while_connected_ends_the_session(server_kind, server_factory, trust):
    server = server_factory(server_kind, trust.config())
    with _login(server.port, trust, exp=int(time.time()) + 1) as client:
        assert client.read_line() == b"PONG"
        assert client.read_to_close(timeout=3) == b"-ERR 'User Authentication Expired'\r\n"


def test_the_end_of_the_time_window_ends_the_session(server_kind, server_factory, trust):
    server = server_factory(server_kind, trust.config())
    now = datetime.now(UTC)
    end = now + timedelta(seconds=2)
    if end.date() != now.date():
        pytest.skip("the window would cross midnight")
    window = _window(now.replace(hour=0, minute=0, second=0), end)
    with _login(server.port, trust, {"times": [window], "times_location": "UTC"}) as client:
        assert client.read_line() == b"PONG"
        assert client.read_to_close(timeout=4) == b"-ERR 'User Authentication Expired'\r\n"


def test_an_account_jwt_expiring_while_connected_ends_its_sessions(server_kind, server_factory, trust):
    account = account_key()
    trust.add_account(account, "brief", top={"exp": int(time.time()) + 1})
    server = server_factory(server_kind, trust.config())
    user = user_key()
    with WireClient(server.port) as client:
        client.connect(jwt=user_jwt(user, account), sig=user.sign(client.info["nonce"]))
        assert client.read_line() == b"PONG"
        assert client.read_to_close(timeout=4) == b"-ERR 'Account Authentication Expired'\r\n"
