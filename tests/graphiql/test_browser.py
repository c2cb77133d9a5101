"""GraphiQL in a real browser with no way out: headless Chromium resolves no host but
127.0.0.1 and every request for anywhere but the server is refused. The page renders from
the server's own files, a query sent with an Authorization header shows its result, the
token is written to no browser storage, and nothing breaks the Content-Security-Policy."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from app.demo.seed import DEMO_PASSWORD
from tests.graphiql.cdp import CHROMIUM, Browser, Page, chromium
from tests.reliability.live_server import LiveDatabase, LiveServer, live_server

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian: apt-get install chromium); .ci/run installs it",
)

QUERY_EDITOR = "document.querySelector('.graphiql-query-editor .CodeMirror')"
HEADERS_TAB = (
    "[...document.querySelectorAll('.graphiql-editor-tools button')]"
    ".find(b => b.textContent.trim() === 'Headers')"
)
HEADERS_EDITOR = (
    "document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror')"
)
RESPONSE = "document.querySelector('.graphiql-response .CodeMirror')"
EXECUTE = "document.querySelector('.graphiql-execute-button')"
VIEWER = "{ viewer { patron { username } library { code } } }"


@pytest.fixture(scope="module")
async def live_db(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveDatabase]:
    db = await LiveDatabase.create(database_url, "graphiql", tmp_path_factory.mktemp("graphiql"))
    db.seed()
    try:
        yield db
    finally:
        await db.drop()


@pytest.fixture(scope="module")
def server(
    live_db: LiveDatabase, graphiql_assets: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    log = tmp_path_factory.mktemp("graphiql-serve") / "serve.log"
    with live_server(live_db.url, log, graphiql_assets_dir=str(graphiql_assets)) as running:
        yield running


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    async with chromium(tmp_path / "profile", tmp_path / "chromium.log") as running:
        yield running


def _token(server: LiveServer) -> str:
    login = httpx.post(
        f"{server.base_url}/graphql",
        json={
            "query": 'mutation($p: String!) { login(input: {username: "lansing.librarian", '
            'password: $p, library: "LANSING"}) { token errors { message } } }',
            "variables": {"p": DEMO_PASSWORD},
        },
        timeout=30,
    )
    token: str = login.json()["data"]["login"]["token"]
    assert token
    return token


async def _replace_text(page: Page, editor: str, text: str) -> None:
    """Focus a GraphiQL editor, select all of it and type the text over it."""
    await page.wait_for(f"!!{editor}")
    await page.evaluate(
        f"(() => {{ const cm = {editor}.CodeMirror; cm.focus(); cm.execCommand('selectAll'); }})()"
    )
    await page.type_text(text)


def _outside(page: Page) -> list[str]:
    """Every request of the page that was not for the server itself (data: URLs are no requests)."""
    return [
        url
        for url in page.requests
        if not url.startswith("data:") and not url.startswith(page.allowed_origin + "/")
    ]


async def test_graphiql_runs_a_query_with_a_token_and_nothing_leaves_the_server(
    server: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    token = _token(server)
    page = await browser.new_page(server.base_url)
    await page.goto(f"{server.base_url}/graphql")
    await page.wait_for(f"!!{QUERY_EDITOR}")
    notice = await page.evaluate("document.getElementById('netzone-notice').innerText")
    assert "not saved in this browser" in notice

    await _replace_text(page, QUERY_EDITOR, VIEWER)
    await page.click(HEADERS_TAB)
    await _replace_text(page, HEADERS_EDITOR, json.dumps({"Authorization": f"Bearer {token}"}))
    await page.click(EXECUTE)
    shown = await page.wait_for(
        f"(() => {{ const r = {RESPONSE}; const v = r && r.CodeMirror.getValue();"
        " return v && v.includes('lansing.librarian') ? v : null; })()"
    )
    await page.screenshot(tmp_path / "graphiql.png")
    assert json.loads(shown)["data"]["viewer"] == {
        "patron": {"username": "lansing.librarian"},
        "library": {"code": "LANSING"},
    }

    # The token went with the request and nowhere into storage; the query did.
    storage = await page.evaluate(
        "JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage), document.cookie])"
    )
    assert token not in storage
    history = await page.evaluate("JSON.parse(localStorage.getItem('graphiql:queries'))")
    assert [item["query"] for item in history["queries"]] == [VIEWER]
    assert [item["headers"] for item in history["queries"]] == [None]
    assert "lansing" not in storage  # nor the response
    assert (
        "viewer" in storage
    )  # what GraphiQL does keep, so the check above looks in the right place

    # Reloaded, the query is there and the headers are empty.
    await page.goto(f"{server.base_url}/graphql")
    await page.wait_for(
        f"{QUERY_EDITOR} && {QUERY_EDITOR}.CodeMirror.getValue().includes('viewer')"
    )
    await page.click(HEADERS_TAB)
    headers = await page.wait_for(f"{HEADERS_EDITOR} && [{HEADERS_EDITOR}.CodeMirror.getValue()]")
    assert headers == [""]
    # Its history entry comes back without headers.
    await page.click("document.querySelector('button[aria-label=\"Show History\"]')")
    await page.click("document.querySelector('.graphiql-history-item-label')")
    assert await page.evaluate(f"{QUERY_EDITOR}.CodeMirror.getValue()") == VIEWER
    assert await page.evaluate(f"{HEADERS_EDITOR}.CodeMirror.getValue()") == ""

    # A dialog adds its own <style> element, with the page's nonce: no violation.
    await page.click("document.querySelector('button[aria-label=\"Open settings dialog\"]')")
    dialog = await page.wait_for("document.querySelector('[role=dialog]')?.innerText")
    assert "Persist headers" not in dialog

    assert await page.evaluate("window.__netzoneViolations") == []
    assert page.exceptions == []
    assert page.refused == []
    assert _outside(page) == []
    loaded = {url.removeprefix(server.base_url) for url in page.requests}
    assert "/graphiql/assets/react@18.3.1/umd/react.production.min.js" in loaded
    assert "/graphiql/assets/graphiql@3.9.0/graphiql.min.js" in loaded


async def test_the_fences_hold(server: LiveServer, browser: Browser) -> None:
    """What the test above relies on: the policy reports what it blocks, and a request for
    another host is refused and written down."""
    page = await browser.new_page(server.base_url)
    await page.goto(f"{server.base_url}/graphql")
    await page.wait_for(f"!!{QUERY_EDITOR}")
    await page.evaluate(
        "(() => { const s = document.createElement('style'); s.textContent = 'body{}';"
        " document.head.appendChild(s); })()"
    )
    violations = await page.wait_for(
        "window.__netzoneViolations.length && window.__netzoneViolations"
    )
    assert violations == ["style-src-elem inline"]

    await page.goto("http://netzone-outside.example/")
    for _ in range(100):
        if page.refused:
            break
        await asyncio.sleep(0.1)
    assert page.refused == ["http://netzone-outside.example/"]
