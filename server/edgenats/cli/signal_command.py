"""`edgenats-server --signal <command>[=<pid or pid file>]`: nats-server's way of signalling a running
broker. The process is the one named after `=` (a process id or a pid file's path), else the only
edgenats-server process running (as nats-server, `-P` is not consulted). Nothing is printed on success;
errors go to stderr with exit status 1.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

PROGRAM = "edgenats-server"

# As nats-server: `stop` kills at once, `quit` and `term` stop cleanly, `ldm` enters lame-duck mode.
COMMANDS = {
    "stop": signal.SIGKILL,
    "quit": signal.SIGINT,
    "term": signal.SIGTERM,
    "reopen": signal.SIGUSR1,
    "reload": signal.SIGHUP,
    "ldm": signal.SIGUSR2,
}


class SignalError(Exception):
    """Why the signal was not sent (the text nats-server prints)."""


def send_signal(argument: str) -> int:
    command, _, target = argument.partition("=")
    try:
        if command not in COMMANDS:
            raise SignalError(f'unknown signal "{command}"')
        pid = resolve_pid(target)
        try:
            os.kill(pid, COMMANDS[command])
        except OSError as error:
            raise SignalError(f'\nsignal "{command}" {pid}: {_reason(error)}') from None
    except SignalError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return 1
    return 0


def resolve_pid(target: str) -> int:
    """A process id given as a number or as a pid file's path; with neither, the one broker running."""
    if not target:
        return _only_broker()
    if target.isdigit():
        return int(target)
    try:
        text = Path(target).read_text()
    except OSError:
        raise SignalError(f"invalid pid: {target}") from None
    if not text.strip().isdigit():
        raise SignalError(f"invalid pid: {text}")
    return int(text.strip())


def _only_broker() -> int:
    pids = [pid for pid in _broker_pids() if pid != os.getpid()]
    if not pids:
        raise SignalError(f"no {PROGRAM} processes running")
    if len(pids) > 1:
        raise SignalError(f"multiple {PROGRAM} processes running:\n" + "\n".join(map(str, pids)))
    return pids[0]


def _broker_pids() -> list[int]:
    """Processes whose command line is edgenats-server (the script, or `python -m edgenats`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if _is_broker(argv):
            found.append(int(entry.name))
    return sorted(found)


def _is_broker(argv: list[bytes]) -> bool:
    if any(Path(arg.decode(errors="replace")).name == PROGRAM for arg in argv[:2]):
        return True
    return any(argv[i] == b"-m" and argv[i + 1] == b"edgenats" for i in range(len(argv) - 1))


def _reason(error: OSError) -> str:
    # Go's wording for the usual errno values.
    return {3: "no such process", 1: "operation not permitted"}.get(error.errno, error.strerror or str(error))
