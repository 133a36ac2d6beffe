"""A leaf remote's `drain_rate` (an edgenats extension: bytes a second for the JetStream deliveries that
leave through the link): the sizes edgenats takes, the values it refuses by name, and a SIGHUP that
applies a new rate to the running remote (shown in /leafz) without redialling."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from leaf_helpers import poll_monitor
from servers import free_port

ACCEPTED = ("64KB", "100k", "1MiB", "250000")
REFUSED = {
    '"fast"': "leafnodes.remotes[0].drain_rate: invalid size 'fast': expected a number with an optional "
              "suffix like KB or MB",
    "0": "leafnodes.remotes[0].drain_rate must be positive",
    "-5KB": "leafnodes.remotes[0].drain_rate must be positive",
}


def config(rate: str, http_port: int = 0, hub_port: int = 1) -> str:
    http = f'http: "127.0.0.1:{http_port}"\n' if http_port else ""
    return (f"{http}leafnodes {{ remotes = [ {{ url: \"nats-leaf://127.0.0.1:{hub_port}\"\n"
            f"  drain_rate: {rate} }} ] }}\n")


def check(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgenats", "-t", "-c", str(path)],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("rate", sorted(ACCEPTED))
def test_drain_rate_takes_nats_server_sizes(tmp_path, rate):
    path = tmp_path / "leaf.conf"
    path.write_text(config(rate))
    result = check(path)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("rate", sorted(REFUSED))
def test_a_bad_drain_rate_is_refused_by_name(tmp_path, rate):
    path = tmp_path / "leaf.conf"
    path.write_text(config(rate))
    result = check(path)
    assert result.returncode == 1
    assert REFUSED[rate] in result.stderr


async def test_sighup_applies_a_new_drain_rate(server_factory):
    http_port, hub_port = free_port(), free_port()  # nobody listens on hub_port: the remote keeps redialling
    leaf = server_factory("edgenats", config("64KB", http_port, hub_port))

    def limit(document: dict) -> int:
        return document["remotes"][0]["drain"]["limit_bytes"]

    before = await poll_monitor(http_port, "/leafz", lambda document: True)
    assert limit(before) == 64 * 1024
    leaf.config_path.write_text(config("1MB", http_port, hub_port))
    leaf.process.send_signal(signal.SIGHUP)
    after = await poll_monitor(http_port, "/leafz", lambda document: limit(document) != 64 * 1024)
    assert limit(after) == 1024 * 1024  # MB is 1024², as nats-server reads sizes
    assert "Reloaded server configuration" in leaf.log_text()
