"""Headless Chromium (Debian's /usr/bin/chromium) driven over the DevTools protocol with aiohttp's
WebSocket client: open a page at a window size, wait for an event the page dispatches, evaluate
JavaScript, take a full-page PNG. The browser runs in its own process group with a fresh profile and
is stopped by its pid; it talks to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import signal
import tempfile
from pathlib import Path

import aiohttp

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


class DevToolsError(RuntimeError):
    pass


class Browser:
    """One Chromium with one page target."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._profile = tempfile.TemporaryDirectory(prefix="edgenats-chromium-")
        self._http: aiohttp.ClientSession | None = None
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._listeners: list[tuple[str, asyncio.Future]] = []
        self._reader: asyncio.Task | None = None
        self.console: list[str] = []

    async def start(self, timeout: float = 30.0) -> None:
        self._process = await asyncio.create_subprocess_exec(
            CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--hide-scrollbars", "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0", f"--user-data-dir={self._profile.name}", "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, start_new_session=True)
        browser_url = await asyncio.wait_for(self._announced_url(), timeout)
        port = browser_url.split(":")[2].split("/")[0]
        self._http = aiohttp.ClientSession()
        async with self._http.get(f"http://127.0.0.1:{port}/json/list") as reply:
            targets = await reply.json(content_type=None)
        page = next(target for target in targets if target["type"] == "page")
        self._socket = await self._http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        await self.call("Page.enable")
        await self.call("Runtime.enable")

    async def _announced_url(self) -> str:
        while True:
            line = await self._process.stderr.readline()
            if not line:
                raise DevToolsError(f"chromium exited ({await self._process.wait()}) before listening")
            found = _LISTENING.search(line.decode(errors="replace"))
            if found:
                # Keep draining stderr so the browser never blocks on a full pipe.
                asyncio.create_task(self._drain_stderr())
                return found.group(1)

    async def _drain_stderr(self) -> None:
        while await self._process.stderr.readline():
            pass

    async def _read(self) -> None:
        async for message in self._socket:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            if "id" in data:
                future = self._pending.pop(data["id"], None)
                if future is not None and not future.done():
                    if "error" in data:
                        future.set_exception(DevToolsError(f"{data['error']}"))
                    else:
                        future.set_result(data.get("result", {}))
            elif data.get("method") == "Runtime.consoleAPICalled":
                args = data["params"]["args"]
                self.console.append(" ".join(str(arg.get("value", arg.get("description", ""))) for arg in args))
            elif data.get("method") == "Runtime.exceptionThrown":
                self.console.append("exception: " + json.dumps(data["params"]["exceptionDetails"])[:2000])
            for method, future in list(self._listeners):
                if data.get("method") == method and not future.done():
                    future.set_result(data.get("params", {}))
                    self._listeners.remove((method, future))

    async def call(self, method: str, **params) -> dict:
        message_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        await self._socket.send_str(json.dumps({"id": message_id, "method": method, "params": params}))
        return await asyncio.wait_for(future, 30)

    def event(self, method: str) -> asyncio.Future:
        """A future for the next `method` event (subscribe before causing it)."""
        future = asyncio.get_running_loop().create_future()
        self._listeners.append((method, future))
        return future

    async def set_viewport(self, width: int, height: int, mobile: bool) -> None:
        await self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                        mobile=mobile)

    async def open(self, url: str) -> None:
        loaded = self.event("Page.loadEventFired")
        await self.call("Page.navigate", url=url)
        await asyncio.wait_for(loaded, 30)

    async def evaluate(self, expression: str, timeout: float = 30.0):
        """The value of `expression` (a promise is awaited), as JSON-able data."""
        result = await asyncio.wait_for(
            self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True), timeout)
        if "exceptionDetails" in result:
            raise DevToolsError(json.dumps(result["exceptionDetails"])[:2000])
        return result["result"].get("value")

    async def screenshot(self, path: Path) -> None:
        """The whole page (not only the viewport) as a PNG."""
        metrics = await self.call("Page.getLayoutMetrics")
        size = metrics["cssContentSize"]
        shot = await self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                               clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
        path.write_bytes(base64.b64decode(shot["data"]))

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._socket is not None:
            await self._socket.close()
        if self._http is not None:
            await self._http.close()
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)  # chromium and the helpers it started
            await self._process.wait()
        self._profile.cleanup()


def rounds_done(at_least: int) -> str:
    """JavaScript: a promise that resolves once the dashboard has rendered `at_least` refreshes."""
    return f"""new Promise((resolve) => {{
      const check = () => Number(document.body.dataset.round) >= {at_least}
        ? resolve(Number(document.body.dataset.round))
        : document.addEventListener("dashboard:updated", check, {{ once: true }});
      check();
    }})"""
