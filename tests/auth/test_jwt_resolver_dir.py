"""The directory resolver (`resolver { type: full, dir }`) against both brokers: what `nsc push` sends
(`$SYS.REQ.CLAIMS.UPDATE` and the per-account form) stored as `<dir>/<key>.jwt` and answered with
nats-server's JSON, lookups and the account list, the refusals (not a JWT, not an account JWT, a key
that is not the JWT's subject), deletes (refused without `allow_delete`, then a delete request signed
by the operator renames the file, closes the account's clients and refuses its logins), and a restart
that reads the folder (and the folder's `limit`); a reload stores a newer preloaded JWT in it; a
strict operator's own key signs no account."""

from __future__ import annotations

import signal
import time

import nats
import nkeys
import pytest
from jwt_account_setup import Operator, connect, new_key, system_request, wire_login, write_creds


@pytest.fixture
def operator() -> Operator:
    return Operator()


def _start(server_factory, server_kind, operator: Operator, folder, *extra: str):
    preload = {operator.sys: operator.account_jwt(operator.sys, "SYS")}
    return server_factory(server_kind, operator.config(operator.full_resolver(folder, *extra), preload))


async def test_a_pushed_account_is_stored_listed_looked_up_and_logs_in(server_factory, server_kind, operator,
                                                                       tmp_path):
    folder = tmp_path / "jwt"
    server = _start(server_factory, server_kind, operator, folder)
    system = await connect(server, write_creds(tmp_path / "sys.creds", operator.sys_seed))
    try:
        account_jwt = operator.account_jwt(operator.a, "A")
        answer = await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", account_jwt)
        assert answer == {"data": {"account": operator.a, "code": 200, "message": "jwt updated"}}
        # Signed by the operator's signing key, on the per-account subject.
        signed_jwt = operator.account_jwt(operator.b, "B", seed=operator.signing_seed)
        answer = await system_request(system, f"$SYS.REQ.ACCOUNT.{operator.b}.CLAIMS.UPDATE", signed_jwt)
        assert answer == {"data": {"account": operator.b, "code": 200, "message": "jwt updated"}}
        assert (folder / f"{operator.a}.jwt").read_text() == account_jwt
        lookup = await system.request(f"$SYS.REQ.ACCOUNT.{operator.a}.CLAIMS.LOOKUP", b"", timeout=2)
        assert lookup.data.decode() == account_jwt
        listed = await system_request(system, "$SYS.REQ.CLAIMS.LIST")
        assert listed == {"data": sorted([operator.sys, operator.a, operator.b])}
        user = await connect(server, write_creds(tmp_path / "a.creds", operator.a_seed))
        await user.close()
    finally:
        await system.close()


async def test_refused_updates_get_nats_servers_errors(server_factory, server_kind, operator, tmp_path):
    server = _start(server_factory, server_kind, operator, tmp_path / "jwt")
    system = await connect(server, write_creds(tmp_path / "sys.creds", operator.sys_seed))
    try:
        def error(account: str, description: str) -> dict:
            return {"error": {"account": account, "code": 500, "description": description}}

        assert await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", "garbage") == error(
            "n/a", "jwt update resulted in error - expected 3 chunks")
        assert await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", operator.jwt()) == error(
            "n/a", "jwt update resulted in error - not account claim")
        wrong_subject = f"$SYS.REQ.ACCOUNT.{operator.b}.CLAIMS.UPDATE"
        assert await system_request(system, wrong_subject, operator.account_jwt(operator.a, "A")) == error(
            operator.b, "jwt update resulted in error - subject does not match jwt content")
        too_many = operator.account_jwt(operator.a, "A", limits={"exports": 0},
                                        exports=[{"type": "stream", "subject": "a.>"}])
        answer = await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", too_many)
        assert answer["error"]["description"].startswith("jwt validation failed - validation errors: [")
        assert "the account contains more exports than allowed by the operator" in answer["error"]["description"]
        # Nothing was stored: an account nobody pushed is looked up as an empty message.
        lookup = await system.request(f"$SYS.REQ.ACCOUNT.{operator.a}.CLAIMS.LOOKUP", b"", timeout=2)
        assert lookup.data == b""
    finally:
        await system.close()


