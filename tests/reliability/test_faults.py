"""Faults, through the real HTTP API and CLI against a real, committed database.

quality.md: "the database restarting during load gives errors for the requests in flight
and none after it is back, with no partial writes; an import killed midway leaves
nothing half-written and can be re-run."

- The restart: `netzone serve` (a subprocess) over a PostgreSQL cluster of this module's
  own (initdb + pg_ctl in a temporary directory), stopped and started again twice while
  eight clients keep sending queries and createPatron mutations: once a clean fast
  shutdown, once an immediate one (a crash: recovery at the next start). SQLite has no
  server to restart: skipped there.
- The kill: `netzone import FILE --commit` in a subprocess is killed with SIGKILL once its
  progress bar shows rows processed; then nothing of the file exists, the job is not
  SUCCEEDED, and running the command again imports the whole file. Both databases.
"""

from __future__ import annotations

import asyncio
import csv
import os
import re
import signal
import subprocess
import threading
import time
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_engine
from app.settings import Settings, normalize_database_url
from tests.reliability.counts import record
from tests.reliability.live_server import (
    ROOT,
    LiveDatabase,
    LiveServer,
    PrivateCluster,
    is_postgres,
    live_server,
    netzone,
    netzone_command,
    pg_admin,
    postgres_binaries,
    service_env,
)
from tests.support.graphql import GraphQL

WORKERS = 8
REQUEST_TIMEOUT = 20.0  # a request in flight must be answered well within this

CREATE = """mutation($input: CreatePatronInput!) {
  createPatron(input: $input) { patron { id surname } errors { code message field } }
}"""

LIST = """query { patrons(institution: "WESTERN", first: 5) {
  totalCount edges { node { id surname userGroup { code } } } } }"""


def _engine(url: str) -> AsyncEngine:
    return create_engine(Settings(DATABASE_URL=url))  # type: ignore[call-arg]


# ============================================================ the database restarts


@dataclass
class Restartable:
    """The server under load and a way to take its database away and bring it back."""

    server: LiveServer
    database_url: str
    cluster: PrivateCluster | None  # None: restarts are simulated (pg_terminate_backend)

    async def restart(self, mode: str, down_seconds: float) -> None:
        if self.cluster is not None:
            await asyncio.to_thread(self.cluster.stop, mode)
            started = time.monotonic()
            async with httpx.AsyncClient(base_url=self.server.base_url, timeout=15) as probe:
                ready = await probe.get("/readyz")
            assert ready.status_code == 503, ready.text  # the probe tells it is down
            await asyncio.sleep(max(0.0, down_seconds - (time.monotonic() - started)))
            await asyncio.to_thread(self.cluster.start)
            return
        # No PostgreSQL binaries here: end every connection of the app instead.
        name = make_url(self.database_url).database
        await pg_admin(
            self.database_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND application_name = 'netzone'",
        )


@pytest.fixture(scope="module")
async def restartable(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Restartable]:
    if not is_postgres(database_url):
        pytest.skip("SQLite is a file inside the process: there is no database server to restart")
    base = make_url(normalize_database_url(database_url)).database
    tmp = tmp_path_factory.mktemp("fault-restart")
    binaries = postgres_binaries()
    cluster: PrivateCluster | None = None
    db: LiveDatabase | None = None
    try:
        if binaries is not None:
            cluster = PrivateCluster(binaries)
            try:
                await asyncio.to_thread(cluster.init)
                await asyncio.to_thread(cluster.start)
            except (RuntimeError, OSError, LookupError) as problem:
                # No cluster of our own here (no `postgres` user, no runuser, ...).
                warnings.warn(
                    f"simulating the restarts with pg_terminate_backend: {problem}",
                    UserWarning,
                    stacklevel=1,
                )
                await asyncio.to_thread(cluster.destroy)
                cluster = None
        if cluster is not None:
            name = f"{base}_fault"
            await pg_admin(cluster.url, f'CREATE DATABASE "{name}"')
            db = LiveDatabase(cluster.database_url(name))
        else:
            db = await LiveDatabase.create(database_url, "fault", tmp)
        await asyncio.to_thread(db.seed)
        with live_server(db.url, tmp / "serve.log") as server:
            yield Restartable(server, db.url, cluster)
    finally:
        if cluster is not None:
            await asyncio.to_thread(cluster.destroy)
        elif db is not None:
            await db.drop()


