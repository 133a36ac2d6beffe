"""JetStream monitoring, against edgenats and nats-server alike: `/jsz` on the HTTP monitor port (with
accounts, streams, consumers, config and acc) and `$SYS.REQ.SERVER.PING.JSZ` / `$SYS.REQ.SERVER.<id>.JSZ`
in the system account answer with nats-server's keys, JSON types and counts."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import nats
import pytest
from js_helpers import SHAPE_EMPTY_STATE, api, shape
from servers import free_port

CONFIG = """
jetstream {{ store_dir: "{store}", max_memory_store: 1MB, max_file_store: 10MB }}
accounts {{
  A {{ jetstream: {{ max_mem: 1000, max_file: 5000 }}, users [{{user: a, password: a}}] }}
  C {{ jetstream: enabled, users [{{user: c, password: c}}] }}
  SYS {{ users [{{user: sys, password: sys}}] }}
}}
system_account: SYS
"""
SHAPE_JSZ = {
    "memory": int, "storage": int, "reserved_memory": int, "reserved_storage": int, "accounts": int,
    "ha_assets": int, "api": dict, "server_id": str, "now": str, "config": dict, "limits": dict, "streams": int,
    "consumers": int, "messages": int, "bytes": int, "total": int,
}
SHAPE_ACCOUNT_DETAIL = {
    "name": str, "id": str, "memory": int, "storage": int, "reserved_memory": int, "reserved_storage": int,
    "accounts": int, "ha_assets": int, "api": dict,
}
NO_LIMIT = 2**64 - 1  # -1 as the unsigned number nats-server writes


@pytest.fixture
async def busy(server_kind, server_factory, tmp_path):
    """A server with stream M2 (memory, max_bytes 600) in A holding one message, a durable consumer."""
    http_port = free_port()
    running = server_factory(server_kind, CONFIG.format(store=tmp_path / "store"), extra_args=["-m", str(http_port)])
    nc = await nats.connect(f"nats://a:a@127.0.0.1:{running.port}")
    await api(nc, "$JS.API.STREAM.CREATE.M2", {"name": "M2", "subjects": ["m2"], "storage": "memory",
                                               "max_bytes": 600})
    await api(nc, "$JS.API.CONSUMER.DURABLE.CREATE.M2.c1",
              {"stream_name": "M2", "config": {"durable_name": "c1", "ack_policy": "explicit"}})
    await nc.request("m2", b"hello")
    await nc.close()
    return running, http_port


async def get(port: int, path: str) -> dict:
    def fetch():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return json.loads(response.read())

    return await asyncio.to_thread(fetch)


def check_totals(jsz: dict) -> None:
    assert shape(jsz) == SHAPE_JSZ
    assert (jsz["memory"], jsz["storage"], jsz["reserved_memory"], jsz["reserved_storage"]) == (23, 0, 600, 0)
    assert (jsz["accounts"], jsz["total"], jsz["streams"], jsz["consumers"], jsz["messages"], jsz["bytes"]) == (
        2, 2, 1, 1, 1, 23)
    assert jsz["api"]["total"] == 2 and jsz["api"]["errors"] == 0
    assert (jsz["config"]["max_memory"], jsz["config"]["max_storage"]) == (1024**2, 10 * 1024**2)
    assert jsz["config"]["store_dir"].endswith("jetstream")


async def test_jsz_totals_and_account_details(busy):
    running, http_port = busy
    jsz = await get(http_port, "/jsz")
    check_totals(jsz)
    details = (await get(http_port, "/jsz?accounts=true"))["account_details"]
    assert [detail["name"] for detail in sorted(details, key=lambda d: d["name"])] == ["A", "C"]
    for detail in details:
        assert shape(detail) == SHAPE_ACCOUNT_DETAIL
    by_name = {detail["name"]: detail for detail in details}
    assert (by_name["A"]["memory"], by_name["A"]["reserved_memory"], by_name["A"]["reserved_storage"]) == (
        23, 1000, 5000)
    assert (by_name["C"]["reserved_memory"], by_name["C"]["reserved_storage"]) == (NO_LIMIT, NO_LIMIT)
    one = await get(http_port, "/jsz?acc=C")
    assert [detail["name"] for detail in one["account_details"]] == ["C"]


async def test_jsz_streams_consumers_and_configs(busy):
    running, http_port = busy
    jsz = await get(http_port, "/jsz?acc=A&streams=true")
    stream = jsz["account_details"][0]["stream_detail"][0]
    assert sorted(stream) == ["cluster", "created", "name", "state"]
    assert {key: stream["state"][key] for key in SHAPE_EMPTY_STATE if key.endswith("seq") or key == "messages"} == {
        "messages": 1, "first_seq": 1, "last_seq": 1}
    full = await get(http_port, "/jsz?streams=true&consumers=true&config=true")
    stream = next(d for d in full["account_details"] if d["name"] == "A")["stream_detail"][0]
    assert sorted(stream) == ["cluster", "config", "consumer_detail", "created", "name", "state"]
    assert stream["config"]["max_bytes"] == 600 and stream["config"]["metadata"] == {"_nats.req.level": "0"}
    consumer = stream["consumer_detail"][0]
    assert (consumer["name"], consumer["num_pending"], consumer["config"]["durable_name"]) == ("c1", 1, "c1")
    assert "config" not in (await get(http_port, "/jsz?consumers=true"))["account_details"][0]["stream_detail"][0]


async def test_system_account_jsz_requests(busy):
    running, _ = busy
    nc = await nats.connect(f"nats://sys:sys@127.0.0.1:{running.port}")
    answer = json.loads((await nc.request("$SYS.REQ.SERVER.PING.JSZ", b"", timeout=5)).data)
    assert answer["server"]["jetstream"] is True
    check_totals(answer["data"])
    direct = f"$SYS.REQ.SERVER.{answer['server']['id']}.JSZ"
    detailed = json.loads((await nc.request(direct, json.dumps({"account": "A", "streams": True, "consumer": True,
                                                                  "config": True}).encode(), timeout=5)).data)
    [account] = detailed["data"]["account_details"]
    assert account["name"] == "A" and account["stream_detail"][0]["consumer_detail"][0]["name"] == "c1"
    await nc.close()
