"""`$SYS.REQ.ACCOUNT.<account>.JSZ` in the system account, against edgenats and nats-server alike: one
account's JSZ detail (streams with `streams`, their consumers with `consumer` too, configs with
`config`; `account`/`accounts` ignored), nats-server's 500 texts for an account that is unknown or
has no JetStream or a server without JetStream, the 400 answers to bad options, the server filter;
and /jsz agreeing with `$JS.API.INFO` on the API level and saying the API is strict."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import nats
import pytest
from js_helpers import api, shape
from servers import free_port

CONFIG = """
{jetstream}
accounts {{
  A {{ jetstream: {{ max_mem: 1000, max_file: 5000 }}, users [{{user: a, password: a}}] }}
  C {{ jetstream: enabled, users [{{user: c, password: c}}] }}
  D {{ users [{{user: d, password: d}}] }}
  SYS {{ users [{{user: sys, password: sys}}] }}
}}
system_account: SYS
"""
SHAPE_ACCOUNT_DETAIL = {
    "name": str, "id": str, "memory": int, "storage": int, "reserved_memory": int, "reserved_storage": int,
    "accounts": int, "ha_assets": int, "api": dict,
}
NO_LIMIT = 2**64 - 1


@pytest.fixture
async def running(server_kind, server_factory, tmp_path):
    """A server whose account A has stream M2 (one message) with durable consumer c1, and its HTTP port."""
    http_port = free_port()
    jetstream = f'jetstream {{ store_dir: "{tmp_path / "store"}" }}'
    server = server_factory(server_kind, CONFIG.format(jetstream=jetstream), extra_args=["-m", str(http_port)])
    nc = await nats.connect(f"nats://a:a@127.0.0.1:{server.port}")
    await api(nc, "$JS.API.STREAM.CREATE.M2", {"name": "M2", "subjects": ["m2"], "storage": "memory"})
    await api(nc, "$JS.API.CONSUMER.CREATE.M2.c1",
              {"stream_name": "M2", "config": {"durable_name": "c1", "ack_policy": "explicit"}})
    await nc.request("m2", b"hello", timeout=2)
    await nc.close()
    return server, http_port


@pytest.fixture
async def sys_nc(running):
    client = await nats.connect(f"nats://sys:sys@127.0.0.1:{running[0].port}")
    yield client
    await client.close()


async def _ask(nc, account: str, body: bytes = b"") -> dict:
    return json.loads((await nc.request(f"$SYS.REQ.ACCOUNT.{account}.JSZ", body, timeout=2)).data)


async def test_account_jsz_details(sys_nc):
    answer = await _ask(sys_nc, "A")
    assert set(answer) == {"server", "data"} and answer["server"]["id"]
    data = answer["data"]
    assert shape(data) == SHAPE_ACCOUNT_DETAIL
    assert (data["name"], data["id"], data["memory"], data["reserved_memory"], data["reserved_storage"]) == (
        "A", "A", 23, 1000, 5000)
    assert data["api"] == {"level": 0, "total": 2, "errors": 0}
    ignored = (await _ask(sys_nc, "A", b'{"account": "C", "accounts": true, "consumer": true}'))["data"]
    assert ignored == data  # another account's name, all accounts, consumers without streams: ignored
    streams = (await _ask(sys_nc, "A", b'{"streams": true}'))["data"]["stream_detail"]
    assert [(s["name"], s["state"]["messages"], "config" in s, "consumer_detail" in s) for s in streams] == [
        ("M2", 1, False, False)]
    full = (await _ask(sys_nc, "A", b'{"streams": true, "consumer": true, "config": true}'))["data"]
    stream = full["stream_detail"][0]
    assert (stream["config"]["name"], [(c["name"], c["config"]["ack_policy"], c["num_pending"])
                                       for c in stream["consumer_detail"]]) == ("M2", [("c1", "explicit", 1)])
    other = (await _ask(sys_nc, "C"))["data"]
    assert (other["name"], other["reserved_memory"], other["reserved_storage"], other["api"]["total"]) == (
        "C", NO_LIMIT, NO_LIMIT, 0)


ERRORS = [
    ("D", b"", {"code": 500, "description": 'account "D" not jetstream enabled'}),
    ("SYS", b"", {"code": 500, "description": 'account "SYS" not jetstream enabled'}),
    ("NOPE", b"", {"code": 500, "description": 'account "NOPE" not found'}),
    ("A", b" ", {"code": 400, "description": "unexpected end of JSON input"}),
    ("A", b"[1]", {"code": 400, "description": "json: cannot unmarshal array into Go value of type "
                                               "server.JszEventOptions"}),
    ("A", b'{"streams": 1}', {"code": 400, "description": "json: cannot unmarshal number into Go struct field "
                                                          "JszEventOptions.streams of type bool"}),
]


async def test_account_jsz_errors(sys_nc):
    for account, body, error in ERRORS:
        answer = await _ask(sys_nc, account, body)
        keys = {"server", "data", "error"} if error["code"] == 500 else {"server", "error"}
        assert (set(answer), answer["error"], answer.get("data")) == (keys, error, None), (account, body)


async def test_account_jsz_server_filter(sys_nc):
    inbox = sys_nc.new_inbox()
    subscription = await sys_nc.subscribe(inbox)
    await sys_nc.publish("$SYS.REQ.ACCOUNT.A.JSZ", b'{"server_name": "elsewhere"}', reply=inbox)
    await sys_nc.publish("$SYS.REQ.ACCOUNT.C.JSZ", b"", reply=inbox)
    first = json.loads((await subscription.next_msg(timeout=2)).data)
    assert first["data"]["name"] == "C"  # the filtered request got no answer before it


async def test_account_jsz_without_jetstream(server_kind, server_factory):
    server = server_factory(server_kind, CONFIG.format(jetstream=""))
    nc = await nats.connect(f"nats://sys:sys@127.0.0.1:{server.port}")
    try:
        answer = await _ask(nc, "A")
        assert (set(answer), answer["data"], answer["error"]) == (
            {"server", "data", "error"}, None, {"code": 500, "description": "jetstream not enabled"})
    finally:
        await nc.close()


async def test_jsz_api_level_is_the_account_info_level_and_strict(running):
    server, http_port = running
    def fetch():
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/jsz", timeout=5) as response:
            return json.loads(response.read())

    jsz = await asyncio.to_thread(fetch)
    nc = await nats.connect(f"nats://a:a@127.0.0.1:{server.port}")
    try:
        info = await api(nc, "$JS.API.INFO")
    finally:
        await nc.close()
    assert jsz["api"]["level"] == info["api"]["level"] >= 1
    assert jsz["config"]["strict"] is True
