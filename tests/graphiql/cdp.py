"""Headless Chromium driven over the DevTools protocol (websockets, no Node.js), with every
request that is not for one allowed origin refused and written down.

Two fences: `--host-resolver-rules` lets Chromium resolve no host name but 127.0.0.1, and
the Fetch domain holds every request of the page, lets through only the allowed origin's,
and fails the others (`refused`). `requests` lists every URL the page asked for.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
STARTUP_SECONDS = 30.0
COMMAND_SECONDS = 30.0

# The flags this machine's headless Chromium needs: without the background-networking
# ones it tries to reach Google's services at every start.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1400,900",
]

# Written down before any script of the page runs.
WATCH = """
window.__netzoneViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__netzoneViolations.push(e.effectiveDirective + " " + (e.blockedURI || "inline"));
});
"""


@dataclass
class Page:
    """One tab, attached over the browser's connection."""

    browser: Browser
    session: str
    allowed_origin: str
    requests: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.browser.send(method, params, self.session)

    def on_event(self, message: dict[str, Any]) -> None:
        method, params = message["method"], message.get("params", {})
        if method == "Fetch.requestPaused":
            self.browser.later(self._decide(params))
        elif method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.exceptions.append(
                details.get("exception", {}).get("description") or details["text"]
            )

    async def _decide(self, params: dict[str, Any]) -> None:
        url: str = params["request"]["url"]
        if url == self.allowed_origin or url.startswith(self.allowed_origin + "/"):
            await self.send("Fetch.continueRequest", {"requestId": params["requestId"]})
            return
        self.refused.append(url)
        await self.send(
            "Fetch.failRequest",
            {"requestId": params["requestId"], "errorReason": "BlockedByClient"},
        )

    async def evaluate(self, expression: str) -> Any:
        answer = await self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in answer:
            raise AssertionError(f"{expression!r} failed: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    async def wait_for(self, expression: str, seconds: float = 30.0) -> Any:
        """The first truthy value of `expression`, polled."""
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"still false after {seconds}s: {expression}")
            await asyncio.sleep(0.1)

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", {"url": url})

    async def click(self, element: str) -> None:
        """A real mouse click in the middle of an element (a JavaScript expression), once
        it is there and has a size."""
        box = await self.wait_for(
            f"""(() => {{
                  const e = {element};
                  if (!e) return null;
                  const r = e.getBoundingClientRect();
                  return r.width > 0 ? {{x: r.x + r.width / 2, y: r.y + r.height / 2}} : null;
                }})()"""
        )
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            await self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": box["x"], "y": box["y"], "button": "left", "clickCount": 1},
            )

    async def type_text(self, text: str) -> None:
        """Typed into the focused element, as the keyboard's input would be."""
        await self.send("Input.insertText", {"text": text})

    async def screenshot(self, path: Path) -> None:
        shot = await self.send("Page.captureScreenshot", {"format": "png"})
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))


class Browser:
    """Chromium's own DevTools connection: commands by id, events to the page they are for."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self._next_id = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._pages: dict[str, Page] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.connection:
            message = json.loads(raw)
            if "id" in message:
                future = self._pending.pop(message["id"], None)
                if future is not None and not future.done():
                    if "error" in message:
                        future.set_exception(AssertionError(str(message["error"])))
                    else:
                        future.set_result(message.get("result", {}))
            elif message.get("sessionId") in self._pages:
                self._pages[message["sessionId"]].on_event(message)

    def later(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        await self.connection.send(json.dumps(message))
        return await asyncio.wait_for(future, COMMAND_SECONDS)

    async def new_page(self, allowed_origin: str) -> Page:
        """A blank tab whose every request is held, and let through only to allowed_origin."""
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        page = Page(self, attached["sessionId"], allowed_origin)
        self._pages[page.session] = page
        await page.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})
        for domain in ("Network", "Runtime", "Page"):
            await page.send(f"{domain}.enable")
        await page.send("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
        return page

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(Exception):
            await self.connection.close()


@contextlib.asynccontextmanager
async def chromium(profile: Path, log: Path) -> AsyncIterator[Browser]:
    """Headless Chromium with a new empty profile, ended (by its own id) afterwards."""
    assert CHROMIUM is not None
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={profile}",
            "about:blank",
            stdout=out,
            stderr=out,
        )
    try:
        address = await _devtools_address(profile, process, log)
        async with connect(address, max_size=None, open_timeout=STARTUP_SECONDS) as connection:
            browser = Browser(connection)
            try:
                yield browser
            finally:
                await browser.close()
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _devtools_address(profile: Path, process: asyncio.subprocess.Process, log: Path) -> str:
    """Chromium writes the port it chose, and the browser's path, into the profile."""
    active = profile / "DevToolsActivePort"
    deadline = asyncio.get_running_loop().time() + STARTUP_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        if process.returncode is not None:
            raise AssertionError(f"Chromium exited early:\n{_text(log)}")
        lines = _text(active).split()
        if len(lines) >= 2:
            return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        await asyncio.sleep(0.1)
    raise AssertionError(f"Chromium did not start:\n{_text(log)}")


def _text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
