"""Per-account JetStream, against edgenats and nats-server alike: with accounts configured only those
whose `jetstream` entry enables it have JetStream; `$JS.API.INFO` shows each its own limits (nats-server's
key names and aliases in the config); every other account gets 503/10039 on each API request; with no
account but the system account configured, the global account has JetStream without limits."""

from __future__ import annotations

import json
import subprocess
import sys

import nats
import nats.errors
import pytest
from js_helpers import SHAPE_ACCOUNT_INFO, SHAPE_LIMITS, api, shape

ACCOUNTS = """
jetstream {{ store_dir: "{store}" }}
accounts {{
  A {{ jetstream: {{ max_mem: 1000, max_file: 5K, max_streams: 2, max_consumers: 3 }},
      users [{{user: a, password: a}}] }}
  B {{ users [{{user: b, password: b}}] }}
  C {{ jetstream: enabled, users [{{user: c, password: c}}] }}
  D {{ jetstream: {{ memory: 1MB, store: 2MB, streams: 4, consumers: 5, max_bytes_required: true,
                  memory_max_stream_bytes: 100, store_max_stream_bytes: 200, max_ack_pending: 7 }},
      users [{{user: d, password: d}}] }}
  SYS {{ users [{{user: sys, password: sys}}] }}
}}
system_account: SYS
"""
NOT_ENABLED = {"code": 503, "err_code": 10039, "description": "JetStream not enabled for account"}


@pytest.fixture
def accounts_server(server_kind, server_factory, tmp_path):
    return server_factory(server_kind, ACCOUNTS.format(store=tmp_path / "store"))


async def info_as(server, user: str) -> dict:
    nc = await nats.connect(f"nats://{user}:{user}@127.0.0.1:{server.port}")
    try:
        return await api(nc, "$JS.API.INFO")
    finally:
        await nc.close()


async def test_each_account_shows_its_own_limits(accounts_server):
    info = await info_as(accounts_server, "a")
    assert shape(info) == SHAPE_ACCOUNT_INFO and shape(info["limits"]) == SHAPE_LIMITS
    assert info["limits"] == {"max_memory": 1000, "max_storage": 5000, "max_streams": 2, "max_consumers": 3,
                              "max_ack_pending": -1, "memory_max_stream_bytes": -1, "storage_max_stream_bytes": -1,
                              "max_bytes_required": False}
    assert (await info_as(accounts_server, "c"))["limits"] == {
        "max_memory": -1, "max_storage": -1, "max_streams": -1, "max_consumers": -1, "max_ack_pending": -1,
        "memory_max_stream_bytes": -1, "storage_max_stream_bytes": -1, "max_bytes_required": False}
    assert (await info_as(accounts_server, "d"))["limits"] == {
        "max_memory": 1048576, "max_storage": 2097152, "max_streams": 4, "max_consumers": 5, "max_ack_pending": 7,
        "memory_max_stream_bytes": 100, "storage_max_stream_bytes": 200, "max_bytes_required": True}


async def test_an_account_without_jetstream_is_refused_on_every_api(accounts_server):
    for user in ("b", "sys"):
        assert await info_as(accounts_server, user) == {"type": "io.nats.jetstream.api.v1.account_info_response",
                                                        "error": NOT_ENABLED}
    nc = await nats.connect(f"nats://b:b@127.0.0.1:{accounts_server.port}")
    assert await api(nc, "$JS.API.STREAM.CREATE.X", {"name": "X", "subjects": ["x"]}) == {
        "type": "io.nats.jetstream.api.v1.stream_create_response", "error": NOT_ENABLED}
    assert await api(nc, "$JS.API.STREAM.NAMES") == {
        "type": "io.nats.jetstream.api.v1.stream_names_response", "error": NOT_ENABLED,
        "total": 0, "offset": 0, "limit": 0, "streams": None}
    for pull_or_direct in ("$JS.API.CONSUMER.MSG.NEXT.S.C", "$JS.API.DIRECT.GET.S", "$JS.API.DIRECT.GET.S.x"):
        with pytest.raises(nats.errors.NoRespondersError):
            await nc.request(pull_or_direct, b"", timeout=2)
    await nc.close()


async def test_streams_of_two_accounts_are_apart(accounts_server):
    a = await nats.connect(f"nats://a:a@127.0.0.1:{accounts_server.port}")
    c = await nats.connect(f"nats://c:c@127.0.0.1:{accounts_server.port}")
    await a.jetstream().add_stream(name="S", subjects=["s"], storage="memory", max_bytes=500)
    await c.jetstream().add_stream(name="S", subjects=["s"])
    assert (await a.jetstream().publish("s", b"from a")).seq == 1
    assert json.loads((await c.request("s", b"from c")).data)["seq"] == 1
    assert json.loads((await c.request("s", b"again")).data)["seq"] == 2
    info = await api(a, "$JS.API.INFO")
    assert (info["streams"], info["reserved_memory"], info["reserved_storage"]) == (1, 500, 0)
    assert info["memory"] == 1 + 6 + 16  # nats-server's memory record size of the one message
    await a.close()
    await c.close()


async def test_only_a_system_account_leaves_jetstream_to_the_global_account(server_kind, server_factory, tmp_path):
    config = f"""jetstream {{ store_dir: "{tmp_path / 'store'}" }}
authorization {{ users [{{user: g, password: g}}] }}
accounts {{ SYS {{ users [{{user: sys, password: sys}}] }} }}
system_account: SYS
"""
    running = server_factory(server_kind, config)
    assert (await info_as(running, "g"))["limits"]["max_streams"] == -1
    assert (await info_as(running, "sys"))["error"] == NOT_ENABLED


@pytest.mark.parametrize("block, message", [
    ("accounts { A { jetstream: { max_mem: lots } } }", 'Expected a parseable size for "max_mem"'),
    ("accounts { A { jetstream: { max_bytes_required: 1 } } }", 'Expected a parseable bool'),
    ("accounts { A { jetstream: { colour: blue } } }", 'unknown field "colour"'),
    ("accounts { A { jetstream: maybe } }", "Expected 'enabled' or 'disabled'"),
])
def test_a_bad_account_jetstream_entry_is_refused(tmp_path, block, message):
    bad = tmp_path / "bad.conf"
    bad.write_text(block + "\n")
    checked = subprocess.run([sys.executable, "-m", "edgenats", "-c", str(bad), "-t"], capture_output=True,
                             text=True, timeout=30)
    assert checked.returncode == 1
    assert "accounts.A.jetstream" in checked.stderr and message in checked.stderr
