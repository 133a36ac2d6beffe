"""A real browser page using the official nats.ws client against each server's WebSocket port.

Headless Chromium (Debian's, driven by playwright-core through browser/drive.mjs) opens
browser/page.html from a local HTTP server on 127.0.0.1; the page connects to the ws:// URL in its
query string, subscribes, publishes with and without headers, makes a request that a nats-py
responder (over TCP) answers, makes one nobody answers, publishes for a nats-py subscriber, drains,
and writes what it saw as JSON into the page. The same assertions hold for edgenats and nats-server.

Needs node, chromium and the harness (`npm ci --prefix tests/websocket/browser`). Without them the
test skips, except under CI=true, where it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.server
import json
import os
import shutil
import signal
import threading
from pathlib import Path
from urllib.parse import urlencode

import nats
import pytest
from missing_tools import missing_tool
from subscribed import subscribed

HARNESS = Path(__file__).parent / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
DRIVER_TIMEOUT_MS = 30_000


def missing_tools() -> list[str]:
    missing = []
    if shutil.which("node") is None:
        missing.append("node (apt-get install -y nodejs npm)")
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (apt-get install -y --no-install-recommends chromium)")
    for package in ("playwright-core", "nats.ws"):
        if not (HARNESS / "node_modules" / package / "package.json").is_file():
            missing.append(f"{package} (npm ci --prefix tests/websocket/browser)")
    return missing


@pytest.fixture
def browser_tools():
    missing = missing_tools()
    if missing:
        missing_tool("browser test needs " + ", ".join(missing))


class HarnessHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".js": "text/javascript"}

    def log_message(self, format, *args):
        pass


@pytest.fixture
def page_server(browser_tools):
    """http://127.0.0.1:PORT serving tests/websocket/browser (node_modules included)."""
    handler = functools.partial(HarnessHandler, directory=str(HARNESS))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="page-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


async def run_driver(page_url: str) -> tuple[int, str, str]:
    """node drive.mjs PAGE_URL in its own process group; its Chromium is stopped with it."""
    process = await asyncio.create_subprocess_exec(
        "node", str(HARNESS / "drive.mjs"), page_url, str(DRIVER_TIMEOUT_MS),
        cwd=HARNESS, env=dict(os.environ, CHROMIUM=CHROMIUM),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=DRIVER_TIMEOUT_MS / 1000 * 2 + 30)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the group node leads: node and its Chromium
            await process.wait()
    return process.returncode, stdout.decode(errors="replace"), stderr.decode(errors="replace")


async def test_browser_page_with_nats_ws(server_kind, ws_factory, page_server):
    ws = ws_factory(server_kind)
    service = await nats.connect(ws.server.url, allow_reconnect=False, connect_timeout=5)
    try:
        async def double(msg):
            echoed = (msg.headers or {}).get("X-Request-Id", "")
            await service.publish(msg.reply, msg.data * 2,
                                  headers={"X-Responder": "nats-py", "X-Request-Id": echoed})

        await service.subscribe("browser.double", cb=double)
        from_browser = await service.subscribe("browser.to.python")
        await subscribed(service)
        server_id = service._server_info["server_id"]

        page_url = f"{page_server}/page.html?{urlencode({'url': ws.ws_url})}"
        returncode, stdout, stderr = await run_driver(page_url)
        assert returncode == 0, f"driver exit {returncode}\nstdout: {stdout}\nstderr: {stderr}"
        seen = json.loads(stdout)

        # nats.ws reports the server it connected to: this WebSocket port, this server's INFO.
        assert seen["server"] == f"127.0.0.1:{ws.ws_port}"
        assert seen["info"]["server_id"] == server_id
        assert seen["info"]["headers"] is True
        assert seen["info"]["proto"] >= 1
        assert seen["info"]["version"]
        assert seen["info"]["max_payload"] > 0

        assert sorted(seen["received"], key=lambda m: m["subject"]) == [
            {"subject": "browser.greet.one", "data": "hello", "headers": None},
            {"subject": "browser.greet.three", "data": "", "headers": None},
            {"subject": "browser.greet.two", "data": "with headers",
             "headers": {"X-Site": ["pi-7"], "X-Multi": ["a", "b"]}},
        ]
        assert seen["reply"]["data"] == "abab"
        assert seen["reply"]["headers"] == {"X-Responder": ["nats-py"], "X-Request-Id": ["req-42"]}
        assert seen["noResponders"] == "503"
        assert seen["closedError"] is None
        assert seen["isClosed"] is True

        # What the page published reached a nats-py client on the TCP port, headers and all.
        msg = await from_browser.next_msg(timeout=5)
        assert msg.data == b"from the browser"
        assert msg.headers["X-Site"] == "pi-7"
    finally:
        await service.close()
