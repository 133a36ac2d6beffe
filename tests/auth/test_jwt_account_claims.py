"""Account JWT claims enforced as nats-server enforces them, against both brokers in operator mode:
the account's connection, subscription and payload limits (a pushed update lowering them closes
the newest connections over the limit and those at the subscription limit; a pushed revocation
closes the users it revokes), exports and imports
between two accounts (and a pushed update withdrawing an export; an export with `token_req` open
only to an import carrying an activation token made out to its account), and the account's JetStream limits
(none: JetStream is not enabled for it; pushed ones turn it on or raise them)."""

from __future__ import annotations

import json
import time

import nats
import nkeys
import pytest
from edgenats.auth.jwt_codec import encode_jwt
from jwt_account_setup import Operator, connect, new_key, system_request, user_key, wire_login, write_creds
from leaf_helpers import request_until_answered, wait_for_no_interest
from subscribed import subscribed

CONNECTIONS_EXCEEDED = "maximum account active connections exceeded"


@pytest.fixture
def operator() -> Operator:
    return Operator()


def _start(server_factory, server_kind, operator: Operator, folder, accounts: dict[str, str], extra: str = ""):
    preload = {operator.sys: operator.account_jwt(operator.sys, "SYS"), **accounts}
    # A short fetch timeout: nats-server asks other servers for an account it lacks (there are none).
    resolver = operator.full_resolver(folder, 'timeout: "200ms"')
    return server_factory(server_kind, operator.config(resolver, preload) + extra)