async def test_delete_needs_allow_delete_and_an_operator_signature(server_factory, server_kind, operator,
                                                                    tmp_path):
    folder = tmp_path / "jwt"
    kept = _start(server_factory, server_kind, operator, folder)
    system = await connect(kept, write_creds(tmp_path / "sys.creds", operator.sys_seed))
    try:
        request = operator.delete_request([operator.a])
        answer = await system_request(system, "$SYS.REQ.CLAIMS.DELETE", request)
        assert answer == {"error": {"code": 500, "description": f"delete accounts request by {operator.key} failed"
                                                                 " - delete must be enabled in server config"}}
    finally:
        await system.close()
    kept.stop()

    server = _start(server_factory, server_kind, operator, folder, "allow_delete: true")
    system = await connect(server, write_creds(tmp_path / "sys.creds", operator.sys_seed))
    a_creds = write_creds(tmp_path / "a.creds", operator.a_seed)
    try:
        await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", operator.account_jwt(operator.a, "A"))
        connected = wire_login(server, a_creds)
        by_account = operator.delete_request([operator.a], seed=operator.a_seed)
        assert await system_request(system, "$SYS.REQ.CLAIMS.DELETE", by_account) == {"error": {
            "code": 500, "description": f"delete accounts request by {operator.a} failed - not trusted"}}
        system_too = operator.delete_request([operator.a, operator.sys])
        assert await system_request(system, "$SYS.REQ.CLAIMS.DELETE", system_too) == {"error": {
            "code": 500,
            "description": f"delete accounts request by {operator.key} failed - not allowed to delete system account"}}
        answer = await system_request(system, "$SYS.REQ.CLAIMS.DELETE", operator.delete_request([operator.a]))
        assert answer == {"data": {"code": 200, "message": "deleted 1 accounts"}}
        assert {path.name for path in folder.iterdir()} == {f"{operator.a}.jwt.deleted", f"{operator.sys}.jwt"}
        assert (await system_request(system, "$SYS.REQ.CLAIMS.LIST")) == {"data": [operator.sys]}
        # The account's connected client is closed; a new login is refused.
        assert connected.read_to_close() == b"-ERR 'Account Authentication Expired'\r\n"
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await connect(server, a_creds)
    finally:
        await system.close()


async def test_a_restart_reads_the_folder(server_factory, server_kind, operator, tmp_path):
    folder = tmp_path / "jwt"
    first = _start(server_factory, server_kind, operator, folder)
    system = await connect(first, write_creds(tmp_path / "sys.creds", operator.sys_seed))
    account_jwt = operator.account_jwt(operator.a, "A")
    try:
        await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", account_jwt)
    finally:
        await system.close()
    first.stop()

    server = _start(server_factory, server_kind, operator, folder, "limit: 2")
    user = await connect(server, write_creds(tmp_path / "a.creds", operator.a_seed))
    await user.close()
    system = await connect(server, write_creds(tmp_path / "sys.creds", operator.sys_seed))
    try:
        lookup = await system.request(f"$SYS.REQ.ACCOUNT.{operator.a}.CLAIMS.LOOKUP", b"", timeout=2)
        assert lookup.data.decode() == account_jwt
        # The folder holds its limit of two accounts: a third is refused, an update of one is not.
        third = await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", operator.account_jwt(operator.b, "B"))
        assert third == {"error": {"account": operator.b, "code": 500,
                                   "description": "jwt update resulted in error - jwt store is full"}}
        renamed = await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", operator.account_jwt(operator.a, "A2"))
        assert renamed["data"]["code"] == 200
    finally:
        await system.close()


async def test_a_reload_stores_a_newer_preloaded_jwt_in_the_folder(server_factory, server_kind, operator, tmp_path):
    folder = tmp_path / "jwt"
    issued = int(time.time()) - 60
    preload = {operator.sys: operator.account_jwt(operator.sys, "SYS"),
               operator.a: operator.account_jwt(operator.a, "A", iat=issued)}
    server = server_factory(server_kind, operator.config(operator.full_resolver(folder), preload))
    system = await connect(server, write_creds(tmp_path / "sys.creds", operator.sys_seed))
    try:
        newer = operator.account_jwt(operator.a, "A", iat=issued + 30)
        server.config_path.write_text(operator.config(operator.full_resolver(folder), {**preload, operator.a: newer}))
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while (folder / f"{operator.a}.jwt").read_text() != newer:
            assert time.monotonic() < deadline, "the reloaded preload never reached the folder"
            await system.flush()
        lookup = await system.request(f"$SYS.REQ.ACCOUNT.{operator.a}.CLAIMS.LOOKUP", b"", timeout=2)
        assert lookup.data.decode() == newer
    finally:
        await system.close()


async def test_a_strict_operator_refuses_accounts_its_own_key_signed(server_factory, server_kind, tmp_path):
    operator = Operator(strict=True)
    # Under a strict operator users too are signed by a signing key of their account.
    user_signing_seed, user_signing_key = new_key(nkeys.PREFIX_BYTE_ACCOUNT)
    system_jwt = operator.account_jwt(operator.sys, "SYS", signing_keys=[user_signing_key])
    config = operator.config(operator.full_resolver(tmp_path / "jwt"), {operator.sys: system_jwt})
    server = server_factory(server_kind, config)
    creds = write_creds(tmp_path / "sys.creds", user_signing_seed, issuer_account=operator.sys)
    system = await connect(server, creds)
    try:
        by_operator = operator.account_jwt(operator.a, "A", seed=operator.seed)
        assert await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", by_operator) == {"error": {
            "account": operator.a, "code": 500,
            "description": "jwt update resulted in error - operator requires issuer to be a signing key"}}
        answer = await system_request(system, "$SYS.REQ.CLAIMS.UPDATE", operator.account_jwt(operator.a, "A"))
        assert answer["data"]["message"] == "jwt updated"
    finally:
        await system.close()
