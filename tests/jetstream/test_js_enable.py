"""Turning JetStream on, against edgenats and nats-server alike: `-js -sd`, `jetstream: enabled` and
the `jetstream { ... }` block (a domain shows in INFO, account info, PubAcks and stream info); off
by default, when `$JS.API` has no responders. edgenats only: the refusals of a bad block, and the
APIs it does not implement answered at once instead of a timeout."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import nats
import nats.errors
import nats.js.errors
import pytest
from js_helpers import api


def server_info(port: int) -> dict:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        line = sock.makefile("rb").readline()
    assert line.startswith(b"INFO ")
    return json.loads(line[5:])


async def test_flags_enable_jetstream_and_info_says_so(js_server):
    info = server_info(js_server.port)
    assert info["jetstream"] is True
    major, minor, _ = (int(part) for part in info["version"].split("."))
    assert major == 2 and minor >= 9
    nc = await nats.connect(js_server.url)
    assert (await nc.jetstream().account_info()).streams == 0
    await nc.close()


async def test_off_by_default_no_responders(server):
    assert "jetstream" not in server_info(server.port)
    nc = await nats.connect(server.url)
    with pytest.raises((nats.errors.NoRespondersError, nats.js.errors.ServiceUnavailableError)):
        await nc.jetstream().account_info()
    await nc.close()


async def test_enabled_word_uses_a_store_dir(server_kind, server_factory, tmp_path):
    store = tmp_path / "words"
    running = server_factory(server_kind, 'jetstream: enabled\n', extra_args=["-sd", str(store)])
    nc = await nats.connect(running.url)
    js = nc.jetstream()
    await js.add_stream(name="W", subjects=["w"])
    assert (await js.publish("w", b"x")).seq == 1
    await nc.close()
    assert (store / "jetstream").is_dir()


async def test_block_with_domain(server_kind, server_factory, tmp_path):
    config = f'jetstream {{ store_dir: "{tmp_path / "blk"}", domain: edge, max_memory_store: 64MB, ' \
             'max_file_store: 1G, sync_interval: always }\n'
    running = server_factory(server_kind, config)
    info = server_info(running.port)
    assert (info["jetstream"], info["domain"]) == (True, "edge")
    nc = await nats.connect(running.url)
    account = await api(nc, "$JS.API.INFO")
    assert account["domain"] == "edge"
    created = await api(nc, "$JS.API.STREAM.CREATE.D", {"name": "D", "subjects": ["d"]})
    assert "domain" not in created
    ack = await nc.request("d", b"x")
    assert json.loads(ack.data) == {"stream": "D", "domain": "edge", "seq": 1}
    stream_info = await api(nc, "$JS.API.STREAM.INFO.D")
    assert stream_info["domain"] == "edge"
    listed = await api(nc, "$JS.API.STREAM.LIST")
    assert listed["streams"][0]["domain"] == "edge"
    await nc.close()


@pytest.mark.parametrize("block, message", [
    ("jetstream { bogus: 1 }", 'unknown field "bogus"'),
    ("jetstream: maybe", "expected enabled, disabled or a block"),
])
def test_bad_block_is_refused(tmp_path, block, message):
    bad = tmp_path / "bad.conf"
    bad.write_text(block + "\n")
    checked = subprocess.run([sys.executable, "-m", "edgenats", "-c", str(bad), "-t"], capture_output=True,
                             text=True, timeout=30)
    assert checked.returncode == 1
    assert message in checked.stderr


async def test_unimplemented_apis_answer_not_supported(server_factory, tmp_path):
    running = server_factory("edgenats", extra_args=["-js", "-sd", str(tmp_path / "store")])
    nc = await nats.connect(running.url)
    js = nc.jetstream()
    await js.add_stream(name="S", subjects=["s"])
    answer = await api(nc, "$JS.API.STREAM.SNAPSHOT.S", {})
    assert answer == {"type": "io.nats.jetstream.api.v1.stream_snapshot_response",
                      "error": {"code": 400, "err_code": 10003, "description": "STREAM.SNAPSHOT not supported"}}
    with pytest.raises(nats.errors.NoRespondersError):
        await nc.request("$JS.API.DIRECT.GET.S", b'{"seq": 1}', timeout=2)
    await nc.close()


async def test_required_api_level_above_ours_is_refused(server_factory, tmp_path):
    running = server_factory("edgenats", extra_args=["-js", "-sd", str(tmp_path / "store")])
    nc = await nats.connect(running.url)
    level = (await api(nc, "$JS.API.INFO"))["api"]["level"]
    refused = await nc.request("$JS.API.INFO", b"", headers={"Nats-Required-Api-Level": str(level + 1)})
    assert json.loads(refused.data)["error"] == {"code": 412, "err_code": 10185,
                                                 "description": "JetStream minimum api level required"}
    accepted = await nc.request("$JS.API.INFO", b"", headers={"Nats-Required-Api-Level": str(level)})
    assert "error" not in json.loads(accepted.data)
    await nc.close()