async def test_connection_and_subscription_limits_and_a_pushed_update(server_factory, server_kind, operator,
                                                                      tmp_path):
    limited = operator.account_jwt(operator.a, "A", limits={"conn": 2, "subs": 1})
    server = _start(server_factory, server_kind, operator, tmp_path / "jwt", {operator.a: limited})
    creds = write_creds(tmp_path / "a.creds", operator.a_seed)
    wire = wire_login(server, creds)
    second = wire_login(server, creds)
    system = await connect(server, write_creds(tmp_path / "sys.creds", operator.sys_seed))
    try:
        with pytest.raises(nats.errors.Error, match=CONNECTIONS_EXCEEDED):
            await connect(server, creds)
        wire.exchange(b"SUB one 1\r\n")
        assert wire.exchange(b"SUB two 2\r\n") == b"-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n"

        # Pushed: one connection at most. The newest one goes, the oldest (the raw one) stays.
        lowered = operator.account_jwt(operator.a, "A", limits={"conn": 1, "subs": 5})
        answer = await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", lowered)
        assert answer["data"]["message"] == "jwt updated"
        assert f"-ERR '{CONNECTIONS_EXCEEDED}'".encode() in second.read_to_close()
        assert wire.exchange(b"") == b"PONG\r\n"

        # Pushed: one subscription, 4-byte payloads. A client at the subscription limit is told and
        # closed (nats-server's check is "at", not "over"); a new one takes the payload limit.
        tight = operator.account_jwt(operator.a, "A", limits={"conn": 1, "subs": 1, "payload": 4})
        assert (await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", tight))["data"]["code"] == 200
        assert wire.read_to_close() == b"-ERR 'maximum subscriptions exceeded'\r\n"
        with wire_login(server, creds) as small:
            assert small.exchange(b"PUB x 4\r\nfour\r\n") == b"PONG\r\n"
            small.send(b"PUB x 5\r\nfives\r\n")
            assert small.read_to_close() == b"-ERR 'Maximum Payload Violation'\r\n"
    finally:
        wire.close()
        second.close()
        await system.close()


async def test_exports_and_imports_between_accounts(server_factory, server_kind, operator, tmp_path):
    exports = [{"type": "stream", "subject": "feed.>"}, {"type": "service", "subject": "svc.time"}]
    exporter = operator.account_jwt(operator.a, "A", exports=exports)
    importer = operator.account_jwt(operator.b, "B", imports=[
        {"type": "stream", "account": operator.a, "subject": "feed.>", "local_subject": "from_a.>"},
        {"type": "service", "account": operator.a, "subject": "svc.time", "local_subject": "time"},
    ])
    server = _start(server_factory, server_kind, operator, tmp_path / "jwt", {operator.a: exporter,
                                                                              operator.b: importer})
    a = await connect(server, write_creds(tmp_path / "a.creds", operator.a_seed))
    b = await connect(server, write_creds(tmp_path / "b.creds", operator.b_seed))
    system = await connect(server, write_creds(tmp_path / "sys.creds", operator.sys_seed))
    try:
        async def answer_time(message):
            await message.respond(b"noon")

        await a.subscribe("svc.time", cb=answer_time)
        await subscribed(a)
        # nats-server may route the import a moment after the exporter subscribed.
        assert (await request_until_answered(b, "time", timeout=5)).data == b"noon"
        feed = await b.subscribe("from_a.>")
        await subscribed(b)
        await a.publish("feed.temp", b"21")
        message = await feed.next_msg(timeout=2)
        assert (message.subject, message.data) == ("from_a.temp", b"21")

        # The exporter withdraws the service: the import no longer reaches it.
        withdrawn = operator.account_jwt(operator.a, "A", exports=exports[:1])
        assert (await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", withdrawn))["data"]["code"] == 200
        await wait_for_no_interest(b, "time", timeout=5)
    finally:
        for client in (a, b, system):
            await client.close()


async def test_jetstream_limits_of_an_account(server_factory, server_kind, operator, tmp_path):
    with_js = operator.account_jwt(operator.a, "A", limits={"mem_storage": 1 << 20, "disk_storage": 1 << 20,
                                                            "streams": 1, "consumer": 4})
    without_js = operator.account_jwt(operator.b, "B")
    store = tmp_path / "js"
    server = _start(server_factory, server_kind, operator, tmp_path / "jwt",
                    {operator.a: with_js, operator.b: without_js}, f'jetstream {{ store_dir: "{store}" }}\n')
    a = await connect(server, write_creds(tmp_path / "a.creds", operator.a_seed))
    b = await connect(server, write_creds(tmp_path / "b.creds", operator.b_seed))
    system = await connect(server, write_creds(tmp_path / "sys.creds", operator.sys_seed))
    try:
        async def create(client, name: str) -> dict:
            config = json.dumps({"name": name, "subjects": [f"{name}.>"], "storage": "memory"}).encode()
            return json.loads((await client.request(f"$JS.API.STREAM.CREATE.{name}", config, timeout=2)).data)

        assert (await create(a, "ONE"))["config"]["name"] == "ONE"
        assert (await create(a, "TWO"))["error"] == {"code": 400, "err_code": 10027,
                                                     "description": "maximum number of streams reached"}
        assert (await create(b, "ONE"))["error"] == {"code": 503, "err_code": 10039,
                                                     "description": "JetStream not enabled for account"}

        # Pushed: B gets JetStream, A two streams.
        enabled = operator.account_jwt(operator.b, "B", limits={"mem_storage": 1 << 20, "disk_storage": 1 << 20,
                                                                "streams": 1, "consumer": 4})
        assert (await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", enabled))["data"]["code"] == 200
        raised = operator.account_jwt(operator.a, "A", limits={"mem_storage": 1 << 20, "disk_storage": 1 << 20,
                                                               "streams": 2, "consumer": 4})
        assert (await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", raised))["data"]["code"] == 200
        assert (await create(b, "ONE"))["config"]["name"] == "ONE"
        assert (await create(a, "TWO"))["config"]["name"] == "TWO"
    finally:
        for client in (a, b, system):
            await client.close()


async def test_a_pushed_revocation_closes_the_users_it_revokes(server_factory, server_kind, operator, tmp_path):
    server = _start(server_factory, server_kind, operator, tmp_path / "jwt",
                    {operator.a: operator.account_jwt(operator.a, "A")})
    revoked = wire_login(server, write_creds(tmp_path / "revoked.creds", operator.a_seed, "revoked"))
    kept = wire_login(server, write_creds(tmp_path / "kept.creds", operator.a_seed, "kept"))
    system = await connect(server, write_creds(tmp_path / "sys.creds", operator.sys_seed))
    try:
        revoking = operator.account_jwt(operator.a, "A", revocations={
            user_key(tmp_path / "revoked.creds"): int(time.time()) + 5})
        assert (await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", revoking))["data"]["code"] == 200
        assert revoked.read_to_close() == b"-ERR 'User Authentication Revoked'\r\n"
        assert kept.exchange(b"") == b"PONG\r\n"
    finally:
        revoked.close()
        kept.close()
        await system.close()



def _activation(operator: Operator, exporter_seed: bytes, importer: str, subject: str, kind: str = "stream") -> str:
    return encode_jwt({"sub": importer, "name": subject, "nats": {"type": "activation", "subject": subject,
                                                                  "kind": kind}}, exporter_seed)


async def test_an_export_with_token_req_needs_an_activation_token(server_factory, server_kind, operator, tmp_path):
    exporter = operator.account_jwt(operator.a, "A", exports=[
        {"type": "stream", "subject": "private.>", "token_req": True}])
    token = _activation(operator, operator.a_seed, operator.b, "private.>")
    importer = operator.account_jwt(operator.b, "B", imports=[
        {"type": "stream", "account": operator.a, "subject": "private.>", "token": token}])
    c_seed, c_key = new_key(nkeys.PREFIX_BYTE_ACCOUNT)
    without_token = operator.account_jwt(c_key, "C", imports=[
        {"type": "stream", "account": operator.a, "subject": "private.>"}])
    server = _start(server_factory, server_kind, operator, tmp_path / "jwt",
                    {operator.a: exporter, operator.b: importer, c_key: without_token})
    a = await connect(server, write_creds(tmp_path / "a.creds", operator.a_seed))
    b = await connect(server, write_creds(tmp_path / "b.creds", operator.b_seed))
    c = await connect(server, write_creds(tmp_path / "c.creds", c_seed))
    system = await connect(server, write_creds(tmp_path / "sys.creds", operator.sys_seed))
    try:
        crossed = await b.subscribe("private.>")
        not_crossed = await c.subscribe("private.>")
        await subscribed(b)
        await c.flush()
        await a.publish("private.report", b"1")
        assert (await crossed.next_msg(timeout=2)).data == b"1"
        await c.flush()
        assert not_crossed.pending_msgs == 0

        # A token made out to B does not activate C's import: the push is refused.
        stolen = operator.account_jwt(c_key, "C", imports=[
            {"type": "stream", "account": operator.a, "subject": "private.>", "token": token}])
        answer = await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", stolen)
        assert answer == {"error": {"account": c_key, "code": 500, "description": (
            "jwt validation failed - validation errors: [activation token doesn't match account it is being "
            'included in, "private.>"]')}}
    finally:
        for client in (a, b, c, system):
            await client.close()


async def test_an_import_runs_once_its_exporter_is_pushed_and_in_use(server_factory, server_kind, operator, tmp_path):
    importer = operator.account_jwt(operator.b, "B", imports=[
        {"type": "stream", "account": operator.a, "subject": "feed.>"}])
    server = _start(server_factory, server_kind, operator, tmp_path / "jwt", {operator.b: importer})
    b = await connect(server, write_creds(tmp_path / "b.creds", operator.b_seed))
    system = await connect(server, write_creds(tmp_path / "sys.creds", operator.sys_seed))
    try:
        feed = await b.subscribe("feed.>")
        await subscribed(b)
        exporter = operator.account_jwt(operator.a, "A", exports=[{"type": "stream", "subject": "feed.>"}])
        assert (await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", exporter))["data"]["code"] == 200
        a = await connect(server, write_creds(tmp_path / "a.creds", operator.a_seed))
        try:
            # nats-server completes the import a moment after the exporter's login: publish until one crosses.
            for _ in range(20):
                await a.publish("feed.temp", b"21")
                try:
                    message = await feed.next_msg(timeout=0.1)
                    break
                except nats.errors.TimeoutError:
                    continue
            else:
                pytest.fail("the import never carried a message")
            assert (message.subject, message.data) == ("feed.temp", b"21")
        finally:
            await a.close()
    finally:
        await b.close()
        await system.close()
