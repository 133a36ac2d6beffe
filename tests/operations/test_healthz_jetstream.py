"""/healthz as nats-server answers it, on both brokers: 200 {"status":"ok"} with every query option when
all is well; 500 while in lame duck (the client port no longer accepts); 503 "unavailable" naming the
stream when a JetStream store cannot write (the broker's file size limit, RLIMIT_FSIZE, stands in for a
full disk), except with `js-enabled-only` or `js-server-only`, which check only that JetStream runs.
"""

from __future__ import annotations

import json
import resource
import signal
import time
import urllib.error
import urllib.request

import nats
import pytest
from protocol.rawclient import RawClient
from servers import free_port

OPTIONS = ["", "?js-enabled-only=true", "?js-server-only=true", "?js-enabled=true"]
FILE_SIZE_LIMIT = 200_000


def healthz(port: int, options: str = "") -> tuple[int, dict | str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz{options}", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, json.loads(body) if error.headers.get_content_type() == "application/json" else body


@pytest.mark.parametrize("jetstream", [False, True], ids=["plain", "jetstream"])
def test_healthz_ok_with_every_option(server_kind, server_factory, tmp_path, jetstream):
    arguments = ["-m", str(free_port())] + (["-js", "-sd", str(tmp_path / "store")] if jetstream else [])
    running = server_factory(server_kind, extra_args=arguments)
    for options in OPTIONS:
        assert healthz(running.http_port, options) == (200, {"status": "ok"}), options
    assert healthz(running.http_port, "?js-enabled-only=bogus")[0] == 400


def test_healthz_fails_in_lame_duck(server_kind, server_factory):
    running = server_factory(server_kind, 'lame_duck_duration: "30s"\n', extra_args=["-m", str(free_port())])
    # A client keeps the server in lame duck for the grace period (without one it stops at once).
    client = RawClient.handshake(running.port)
    running.process.send_signal(signal.SIGUSR2)
    deadline = time.monotonic() + 5
    while (answer := healthz(running.http_port))[0] == 200 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert answer == (500, {"status": "error", "error": "failed to be ready for connections after 1ms: server"})
    client.close()


async def test_healthz_fails_when_a_stream_cannot_write(server_kind, server_factory, tmp_path):
    running = server_factory(server_kind, extra_args=["-m", str(free_port()), "-js", "-sd", str(tmp_path / "store")])
    client = await nats.connect(running.url)
    try:
        jetstream = client.jetstream()
        await jetstream.add_stream(name="READINGS", subjects=["readings.>"])
        await jetstream.publish("readings.a", b"r" * 1000)
        assert healthz(running.http_port) == (200, {"status": "ok"})
        # The store's files may grow no further: the next writes fail as on a full disk.
        resource.prlimit(running.pid, resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
        for _ in range(FILE_SIZE_LIMIT // 1000 + 50):
            try:
                await jetstream.publish("readings.a", b"r" * 1000, timeout=1)
            except (nats.errors.Error, TimeoutError):
                break
        else:
            pytest.fail("every message was stored past the file size limit")
    finally:
        await client.close()
    status, document = healthz(running.http_port)
    assert status == 503 and document["status"] == "unavailable"
    assert document["error"].startswith("JetStream stream '$G > READINGS' write error: ")
    for options in OPTIONS[1:3]:
        assert healthz(running.http_port, options) == (200, {"status": "ok"}), options
