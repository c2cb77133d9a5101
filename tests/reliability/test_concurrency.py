"""Concurrency through the real HTTP API against a real, committed database.

quality.md: "50 parallel links of one source patron give one linked account; parallel
updates with the same version give one success and STALE_VERSION for the rest; parallel
imports of one file write it once."

Unlike tests/linking/test_concurrency.py and tests/imports/test_jobs.py (an in-process app
on the suite's engine), the requests here go over TCP to `netzone serve` running in a
subprocess (uvicorn, its own connection pool) over a database of this module, and the
imports also run as separate `netzone import` processes. On SQLite the same requests
run: SQLite lets one transaction write at a time (this app's transactions start
IMMEDIATE), so they queue instead of racing, and the outcome must be the same.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_engine
from app.settings import Settings
from tests.reliability.counts import record
from tests.reliability.live_server import (
    ROOT,
    LiveDatabase,
    LiveServer,
    is_postgres,
    live_server,
    live_worker,
    netzone_command,
    service_env,
)
from tests.support.graphql import GraphQL
from tests.support.ids import pk_of
from tests.support.imports import STUDENTS, Importer
from tests.support.linking import SEARCH, today

DISCOVERY = "nzc_demo-western-discovery"  # WESTERN's discovery layer (scope linking)
LINKS = 50
UPDATES = 30

LINK = """mutation($ref: ID!, $reason: LinkReason!) {
  linkAccount(input: {sourcePatron: $ref, reason: $reason}) {
    linkedAccount { id institution { code } accountType surname version }
    created
    errors { code message field }
  }
}"""

CREATE = """mutation($input: CreatePatronInput!) {
  createPatron(input: $input) { patron { id version } errors { code message field } }
}"""

UPDATE = """mutation($input: UpdatePatronInput!) {
  updatePatron(input: $input) { patron { id version phone } errors { code message field } }
}"""

PATRON = """query($id: ID!) { node(id: $id) { ... on Patron { id version phone surname } } }"""

IMPORT = """mutation($input: ImportPatronsInput!) {
  importPatrons(input: $input) {
    job { id status } errors { code message field }
  }
}"""

JOB = """query($id: ID!) { node(id: $id) { ... on ImportJob {
  id status totalRows processedRows created updated unchanged failed message } } }"""

STUDENT_IDS = [f"NF{1000 + n}" for n in range(20)]


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
async def live_db(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveDatabase]:
    db = await LiveDatabase.create(database_url, "conc", tmp_path_factory.mktemp("conc"))
    try:
        await asyncio.to_thread(db.seed)
        yield db
    finally:
        await db.drop()


@pytest.fixture(scope="module")
def server(live_db: LiveDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`netzone serve`, and on PostgreSQL a `netzone worker` beside it (it runs imports)."""
    logs = tmp_path_factory.mktemp("conc-server")
    with live_server(live_db.url, logs / "serve.log") as running:
        if not is_postgres(live_db.url):
            yield running
            return
        with live_worker(live_db.url, logs / "worker.log"):
            yield running


@pytest.fixture(scope="module")
async def live_engine(live_db: LiveDatabase) -> AsyncIterator[AsyncEngine]:
    """For checks of what was committed (the API is what writes)."""
    engine = create_engine(Settings(DATABASE_URL=live_db.url))  # type: ignore[call-arg]
    yield engine
    await engine.dispose()


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client() as client:
        yield client
    assert server.alive(), server.log()


def _assert_clean(responses: list[httpx.Response]) -> list[dict[str, Any]]:
    """Every response is a 200 GraphQL answer without top-level errors."""
    bodies = []
    for response in responses:
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        bodies.append(body["data"])
    return bodies


async def _scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


# --------------------------------------------------------------------------------- links


