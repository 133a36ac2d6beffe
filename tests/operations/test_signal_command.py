"""`--signal <command>[=<pid or pid file>]` and `-P/--pid`, on both brokers: the pid file holds the
process id; `reopen` (SIGUSR1, what logrotate sends after moving the log file) makes the broker write to
a new file at the `-l` path and keep running; bad commands and pids fail with nats-server's words and
exit status 1.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time

from servers import server_command


def run_signal(kind: str, *arguments: str) -> subprocess.CompletedProcess:
    # The broker's own command line (its -a/-p flags are ignored when signalling).
    return subprocess.run(server_command(kind, 0, None, list(arguments)), capture_output=True, text=True,
                          timeout=30)


def wait_for_text(path, pattern: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if re.search(pattern, text):
            return text
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} not in {path} within {timeout}s: {text!r}")


def test_reopen_after_logrotate_moved_the_file(server_kind, server_factory, tmp_path):
    log_file, pid_file = tmp_path / "broker.log", tmp_path / "broker.pid"
    running = server_factory(server_kind, extra_args=["-l", str(log_file), "-P", str(pid_file)])
    assert pid_file.read_text().strip() == str(running.pid)
    wait_for_text(log_file, "Server is ready")
    rotated = tmp_path / "broker.log.1"
    log_file.rename(rotated)
    result = run_signal(server_kind, "--signal", f"reopen={pid_file}")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert "File log re-opened" in wait_for_text(log_file, "File log re-opened")
    assert 'Trapped "user defined signal 1" signal' in rotated.read_text()
    # SIGUSR1 itself (what logrotate's postrotate sends) does the same and never stops the broker.
    log_file.rename(rotated)
    running.process.send_signal(signal.SIGUSR1)
    wait_for_text(log_file, "File log re-opened")
    assert running.process.poll() is None
    assert running.stop() == 0


def test_unknown_signal_command_is_refused(server_kind):
    result = run_signal(server_kind, "--signal", "bogus=1")
    assert result.returncode == 1
    assert 'unknown signal "bogus"' in result.stderr


def test_signal_to_a_process_that_is_gone(server_kind):
    gone = subprocess.Popen(["true"])
    gone.wait()
    result = run_signal(server_kind, "--signal", f"ldm={gone.pid}")
    assert result.returncode == 1
    assert f'signal "ldm" {gone.pid}: no such process' in result.stderr


def test_signal_with_a_pid_file_that_is_missing(server_kind, tmp_path):
    missing = tmp_path / "missing.pid"
    result = run_signal(server_kind, "--signal", f"quit={missing}")
    assert result.returncode == 1
    assert f"invalid pid: {missing}" in result.stderr
