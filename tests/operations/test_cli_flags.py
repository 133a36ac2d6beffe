"""Command-line flags (nats-server style): -t config check, unknown flags, --version, --help,
-l/--log to a file, and the -D/-V log levels.

Flags that exist in both brokers are checked on both; where nats-server differs (it exits 0 on an
unknown flag) the test says so and runs on edgenats only.
"""

from __future__ import annotations

import re
import subprocess
import time

import pytest
from protocol.rawclient import RawClient
from servers import free_port, server_command

GOOD_CONFIG = "max_payload: 1024\nping_max: 2\n"
# Line 3 has a key without a usable value.
BROKEN_CONFIG = "max_payload: 1024\nping_max: 2\nmax_control_line: }\n"


def run_cli(kind: str, args: list[str], config_path=None) -> subprocess.CompletedProcess:
    """Run the broker with `args` and wait for it to exit on its own (these flags never serve)."""
    command = server_command(kind, free_port(), config_path, args)
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def wait_for_log(running, pattern: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while not re.search(pattern, text := running.log_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return text


def test_config_check_of_a_good_file_exits_zero(server_kind, tmp_path):
    config = tmp_path / "good.conf"
    config.write_text(GOOD_CONFIG)
    result = run_cli(server_kind, ["-t"], config)
    assert result.returncode == 0, result.stdout + result.stderr


def test_config_check_of_a_broken_file_exits_non_zero(server_kind, tmp_path):
    config = tmp_path / "broken.conf"
    config.write_text(BROKEN_CONFIG)
    result = run_cli(server_kind, ["-t"], config)
    assert result.returncode != 0


def test_config_check_error_names_file_and_line(server_kind, tmp_path):
    config = tmp_path / "broken.conf"
    config.write_text(BROKEN_CONFIG)
    result = run_cli(server_kind, ["-t"], config)
    assert re.search(r"broken\.conf:3\b", result.stdout + result.stderr), result.stdout + result.stderr


def test_broken_config_prevents_start(server_kind, tmp_path):
    config = tmp_path / "broken.conf"
    config.write_text(BROKEN_CONFIG)
    result = run_cli(server_kind, [], config)
    assert result.returncode != 0


def test_unknown_flag_is_reported(server_kind):
    result = run_cli(server_kind, ["--no-such-flag"])
    assert "no-such-flag" in result.stdout + result.stderr


def test_unknown_flag_exits_non_zero(server_kind):
    if server_kind == "nats-server":
        pytest.skip("nats-server prints the error and usage but exits 0")
    assert run_cli(server_kind, ["--no-such-flag"]).returncode != 0


def test_version_flag_prints_a_semver_and_exits_zero(server_kind):
    result = run_cli(server_kind, ["--version"])
    assert result.returncode == 0
    assert re.search(r"v?\d+\.\d+\.\d+", result.stdout + result.stderr)


def test_help_flag_lists_options_and_exits_zero(server_kind):
    result = run_cli(server_kind, ["--help"])
    assert result.returncode == 0
    usage = result.stdout + result.stderr
    for flag in ("--port", "--config", "--log", "--debug", "--trace", "--version"):
        assert flag in usage, flag


def test_log_flag_writes_info_lines_to_the_file(server_kind, server_factory, tmp_path):
    log_file = tmp_path / "broker.log"
    server_factory(server_kind, extra_args=["-l", str(log_file)])
    deadline = time.monotonic() + 15
    while not (log_file.exists() and "[INF]" in log_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "[INF]" in log_file.read_text()


def test_debug_flag_logs_debug_lines(server_kind, server_factory):
    running = server_factory(server_kind, extra_args=["-D"])
    with RawClient.handshake(running.port):
        assert "[DBG]" in wait_for_log(running, r"\[DBG\]")


def test_trace_flag_logs_protocol_trace_lines(server_kind, server_factory):
    running = server_factory(server_kind, extra_args=["-V"])
    with RawClient.handshake(running.port) as client:
        client.send(b"SUB traced.subject 1\r\n")
        client.fence()
        assert re.search(r"\[TRC\].*traced\.subject", wait_for_log(running, r"\[TRC\].*traced\.subject"))


def test_default_log_level_has_no_debug_or_trace_lines(server_kind, server_factory):
    running = server_factory(server_kind)
    with RawClient.handshake(running.port) as client:
        client.send(b"SUB quiet.subject 1\r\n")
        client.fence()
    text = wait_for_log(running, r"\[INF\]")
    assert "[INF]" in text
    assert "[DBG]" not in text and "[TRC]" not in text
