"""Run the `edgenats` operator CLI as a real subprocess: one-shot commands and background ones (`sub`,
`reply`) whose progress lines can be awaited."""

from __future__ import annotations

import select
import subprocess
import sys

OPERATOR_CLI = [sys.executable, "-m", "edgenats.cli.operator_main"]
COMMAND_TIMEOUT_S = 30.0


def run_cli(*args: str, timeout: float = COMMAND_TIMEOUT_S, stdin: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run one `edgenats` command to completion (given `stdin` and environment, if any), capturing stdout
    and stderr as text."""
    return subprocess.run([*OPERATOR_CLI, *args], capture_output=True, text=True, timeout=timeout, input=stdin,
                          env=env)


class BackgroundCommand:
    """A long-running `edgenats` command whose progress lines on stderr can be awaited."""

    def __init__(self, args: tuple[str, ...]) -> None:
        # Unbuffered binary pipes: readline then takes only one line, so select() stays truthful.
        self.process = subprocess.Popen(
            [*OPERATOR_CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
        )

    def wait_for_stderr_line(self, starting_with: str, timeout: float = 10.0) -> str:
        """Block until stderr shows a line starting with `starting_with` (e.g. "Subscribing on")."""
        while True:
            ready, _, _ = select.select([self.process.stderr], [], [], timeout)
            if not ready:
                raise AssertionError(f"no {starting_with!r} line within {timeout}s")
            line = self.process.stderr.readline().decode()
            if not line:
                code = self.process.wait()
                raise AssertionError(f"command exited ({code}) before printing {starting_with!r}")
            if line.startswith(starting_with):
                return line

    def read_stdout_line(self) -> str:
        """The next line on stdout without its newline ('' once the command exited)."""
        return self.process.stdout.readline().decode().rstrip("\n")

    def finish(self, timeout: float = 10.0) -> tuple[int, str, str]:
        """Wait for the command to exit on its own; returns (exit code, stdout, rest of stderr)."""
        stdout, stderr = self.process.communicate(timeout=timeout)
        return self.process.returncode, stdout.decode(), stderr.decode()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()
