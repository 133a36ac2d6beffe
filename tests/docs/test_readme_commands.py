"""The README's commands, run as it writes them: the quick start's broker (in a network namespace of its
own, so its 0.0.0.0:4222 touches nothing else) with JetStream storing in `.data`, the client's build
script, and a provision dry run. `./scripts/test`, the quick start's other command, is what runs this."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from missing_tools import missing_tool

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
# A client inside the broker's namespace: waits for 127.0.0.1:4222, stores a message in a stream of its
# own and reads it back from the store, then removes the stream; prints what it saw as JSON.
CLIENT = """
import asyncio, json, sys, nats
async def main():
    for _ in range(300):
        try:
            nc = await nats.connect("nats://127.0.0.1:4222", connect_timeout=1, allow_reconnect=False)
            break
        except Exception:
            await asyncio.sleep(0.1)
    js = nc.jetstream()
    name = sys.argv[1]
    await js.add_stream(name=name, subjects=[name + ".>"])
    ack = await js.publish(name + ".reading", b"21.5")
    stored = await js.get_msg(name, ack.seq)
    await js.delete_stream(name)
    print(json.dumps({"server": nc.connected_server_version.__str__(), "stored": stored.data.decode()}))
    await nc.close()
asyncio.run(main())
"""


def _readme_command(pattern: str) -> str:
    """The README's command line matching `pattern`, without its comment: the text the user copies."""
    found = re.search(rf"^({pattern}[^\n#]*?)\s*(#.*)?$", README, re.MULTILINE)
    assert found, f"the README no longer shows {pattern!r}"
    return found.group(1)


def test_the_quick_start_broker_runs_with_jetstream_in_its_data_folder(tmp_path):
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter"):
        missing_tool("the quick-start test runs the broker in a network namespace (root, unshare, nsenter)")
    command = _readme_command(r"\./scripts/serve")
    assert command == "./scripts/serve"
    # Its first-run install (if pyproject.toml changed) needs the network the namespace does not have.
    subprocess.run([command, "--help"], cwd=ROOT, check=True, capture_output=True, timeout=600)
    broker = subprocess.Popen(["unshare", "--net", "--", "sh", "-c", f"ip link set lo up && exec {command}"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    stream = f"QUICKSTART_{os.getpid()}_{int(time.time())}"
    # A broker that never gets ready is stopped, which ends the reading below.
    watchdog = threading.Timer(120, os.killpg, (broker.pid, signal.SIGTERM))
    watchdog.start()
    output = []
    try:
        # Ready means in its namespace too: only then does /proc/<pid>/ns/net name the broker's namespace.
        for line in broker.stdout:
            output.append(line)
            if "Server is ready" in line:
                break
        assert any("Listening for client connections on 0.0.0.0:4222" in line for line in output), "".join(output)
        client = subprocess.run(["nsenter", f"--net=/proc/{broker.pid}/ns/net", sys.executable, "-c", CLIENT,
                                 stream], capture_output=True, text=True, timeout=120)
        assert client.returncode == 0, client.stderr
        seen = json.loads(client.stdout)
        assert seen["stored"] == "21.5"
        assert (ROOT / ".data" / "jetstream").is_dir()
    finally:
        watchdog.cancel()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(broker.pid, signal.SIGTERM)
        broker.communicate(timeout=30)


def test_the_client_build_script_writes_an_mpy_per_module():
    command = _readme_command(r"\.venv/bin/python micropython_client/build\.py")
    done = subprocess.run(shlex.split(command), cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    built = json.loads((ROOT / "micropython_client" / "build" / "package.json").read_text())["urls"]
    assert {name for name, _ in built} == {f"unats/{p.stem}.mpy" for p in (ROOT / "micropython_client" / "unats")
                                           .glob("*.py")}


def test_a_provision_dry_run_as_the_readme_writes_it(tmp_path):
    command = _readme_command(r"edgenats device provision")
    assert command.endswith("--config device.json [--dry-run]")
    (tmp_path / "device.json").write_text(json.dumps({
        "device_id": "greenhouse-1", "servers": ["nats://192.168.10.20:4222"],
        "wifi": {"ssid": "site-iot", "password": "secret"}}))
    args = shlex.split(command.replace("[--dry-run]", "--dry-run"))
    args[0] = str(Path(sys.executable).parent / "edgenats")

    done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("board esp32 (")
    assert "  stage lib/edgeapp.mpy" in done.stdout and "  stage config.json" in done.stdout
