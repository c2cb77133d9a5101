"""Every GraphQL example of README.md and docs/ runs against the demo network, through the
real HTTP API, and gives the answer its page shows (docs/contributing.md).

The examples show what the quick start answers: the demo as `netzone demo` seeds it (750
patrons per institution) in a SQLite database, whatever database the rest of the suite
uses. It is seeded once; each page runs, in page order, on a fresh copy of it, so a page's
changes never reach another page.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from app import migrate
from app.db import Database, create_engine
from app.demo.seed import DEMO_PASSWORD, seed_demo
from app.main import create_app
from app.settings import Settings
from tests.docs.examples import (
    ROOT,
    Example,
    documented_examples,
    mismatches,
    payload_errors,
    pick,
    substitute,
    substitute_query,
)

EXAMPLES = documented_examples()
PAGES = [page for page, examples in EXAMPLES.items() if examples]


def _settings(path: Path) -> Settings:
    # Cheap password hashing keeps the run fast; imports finish inside the request, so a
    # job's answer can be read by the next example.
    return Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{path}",  # type: ignore[call-arg]
        environment="test",
        argon2_time_cost=1,
        argon2_memory_cost_kib=1024,
        argon2_parallelism=1,
        import_background=False,
    )


@pytest.fixture(scope="module")
async def seeded_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the demo network as `netzone demo` seeds it."""
    path = tmp_path_factory.mktemp("docs") / "demo.db"
    settings = _settings(path)
    await asyncio.to_thread(migrate.upgrade, settings.database_url)
    engine = create_engine(settings)
    async with Database(engine).session() as session:
        await seed_demo(session, settings)
    await engine.dispose()
    return path


@pytest.fixture
async def fresh_demo(seeded_demo: Path, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The API on a copy of the seeded demo, for one page."""
    path = tmp_path / "demo.db"
    await asyncio.to_thread(shutil.copyfile, seeded_demo, path)
    settings = _settings(path)
    engine = create_engine(settings)
    app = create_app(settings, Database(engine))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
        yield http
    await engine.dispose()


async def _token(http: httpx.AsyncClient, login: str, tokens: dict[str, str]) -> str:
    if login not in tokens:
        username, _, library = login.partition("@")
        response = await http.post(
            "/graphql",
            json={
                "query": "mutation($i: LoginInput!) { login(input: $i) { token errors { code } } }",
                "variables": {
                    "i": {"username": username, "password": DEMO_PASSWORD, "library": library}
                },
            },
        )
        data = response.json()["data"]["login"]
        assert data["errors"] == [], f"login {login}: {data}"
        tokens[login] = data["token"]
    return tokens[login]


async def _run(
    http: httpx.AsyncClient, example: Example, saved: dict[str, Any], tokens: dict[str, str]
) -> dict[str, Any]:
    query = substitute_query(example.query, saved)
    variables = substitute(example.variables, saved)
    headers: dict[str, str] = {}
    if example.bearer is not None:
        headers["authorization"] = f"Bearer {substitute(example.bearer, saved)}"
    elif example.login is not None:
        headers["authorization"] = f"Bearer {await _token(http, example.login, tokens)}"
    if example.uploads:
        files: dict[str, tuple[str, bytes]] = {}
        file_map: dict[str, list[str]] = {}
        for n, (target, file) in enumerate(example.uploads.items()):
            files[str(n)] = (Path(file).name, (ROOT / file).read_bytes())
            file_map[str(n)] = [f"variables.{target}"]
        operations = {"query": query, "variables": variables}
        response = await http.post(
            "/graphql",
            data={
                "operations": orjson.dumps(operations).decode(),
                "map": orjson.dumps(file_map).decode(),
            },
            files=files,
            headers=headers,
        )
    else:
        response = await http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    assert response.status_code == 200, f"{example.where}: HTTP {response.status_code}"
    body: dict[str, Any] = response.json()
    return body


def test_the_docs_show_examples_with_answers() -> None:
    examples = [example for page in EXAMPLES.values() for example in page]
    assert len(examples) >= 60
    assert sum(example.result is not None for example in examples) >= 40


@pytest.mark.parametrize("page", PAGES)
async def test_each_example_of_the_page_runs_and_answers_as_shown(
    page: str, fresh_demo: httpx.AsyncClient
) -> None:
    saved: dict[str, Any] = {}
    tokens: dict[str, str] = {}
    for example in EXAMPLES[page]:
        body = await _run(fresh_demo, example, saved, tokens)
        if example.result is not None:
            found = mismatches(example.result, body)
            assert found == [], f"{example.where}: the answer differs from the page:\n" + (
                "\n".join(found)
            )
        else:
            assert "errors" not in body, f"{example.where}: {body['errors']}"
            assert payload_errors(body["data"]) == [], f"{example.where}: {body['data']}"
        for name, path in example.saves.items():
            saved[name] = pick(body, path)
