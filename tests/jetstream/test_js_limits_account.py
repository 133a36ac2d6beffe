"""An account's JetStream limits enforced with nats-server's errors, against edgenats and nats-server
alike: the number of streams (10027) and consumers (10026), the bytes streams reserve against the
account's memory and storage (10028, 10047), max_bytes required (10113) and capped (10122) on create and
update, max_ack_pending capped (10121) and defaulted to the cap, and a publish that would take the
account over its memory limit (10002), with what a purge or a deleted stream frees usable again."""

from __future__ import annotations

import json

import nats
import pytest
from js_helpers import api

CONFIG = """
jetstream {{ store_dir: "{store}" }}
accounts {{
  A {{ jetstream: {{ max_mem: 1000, max_file: 5000, max_streams: 2, max_consumers: 1 }},
      users [{{user: a, password: a}}] }}
  D {{ jetstream: {{ max_mem: 1000, max_file: 5000, max_bytes_required: true, mem_max_stream_bytes: 500,
                  disk_max_stream_bytes: 600, max_ack_pending: 7 }}, users [{{user: d, password: d}}] }}
}}
"""


@pytest.fixture
def limited(server_kind, server_factory, tmp_path):
    return server_factory(server_kind, CONFIG.format(store=tmp_path / "store"))


def error_of(answer: dict) -> tuple[int, int, str]:
    error = answer["error"]
    return error["code"], error["err_code"], error["description"]


async def connect(server, user: str):
    return await nats.connect(f"nats://{user}:{user}@127.0.0.1:{server.port}")


async def create(nc, name: str, **config) -> dict:
    return await api(nc, f"$JS.API.STREAM.CREATE.{name}", {"name": name, "subjects": [name.lower()], **config})


async def test_stream_count_and_reservations(limited):
    nc = await connect(limited, "a")
    assert error_of(await create(nc, "BIG", storage="memory", max_bytes=1001)) == (
        500, 10028, "insufficient memory resources available")
    assert error_of(await create(nc, "BIGF", max_bytes=5001)) == (
        500, 10047, "insufficient storage resources available")
    assert "error" not in await create(nc, "M1", storage="memory", max_bytes=600)
    assert error_of(await create(nc, "M2", storage="memory", max_bytes=401)) == (
        500, 10028, "insufficient memory resources available")
    assert "error" not in await create(nc, "M2", storage="memory", max_bytes=400)
    assert error_of(await create(nc, "M3", storage="memory")) == (400, 10027, "maximum number of streams reached")
    assert "error" not in await create(nc, "M2", storage="memory", max_bytes=400)  # the same again is no new one
    info = await api(nc, "$JS.API.INFO")
    assert (info["streams"], info["reserved_memory"], info["reserved_storage"]) == (2, 1000, 0)
    await nc.close()


async def test_consumer_count(limited):
    nc = await connect(limited, "a")
    assert error_of(await create(nc, "MANY", storage="memory", max_bytes=100, max_consumers=2)) == (
        400, 10026, "maximum consumers limit reached")
    await create(nc, "S", storage="memory", max_bytes=100)
    body = {"stream_name": "S", "config": {"durable_name": "one", "ack_policy": "explicit"}}
    assert "error" not in await api(nc, "$JS.API.CONSUMER.DURABLE.CREATE.S.one", body)
    body["config"]["durable_name"] = "two"
    assert error_of(await api(nc, "$JS.API.CONSUMER.DURABLE.CREATE.S.two", body)) == (
        400, 10026, "maximum consumers limit reached")
    await nc.close()


async def test_max_bytes_required_and_capped(limited):
    nc = await connect(limited, "d")
    required = (400, 10113, "account requires a stream config to have max bytes set")
    capped = (400, 10122, "stream max bytes exceeds account limit max stream bytes")
    assert error_of(await create(nc, "M", storage="memory")) == required
    assert error_of(await create(nc, "M", storage="memory", max_bytes=501)) == capped
    assert error_of(await create(nc, "F", max_bytes=601)) == capped
    assert "error" not in await create(nc, "F", max_bytes=600)
    update = "$JS.API.STREAM.UPDATE.F"
    assert error_of(await api(nc, update, {"name": "F", "subjects": ["f"], "max_bytes": 601})) == capped
    assert error_of(await api(nc, update, {"name": "F", "subjects": ["f"]})) == required
    await nc.close()


async def test_max_ack_pending_is_capped_and_defaults_to_the_cap(limited):
    nc = await connect(limited, "d")
    await create(nc, "F", max_bytes=600)
    over = {"stream_name": "F", "config": {"name": "c1", "ack_policy": "explicit", "max_ack_pending": 8}}
    assert error_of(await api(nc, "$JS.API.CONSUMER.CREATE.F.c1", over)) == (
        400, 10121, "consumer max ack pending exceeds system limit of 7")
    default = {"stream_name": "F", "config": {"name": "c2", "ack_policy": "explicit"}}
    assert (await api(nc, "$JS.API.CONSUMER.CREATE.F.c2", default))["config"]["max_ack_pending"] == 7
    await nc.close()


async def test_a_publish_over_the_account_memory_is_refused(limited):
    nc = await connect(limited, "a")
    await create(nc, "M", storage="memory")
    acks = [json.loads((await nc.request("m", b"x" * 100)).data) for _ in range(9)]
    # Each message counts 1 + 100 + 16 bytes: eight fit in 1000 bytes, the ninth would not.
    assert [ack.get("seq") for ack in acks[:8]] == list(range(1, 9))
    assert acks[8] == {"error": {"code": 400, "err_code": 10002, "description": "resource limits exceeded for account"},
                       "stream": "M", "seq": 0}
    assert (await api(nc, "$JS.API.INFO"))["memory"] == 8 * 117
    await nc.close()
    assert 'JetStream memory resource limits exceeded for account: "A"' in limited.log_text()


async def stored_seq(nc, subject: str) -> int | None:
    ack = json.loads((await nc.request(subject, b"x" * 100)).data)
    return None if "error" in ack else ack["seq"]


async def test_what_a_purge_or_a_deleted_stream_frees_can_be_stored_again(limited):
    nc = await connect(limited, "a")
    await create(nc, "M", storage="memory")
    await create(nc, "N", storage="memory")
    full = [await stored_seq(nc, "m") for _ in range(9)]
    assert full == [*range(1, 9), None]  # the ninth is over the account's 1000 bytes
    await api(nc, "$JS.API.STREAM.PURGE.M", {"filter": "m", "keep": 2})
    assert (await api(nc, "$JS.API.INFO"))["memory"] == 2 * 117
    stored = [await stored_seq(nc, "n") for _ in range(7)]
    assert stored == [*range(1, 7), None]
    await api(nc, "$JS.API.STREAM.DELETE.M", {})
    assert (await api(nc, "$JS.API.INFO"))["memory"] == 6 * 117
    assert await stored_seq(nc, "n") == 7
    await nc.close()