async def test_fifty_parallel_links_of_one_source_give_one_linked_account(
    http: httpx.AsyncClient, live_engine: AsyncEngine
) -> None:
    gql = GraphQL(http)
    # Given an EASTERN patron, and WESTERN's discovery layer and a WESTERN librarian
    eastern = await gql.login("eastern.admin", "EASTERN-MAIN")
    created = await gql.ok(
        CREATE,
        {
            "input": {
                "institution": "EASTERN",
                "homeLibrary": "EASTERN-MAIN",
                "userGroup": "GRAD",
                "surname": "Racer",
                "givenName": "Rita",
                "identifiers": [{"type": "UNIV_ID", "value": "LIVE-LINK-1"}],
                "expiryDate": (today() + timedelta(days=200)).isoformat(),
            }
        },
        eastern,
    )
    assert created["createPatron"]["errors"] == [], created
    source_pk = pk_of(created["createPatron"]["patron"]["id"])
    librarian = await gql.login("western.librarian", "WESTERN-MAIN")
    refs = {}
    for who, token in (("discovery", DISCOVERY), ("librarian", librarian)):
        found = await gql.ok(SEARCH, {"input": {"identifier": "LIVE-LINK-1"}}, token)
        [match] = found["networkPatronSearch"]["matches"]
        assert match["linkedAccount"] is None
        refs[who] = match["ref"]

    # When both link the patron 50 times at once (a discovery request and a walk-in)
    async def link(n: int) -> httpx.Response:
        if n % 2:
            variables = {"ref": refs["discovery"], "reason": "DISCOVERY_REQUEST"}
            return await gql.raw(LINK, variables, DISCOVERY)
        return await gql.raw(LINK, {"ref": refs["librarian"], "reason": "WALK_IN"}, librarian)

    responses = await asyncio.gather(*(link(n) for n in range(LINKS)))
    record("concurrency: parallel requests", LINKS)

    # Then no 5xx, every call succeeded with the same account, exactly one created it
    payloads = [data["linkAccount"] for data in _assert_clean(list(responses))]
    assert [p["errors"] for p in payloads] == [[]] * LINKS, payloads
    assert sorted(p["created"] for p in payloads) == [False] * (LINKS - 1) + [True]
    ids = {p["linkedAccount"]["id"] for p in payloads}
    assert len(ids) == 1, ids
    [linked_id] = ids
    assert {p["linkedAccount"]["institution"]["code"] for p in payloads} == {"WESTERN"}

    # And the database holds one linked account of the source; search shows that one
    rows = await _scalar(
        live_engine,
        "SELECT count(*) FROM patron WHERE link_source_patron_id = :id",
        id=source_pk,
    )
    assert rows == 1
    again = await gql.ok(SEARCH, {"input": {"identifier": "LIVE-LINK-1"}}, librarian)
    [match] = again["networkPatronSearch"]["matches"]
    assert match["linkedAccount"] == {"id": linked_id}
    audited = await _scalar(
        live_engine,
        "SELECT count(*) FROM audit_entry WHERE action = 'link_account' AND entity_id = :id",
        id=pk_of(linked_id),
    )
    assert audited == 1


# ------------------------------------------------------------------------------- updates


async def test_parallel_updates_with_one_version_give_one_success_and_stale_versions(
    http: httpx.AsyncClient, live_engine: AsyncEngine
) -> None:
    gql = GraphQL(http)
    token = await gql.login("western.librarian", "WESTERN-MAIN")
    created = await gql.ok(
        CREATE,
        {
            "input": {
                "institution": "WESTERN",
                "homeLibrary": "WESTERN-MAIN",
                "surname": "Contended",
                "phone": "555-0000",
            }
        },
        token,
    )
    assert created["createPatron"]["errors"] == [], created
    patron = created["createPatron"]["patron"]
    version = patron["version"]

    # When 30 staff save a different phone number for the same version at once
    async def update(n: int) -> httpx.Response:
        phone = f"555-{n:04d}"
        return await gql.raw(
            UPDATE,
            {"input": {"id": patron["id"], "expectedVersion": version, "phone": phone}},
            token,
        )

    responses = await asyncio.gather(*(update(n) for n in range(1, UPDATES + 1)))
    record("concurrency: parallel requests", UPDATES)

    # Then exactly one succeeded and every other one got STALE_VERSION
    payloads = [data["updatePatron"] for data in _assert_clean(list(responses))]
    winners = [p for p in payloads if not p["errors"]]
    assert len(winners) == 1, payloads
    [winner] = winners
    assert winner["patron"]["version"] == version + 1
    for payload in payloads:
        if payload is winner:
            continue
        assert payload["patron"] is None, payload
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("STALE_VERSION", ["input", "expectedVersion"])
        ], payload

    # And the stored patron shows the winner's change, one version up, audited once
    stored = (await gql.ok(PATRON, {"id": patron["id"]}, token))["node"]
    assert stored["version"] == version + 1
    assert stored["phone"] == winner["patron"]["phone"]
    audited = await _scalar(
        live_engine,
        "SELECT count(*) FROM audit_entry WHERE action = 'update_patron' "
        "AND entity_type = 'Patron' AND entity_id = :id",
        id=pk_of(patron["id"]),
    )
    assert audited == 1


