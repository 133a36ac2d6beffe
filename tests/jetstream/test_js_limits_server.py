"""The server-wide `max_memory_store` / `max_file_store`, against edgenats and nats-server alike: a stream
whose reservation does not fit is refused (10028 memory, 10047 storage) and, once the server's usage is
over its maximum, a publish gets 503/10023 "insufficient resources". edgenats only: a full disk (a tiny
tmpfs, when the tests run as root) answers the publisher 10047 and the server keeps serving."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess

import nats
import pytest
from js_helpers import api

INSUFFICIENT = {"error": {"code": 503, "err_code": 10023, "description": "insufficient resources"}}


async def test_server_maxima(server_kind, server_factory, tmp_path):
    config = f'jetstream {{ store_dir: "{tmp_path / "store"}", max_memory_store: 1000, max_file_store: 2000 }}\n'
    running = server_factory(server_kind, config)
    nc = await nats.connect(running.url)
    too_big = await api(nc, "$JS.API.STREAM.CREATE.B", {"name": "B", "subjects": ["b"], "storage": "memory",
                                                       "max_bytes": 1001})
    assert too_big["error"] == {"code": 500, "err_code": 10028,
                                "description": "insufficient memory resources available"}
    too_big = await api(nc, "$JS.API.STREAM.CREATE.B", {"name": "B", "subjects": ["b"], "max_bytes": 2001})
    assert too_big["error"] == {"code": 500, "err_code": 10047,
                                "description": "insufficient storage resources available"}
    await api(nc, "$JS.API.STREAM.CREATE.M", {"name": "M", "subjects": ["m"], "storage": "memory"})
    await api(nc, "$JS.API.STREAM.CREATE.F", {"name": "F", "subjects": ["f"]})
    # A memory message of 100 bytes counts 117, a file one 131: the server refuses once it is over.
    memory_acks = [json.loads((await nc.request("m", b"x" * 100)).data) for _ in range(10)]
    assert [ack.get("seq") for ack in memory_acks[:9]] == list(range(1, 10))
    assert memory_acks[9] == {**INSUFFICIENT, "stream": "M", "seq": 0}
    file_acks = [json.loads((await nc.request("f", b"x" * 100)).data) for _ in range(17)]
    assert [ack.get("seq") for ack in file_acks[:16]] == list(range(1, 17))
    assert file_acks[16] == {**INSUFFICIENT, "stream": "F", "seq": 0}
    await nc.close()
    # Logged once for the first refusal; nats-server says so at most every 10 s.
    assert "JetStream memory resource limits exceeded for server" in running.log_text()


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs, when this process may mount one (root); skipped otherwise."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
                             capture_output=True, timeout=10)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    yield mount_point
    with contextlib.suppress(subprocess.SubprocessError):
        subprocess.run(["umount", "-l", str(mount_point)], timeout=10)


async def test_a_full_disk_answers_the_publisher_and_the_server_keeps_running(server_factory, tiny_disk):
    running = server_factory("edgenats", extra_args=["-js", "-sd", str(tiny_disk)])
    nc = await nats.connect(running.url)
    js = nc.jetstream()
    await js.add_stream(name="F", subjects=["f"])
    await js.add_stream(name="M", subjects=["m"], storage="memory")
    payload = os.urandom(16 * 1024)
    answers = []
    for _ in range(40):
        answers.append(json.loads((await nc.request("f", payload, timeout=5)).data))
        if "error" in answers[-1]:
            break
    stored = [answer["seq"] for answer in answers if "error" not in answer]
    assert stored == list(range(1, len(stored) + 1)) and stored
    assert answers[-1] == {"error": {"code": 500, "err_code": 10047,
                                     "description": "insufficient storage resources available"},
                           "stream": "F", "seq": 0}
    assert (await js.publish("m", b"still serving")).seq == 1
    state = (await js.stream_info("F")).state
    assert (state.messages, state.last_seq) == (len(stored), len(stored))
    for seq in stored:
        assert (await js.get_msg("F", seq)).data == payload
    await nc.close()
    assert running.stop() == 0
    assert "database or disk is full" in running.log_text()
