"""GraphiQL over plain HTTP: the page and its policy, the files it loads from this server,
and what a server without those files answers (the API works all the same)."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.db import Database
from app.graphiql.assets import load_lock
from app.main import create_app
from app.settings import Settings

HTML = {"accept": "text/html"}


def _policy(response: httpx.Response) -> dict[str, list[str]]:
    directives = response.headers["content-security-policy"].split(";")
    return {d.split()[0]: d.split()[1:] for d in (d.strip() for d in directives) if d}


@pytest.fixture
async def served(
    settings: Settings, database: Database, graphiql_assets: Path
) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client_on(settings, database, graphiql_assets) as http:
        yield http


async def _client_on(
    settings: Settings, database: Database, directory: Path, **changes: object
) -> httpx.AsyncClient:
    changed = settings.model_copy(update={"graphiql_assets_dir": str(directory), **changes})
    app = create_app(changed, database)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://netzone.test")


async def test_the_page_allows_only_this_server_and_its_own_nonce(
    served: httpx.AsyncClient,
) -> None:
    response = await served.get("/graphql", headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    nonce = re.search(r'<script nonce="([^"]+)">', page)
    assert nonce is not None
    assert _policy(response) == {
        "default-src": ["'none'"],
        "script-src": ["'self'", f"'nonce-{nonce.group(1)}'"],
        "style-src": ["'self'", f"'nonce-{nonce.group(1)}'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    # Every script and stylesheet is one of the lock's, from this server, with its hash.
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sorted(sources) == sorted(
        ["data:,"]
        + [
            f"/graphiql/assets/{f.key}"
            for f in load_lock().files
            if f.path.endswith((".js", ".css"))
        ]
    )
    for file in load_lock().files:
        if file.path.endswith((".js", ".css")):
            assert f'/graphiql/assets/{file.key}" integrity="{file.integrity}"' in page
    assert "http://" not in page
    assert "https://" not in page
    # The headers editor is never persisted, and the page says so.
    assert "shouldPersistHeaders: false" in page
    assert "not saved in this browser" in page
    again = await served.get("/graphql", headers=HTML)
    assert _policy(again)["script-src"] != _policy(response)["script-src"]  # a nonce per page


async def test_the_files_are_served_with_their_types_and_bytes(served: httpx.AsyncClient) -> None:
    types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
    for file in load_lock().files:
        response = await served.get(f"/graphiql/assets/{file.key}")
        assert response.status_code == 200, file.key
        suffix = Path(file.path).suffix
        assert response.headers["content-type"] == types.get(suffix, "text/plain; charset=utf-8")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "immutable" in response.headers["cache-control"]
        digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
        assert f"sha384-{digest}" == file.integrity
    head = await served.head("/graphiql/assets/react@18.3.1/umd/react.production.min.js")
    assert head.status_code == 200
    assert head.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "react@18.3.1/package.json",  # in the tarball, not in the lock
        "react@18.2.0/umd/react.production.min.js",  # another version
        "react@18.3.1/umd",  # a folder
        "..%2F..%2Fetc%2Fpasswd",
        "",
    ],
)
async def test_only_the_locks_files_are_served(served: httpx.AsyncClient, path: str) -> None:
    response = await served.get(f"/graphiql/assets/{path}")
    assert response.status_code == 404
    assert "netzone fetch-graphiql-assets" in response.text


async def test_without_the_files_the_page_says_how_to_fetch_them_and_the_api_works(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    async with await _client_on(settings, database, tmp_path / "nothing") as http:
        page = await http.get("/graphql", headers=HTML)
        assert page.status_code == 503
        assert page.headers["content-type"].startswith("text/html")
        assert "netzone fetch-graphiql-assets" in page.text
        assert "--from DIR" in page.text
        assert "The API itself works" in page.text
        assert "react@18.3.1/umd/react.production.min.js is missing" in page.text
        assert "<script" not in page.text
        assert _policy(page)["default-src"] == ["'none'"]
        asset = await http.get("/graphiql/assets/react@18.3.1/umd/react.production.min.js")
        assert asset.status_code == 404
        posted = await http.post("/graphql", json={"query": "{ __typename }"})
        assert posted.json() == {"data": {"__typename": "Query"}}
        got = await http.get("/graphql", params={"query": "{ __typename }"}, headers=HTML)
        assert got.json() == {"data": {"__typename": "Query"}}


async def test_a_file_that_does_not_match_the_lock_is_never_served(
    settings: Settings, database: Database, graphiql_assets: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "assets"
    shutil.copytree(graphiql_assets, copy)
    react = copy / "react@18.3.1/umd/react.production.min.js"
    react.write_bytes(react.read_bytes() + b"\nalert(1);\n")
    async with await _client_on(settings, database, copy) as http:
        page = await http.get("/graphql", headers=HTML)
        assert page.status_code == 503
        assert "react@18.3.1/umd/react.production.min.js does not match the lock" in page.text
        for file in load_lock().files:
            assert (await http.get(f"/graphiql/assets/{file.key}")).status_code == 404


async def test_no_files_are_served_with_graphiql_off(
    settings: Settings, database: Database, graphiql_assets: Path
) -> None:
    async with await _client_on(settings, database, graphiql_assets, graphiql=False) as http:
        response = await http.get("/graphiql/assets/react@18.3.1/umd/react.production.min.js")
        assert response.status_code == 404