# ------------------------------------------------------------------------------- imports


def _cli_import(database_url: str, path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        netzone_command("import", str(path), "--institution", "NORTHFIELD", "--commit"),
        env=service_env(database_url),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def _finished_job(gql: GraphQL, token: str, job_id: str) -> dict[str, Any]:
    for _ in range(1200):
        job: dict[str, Any] = (await gql.ok(JOB, {"id": job_id}, token))["node"]
        if job["status"] not in ("QUEUED", "RUNNING"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"import job {job_id} never finished: {job}")


async def test_parallel_imports_of_one_file_write_it_once(
    http: httpx.AsyncClient, live_db: LiveDatabase, live_engine: AsyncEngine
) -> None:
    gql = GraphQL(http)
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    importer = Importer(http)
    content = STUDENTS.read_bytes()
    first_job = await _scalar(live_engine, "SELECT coalesce(max(id), 0) FROM import_job")

    # When the same file is imported at once by two `netzone import --commit` processes
    # and by two uploads to the API (background jobs of the server)
    processes = [_cli_import(live_db.url, STUDENTS) for _ in range(2)]
    uploads = await asyncio.gather(
        *(importer.raw(token, content, name=STUDENTS.name, query=IMPORT) for _ in range(2))
    )
    outputs = [await asyncio.to_thread(process.communicate, timeout=120) for process in processes]
    record("concurrency: parallel requests", 4)

    # Then every import succeeded, and the file's rows were created exactly once
    jobs = []
    for data in _assert_clean(list(uploads)):
        payload = data["importPatrons"]
        assert payload["errors"] == [], payload
        jobs.append(await _finished_job(gql, token, payload["job"]["id"]))
    for process, (output, _) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
        assert "SUCCEEDED" in output, output
    for job in jobs:
        assert (job["status"], job["failed"], job["updated"]) == ("SUCCEEDED", 0, 0), job
        assert (job["created"], job["unchanged"]) in ((20, 0), (0, 20)), job
    stored = await _stored_jobs(live_engine, first_job)
    assert len(stored) == 4
    assert {status for status, *_ in stored} == {"SUCCEEDED"}
    assert sorted(created for _, created, _ in stored) == [0, 0, 0, 20], stored
    assert all(created + unchanged == 20 for _, created, unchanged in stored), stored
    assert await _students(live_engine) == 20
    patrons = await _scalar(
        live_engine,
        "SELECT count(*) FROM audit_entry WHERE action = 'import_create_patron'",
    )
    assert patrons == 20


async def _stored_jobs(engine: AsyncEngine, after: int) -> list[tuple[str, int, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT status, created, unchanged FROM import_job "
                "WHERE id > :id AND dry_run = :dry ORDER BY id"
            ),
            {"id": after, "dry": False},
        )
        return [(r[0], int(r[1]), int(r[2])) for r in rows]


async def _students(engine: AsyncEngine) -> int:
    query = text(
        "SELECT count(DISTINCT i.patron_id) FROM patron_identifier i "
        "JOIN identifier_type t ON t.id = i.identifier_type_id "
        "WHERE t.code = 'ADMIN_SYSTEM_ID' AND i.value IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    async with engine.connect() as conn:
        return int((await conn.execute(query, {"ids": STUDENT_IDS})).scalar_one())
