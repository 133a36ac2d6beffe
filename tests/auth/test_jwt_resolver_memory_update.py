"""With `resolver: MEMORY`, against both brokers: `$SYS.REQ.ACCOUNT.<key>.CLAIMS.UPDATE` replaces the
JWT of an account in use (skipped for one nobody uses yet) and applies it at once; the refusals get
nats-server's answers (an empty body, a JWT of another account, one no trusted operator signed)."""

from __future__ import annotations

import time

import pytest
from jwt_account_setup import Operator, connect, system_request, user_key, wire_login, write_creds


@pytest.fixture
def operator() -> Operator:
    return Operator()


async def test_a_memory_resolvers_account_is_updated_in_place(server_factory, server_kind, operator, tmp_path):
    preload = {operator.sys: operator.account_jwt(operator.sys, "SYS"),
               operator.a: operator.account_jwt(operator.a, "A")}
    server = server_factory(server_kind, operator.config("MEMORY", preload))
    system = await connect(server, write_creds(tmp_path / "sys.creds", operator.sys_seed))
    subject = f"$SYS.REQ.ACCOUNT.{operator.a}.CLAIMS.UPDATE"
    try:
        def answer(message: str) -> dict:
            return {"data": {"account": operator.a, "code": 200, "message": message}}

        def error(description: str) -> dict:
            return {"error": {"account": operator.a, "code": 500, "description": description}}

        assert await system_request(system, subject, operator.account_jwt(operator.a, "A")) == answer(
            "jwt update skipped")
        creds = write_creds(tmp_path / "a.creds", operator.a_seed)
        user = wire_login(server, creds)
        assert await system_request(system, subject, b"") == error("jwt update error - request body is empty")
        assert await system_request(system, subject, operator.account_jwt(operator.b, "B")) == error(
            "jwt update resulted in error - subject does not match jwt content")
        self_signed = operator.account_jwt(operator.a, "A", seed=operator.a_seed)
        assert await system_request(system, subject, self_signed) == error(
            "jwt update resulted in error - account validation failed")

        revoking = operator.account_jwt(operator.a, "A", revocations={user_key(tmp_path / "a.creds"): int(time.time())})
        assert await system_request(system, subject, revoking) == answer("jwt updated")
        assert user.read_to_close() == b"-ERR 'User Authentication Revoked'\r\n"
    finally:
        await system.close()
