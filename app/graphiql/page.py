"""The GraphiQL page of `GET /graphql` and its files under /graphiql/assets/, all from this
server: the page's Content-Security-Policy lets the browser load and connect to nothing
else. Without the files the page says how to fetch them; the API works either way."""

from __future__ import annotations

import html
import secrets
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

from app.graphiql.assets import FETCH_COMMAND, Assets, assets_dir, assets_in
from app.settings import Settings

ASSETS_PREFIX = "/graphiql/assets/"
TEMPLATE = Path(__file__).with_name("page.html")

CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# The files' URLs carry their version, so a browser may keep them for good.
ASSET_HEADERS = {
    "cache-control": "public, max-age=31536000, immutable",
    "x-content-type-options": "nosniff",
}


def content_security_policy(nonce: str) -> str:
    """Only this origin, plus the nonce of the page's own script and style elements
    (GraphiQL's menus add <style> elements that carry it). Fonts come as data: URLs."""
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def _headers(nonce: str) -> dict[str, str]:
    return {
        "content-security-policy": content_security_policy(nonce),
        "cache-control": "no-store",  # a new nonce every time
        "referrer-policy": "no-referrer",
        "x-content-type-options": "nosniff",
    }


@lru_cache(maxsize=1)
def _template() -> str:
    return TEMPLATE.read_text(encoding="utf-8")


def _tags(assets: Assets) -> tuple[str, str]:
    styles = "\n".join(
        f'    <link rel="stylesheet" href="{ASSETS_PREFIX}{html.escape(f.key)}" '
        f'integrity="{f.integrity}" />'
        for f in assets.of_kind(".css")
    )
    scripts = "\n".join(
        f'    <script src="{ASSETS_PREFIX}{html.escape(f.key)}" integrity="{f.integrity}"></script>'
        for f in assets.of_kind(".js")
    )
    return styles, scripts


def graphiql_page(settings: Settings) -> Response:
    """GraphiQL, or (503) what an operator runs to install it."""
    assets = assets_in(assets_dir(settings))
    nonce = secrets.token_urlsafe(18)
    if not assets.ready():
        return HTMLResponse(
            _missing_page(assets.problems(), nonce), status_code=503, headers=_headers(nonce)
        )
    styles, scripts = _tags(assets)
    page = (
        _template()
        .replace("{{stylesheets}}", styles)
        .replace("{{scripts}}", scripts)
        .replace("{{nonce}}", nonce)
    )
    return HTMLResponse(page, headers=_headers(nonce))


def _missing_page(problems: list[str], nonce: str) -> str:
    shown = "".join(f"<li>{html.escape(p)}</li>" for p in problems[:8])
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8" />
<title>netzone: GraphiQL is not installed</title>
<link rel="icon" href="data:," />
<style nonce="{nonce}">body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 46em; margin: 2em auto; padding: 0 1em; }}
pre {{ background: #f3f4f6; padding: 0.5em 1em; }}</style>
</head>
<body>
<h1>GraphiQL is not installed on this server</h1>
<p>netzone serves GraphiQL's browser files (React and GraphiQL) itself, so that the page
works without internet. They are fetched once, from the npm registry's tarballs, checked
against <code>app/graphiql/assets.lock.json</code>. An operator runs:</p>
<pre>{FETCH_COMMAND}</pre>
<p>Without internet: <code>{FETCH_COMMAND} --from DIR</code>, with DIR a directory holding
the tarballs (<code>npm pack</code> makes them) or an npm cache, or <code>--from URL</code>
for a mirror of the registry. Then reload this page.</p>
<p><strong>The API itself works</strong>: send queries and mutations by <code>POST</code>
to <code>/graphql</code>.</p>
<p>What is not there:</p>
<ul>{shown}</ul>
</body>
</html>
"""


async def graphiql_asset(request: Request) -> Response:
    """One of the lock's files, once they all match it; anything else is not found."""
    settings: Settings = request.app.state.settings
    key = request.path_params["asset"]
    path = assets_in(assets_dir(settings)).path(key) if settings.graphiql else None
    if path is None:
        return PlainTextResponse(
            f"Not found. GraphiQL's files are installed with: {FETCH_COMMAND}", status_code=404
        )
    media_type = CONTENT_TYPES.get(Path(key).suffix, "text/plain; charset=utf-8")
    return FileResponse(path, media_type=media_type, headers=ASSET_HEADERS)
