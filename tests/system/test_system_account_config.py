"""The `system_account` setting (alias `system`): it must name an account of the config."""

from __future__ import annotations

import pytest
from system_helpers import connect_as, request_json


async def test_system_is_an_alias_of_system_account(server_kind, server_factory):
    server = server_factory(server_kind, "accounts { OPS { users: [{user: ops, password: pw}] } }\nsystem: OPS\n")
    client = await connect_as(server, "ops", "pw")
    try:
        varz = (await request_json(client, "$SYS.REQ.SERVER.PING.VARZ"))["data"]
        assert varz["system_account"] == "OPS"
    finally:
        await client.close()


def test_a_system_account_that_is_not_defined_stops_the_server(server_kind, server_factory):
    with pytest.raises(RuntimeError, match="system account|system_account") as failure:
        server_factory(server_kind, "accounts { APP {} }\nsystem_account: NOPE\n")
    assert "exited" in str(failure.value)