@dataclass
class Outcome:
    kind: str  # "create" or "list"
    key: str | None
    started: float
    ended: float
    status: int | None  # None: no HTTP answer at all
    body: Any
    failure: str | None = None


def _ok(outcome: Outcome) -> bool:
    if outcome.status != 200 or not isinstance(outcome.body, dict) or "errors" in outcome.body:
        return False
    if outcome.kind == "create":
        return outcome.body["data"]["createPatron"]["errors"] == []
    return True


def _clean_error(outcome: Outcome) -> str | None:
    """Why a failed request's answer is not a clear error (None: it is one)."""
    if outcome.status is None:
        return f"no answer: {outcome.failure}"
    if outcome.ended - outcome.started > REQUEST_TIMEOUT:
        return "answered too late"
    if not isinstance(outcome.body, dict):
        return f"HTTP {outcome.status} without a GraphQL JSON body: {outcome.body!r}"
    if outcome.status not in (200, 500, 503):
        return f"HTTP {outcome.status}: {outcome.body}"
    errors = outcome.body.get("errors") or []
    if not errors:
        payload = (outcome.body.get("data") or {}).get("createPatron") or {}
        if payload.get("errors"):
            return f"a database failure reported as a user error: {payload['errors']}"
        return "failed without saying why"
    # SERVICE_UNAVAILABLE (the database cannot be reached: HTTP 503 outside the
    # resolvers, 200 inside), or the masked error of anything unexpected (HTTP 500
    # outside the resolvers, 200 inside): an error id that is logged, nothing of the
    # exception itself.
    expected = {
        200: {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"},
        500: {"INTERNAL_SERVER_ERROR"},
        503: {"SERVICE_UNAVAILABLE"},
    }
    for error in errors:
        extensions = error.get("extensions") or {}
        code = extensions.get("code")
        if code not in expected[outcome.status]:
            return f"HTTP {outcome.status} with error code {code}: {error}"
        if not extensions.get("errorId"):
            return f"no error id to find it in the log: {error}"
        if set(error) - {"message", "locations", "path", "extensions"}:
            return f"more than a masked error: {error}"
        if code == "INTERNAL_SERVER_ERROR" and error["message"] != "Internal server error":
            return f"an internal error leaks: {error}"
    return None


async def test_the_database_restarting_under_load(restartable: Restartable) -> None:
    server = restartable.server
    async with server.client(timeout=REQUEST_TIMEOUT + 10) as http:
        gql = GraphQL(http)
        token = await gql.login("western.librarian", "WESTERN-MAIN")
        outcomes: list[Outcome] = []
        stop = asyncio.Event()
        serial = 0

        async def send(kind: str) -> None:
            nonlocal serial
            serial += 1
            key = f"Restart{serial:05d}" if kind == "create" else None
            variables: dict[str, Any] = {}
            query = LIST
            if kind == "create":
                query = CREATE
                variables = {
                    "input": {
                        "institution": "WESTERN",
                        "homeLibrary": "WESTERN-MAIN",
                        "surname": key,
                        "identifiers": [{"type": "UNIV_ID", "value": key}],
                    }
                }
            started = time.monotonic()
            try:
                response = await gql.raw(query, variables, token)
            except httpx.HTTPError as exc:
                outcomes.append(
                    Outcome(kind, key, started, time.monotonic(), None, None, repr(exc))
                )
                return
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text[:500]
            outcomes.append(
                Outcome(kind, key, started, time.monotonic(), response.status_code, body)
            )

        async def worker(n: int) -> None:
            i = 0
            while not stop.is_set():
                await send("create" if (n + i) % 2 else "list")
                i += 1

        workers = [asyncio.create_task(worker(n)) for n in range(WORKERS)]
        try:
            await asyncio.sleep(1.0)  # load before any fault: everything succeeds
            faults = []
            for mode in ("fast", "immediate"):
                down = time.monotonic()
                await restartable.restart(mode, down_seconds=1.0)
                back = time.monotonic()
                record("faults injected", 1)
                faults.append((down, back))
                await asyncio.sleep(1.5)  # load after it is back
        finally:
            stop.set()
            await asyncio.gather(*workers)
        assert server.alive(), server.log()

        # Requests in flight or sent while it was down got a clear, prompt error (or
        # succeeded: a fast shutdown lets running transactions finish)
        failed = [o for o in outcomes if not _ok(o)]
        unclear = [(o, why) for o in failed if (why := _clean_error(o)) is not None]
        assert unclear == [], unclear[:5]
        if restartable.cluster is not None:
            assert failed, "the restarts went unnoticed: no request failed"
        # Every request that did not overlap a restart succeeded: before the first, and
        # after the database was back (stale pooled connections are replaced: pre-ping)
        calm = [
            o
            for o in outcomes
            if not any(o.started < back and o.ended > down for down, back in faults)
        ]
        assert [o for o in calm if not _ok(o)] == []
        assert any(o.ended < faults[0][0] for o in calm), "no request before the restarts"
        for _, back in faults:
            assert any(o.started >= back for o in calm), "no request after a restart"
        record("fault test: requests during restarts", len(outcomes))

        # No partial writes: every patron a createPatron attempt left is complete, and
        # every one that was reported created exists
        engine = _engine(restartable.database_url)
        try:
            async with engine.connect() as conn:
                rows = (
                    await conn.execute(
                        text(
                            "SELECT p.surname, "
                            "(SELECT count(*) FROM patron_identifier i WHERE i.patron_id = p.id), "
                            "(SELECT count(*) FROM audit_entry a WHERE a.entity_id = p.id "
                            " AND a.entity_type = 'Patron' AND a.action = 'create_patron') "
                            "FROM patron p WHERE p.surname LIKE 'Restart%'"
                        )
                    )
                ).all()
        finally:
            await engine.dispose()
        stored = {surname: (int(ids), int(audits)) for surname, ids, audits in rows}
        creates = [o for o in outcomes if o.kind == "create"]
        assert {s: v for s, v in stored.items() if v != (1, 1)} == {}
        assert set(stored) <= {o.key for o in creates}
        reported = {o.key for o in creates if _ok(o)}
        assert reported <= set(stored), reported - set(stored)
        # ... and the readiness probe agrees that the database is back
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text


# ===================================================== an import killed midway


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
PROGRESS = re.compile(r"(\d+)/(\d+)")
KILL_ROWS = (5000, 20000)  # a bigger file if an import ends before it could be killed


@pytest.fixture(scope="module")
async def import_db(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveDatabase]:
    db = await LiveDatabase.create(database_url, "fault", tmp_path_factory.mktemp("fault-kill"))
    try:
        await asyncio.to_thread(db.seed)
        yield db
    finally:
        await db.drop()


def _write_students(path: Path, prefix: str, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            "admin_system_id,username,barcode,given_name,surname,primary_email,enabled,"
            "cohort,form_class,home_library,user_group,expiry_date,system_groups".split(",")
        )
        for n in range(rows):
            writer.writerow(
                [
                    f"{prefix}{n:06d}",
                    f"{prefix.lower()}.student{n}",
                    f"{prefix}-{n:06d}",
                    "Kim",
                    f"Killed{n}",
                    f"{prefix.lower()}{n}@northfield.example.edu",
                    "true",
                    "2028",
                    "8A",
                    "NORTHFIELD-MAIN",
                    "STUDENT",
                    "2030-12-31",
                    "LIBRARY_USERS",
                ]
            )


class ProgressWatcher:
    """Reads a running command's output (its progress bar) on a thread."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.text = ""
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := self.process.stdout.read1(65536):  # type: ignore[attr-defined]
            with self._lock:
                self.text += chunk.decode("utf-8", errors="replace")

    def processed(self) -> int:
        """The largest row count the progress bar has shown (0 if none yet)."""
        with self._lock:
            plain = ANSI.sub("", self.text)
        return max((int(done) for done, _ in PROGRESS.findall(plain)), default=0)

    def output(self) -> str:
        self._thread.join(timeout=10)
        return ANSI.sub("", self.text)


@dataclass
class Killed:
    path: Path
    prefix: str
    rows: int
    processed: int


def _kill_midway(database_url: str, directory: Path, deadline: float) -> Killed | None:
    """Start imports of growing files until one is killed with rows processed and none
    committed; None if every one ended before it could be killed."""
    for attempt, rows in enumerate(KILL_ROWS):
        prefix = f"KILL{attempt}X"
        path = directory / f"kill-{rows}.csv"
        _write_students(path, prefix, rows)
        env = service_env(database_url)
        env.update({"FORCE_COLOR": "1", "COLUMNS": "160", "TERM": "xterm"})
        process = subprocess.Popen(
            netzone_command("import", str(path), "--institution", "NORTHFIELD", "--commit"),
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        watcher = ProgressWatcher(process)
        try:
            while process.poll() is None and time.monotonic() < deadline:
                done = watcher.processed()
                if 0 < done < rows:
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait(timeout=30)
                    return Killed(path, prefix, rows, done)
                time.sleep(0.01)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
            watcher.output()
            assert process.stdout is not None
            process.stdout.close()
        if time.monotonic() >= deadline:
            raise AssertionError(f"no progress shown in time:\n{watcher.output()[-3000:]}")
    return None


async def _file_state(engine: AsyncEngine, prefix: str) -> tuple[int, int]:
    """(patrons of the file, audit entries of their creation) committed."""
    async with engine.connect() as conn:
        patrons = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM patron_identifier i "
                    "JOIN identifier_type t ON t.id = i.identifier_type_id "
                    "WHERE t.code = 'ADMIN_SYSTEM_ID' AND i.value LIKE :p"
                ),
                {"p": f"{prefix}%"},
            )
        ).scalar_one()
        named = (
            await conn.execute(
                text("SELECT count(*) FROM patron WHERE username LIKE :p"),
                {"p": f"{prefix.lower()}.%"},
            )
        ).scalar_one()
    return int(patrons), int(named)


async def _jobs_of(engine: AsyncEngine, filename: str) -> list[tuple[int, str, str | None]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT id, status, message FROM import_job WHERE filename = :f ORDER BY id"),
            {"f": filename},
        )
        return [(int(r[0]), str(r[1]), r[2]) for r in rows]


async def test_an_import_killed_midway_leaves_nothing_and_can_be_rerun(
    import_db: LiveDatabase, tmp_path: Path
) -> None:
    engine = _engine(import_db.url)
    try:
        # Given `netzone import --commit` of a big file, killed (SIGKILL) mid-import
        killed = await asyncio.to_thread(
            _kill_midway, import_db.url, tmp_path, time.monotonic() + 120
        )
        assert killed is not None, "every import ended before it could be killed"
        record("faults injected", 1)
        assert 0 < killed.processed < killed.rows

        # Then nothing of the file was written, and its job is not SUCCEEDED
        assert await _file_state(engine, killed.prefix) == (0, 0)
        [(job_id, status, _)] = await _jobs_of(engine, killed.path.name)
        assert status != "SUCCEEDED"

        # When the same command runs again, it imports the whole file
        done = await asyncio.to_thread(
            netzone,
            "import",
            str(killed.path),
            "--institution",
            "NORTHFIELD",
            "--commit",
            database_url=import_db.url,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"SUCCEEDED: {killed.rows} created" in " ".join(done.stdout.split()), done.stdout
        assert await _file_state(engine, killed.prefix) == (killed.rows, killed.rows)
        jobs = await _jobs_of(engine, killed.path.name)
        assert [(i, s) for i, s, _ in jobs][-1][1] == "SUCCEEDED"
        # ... and the killed run's job is now marked as interrupted
        killed_job = next(j for j in jobs if j[0] == job_id)
        assert killed_job[1] == "FAILED", killed_job
    finally:
        await engine.dispose()
