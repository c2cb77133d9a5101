"""Jobs that die, get stopped, run side by side, or run in the background.

Most tests here need imports that really commit (the per-test transaction cannot be
shared with a background task or with two concurrent requests): they build an app on
the session's real engine and remove what they committed afterwards.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from rich.console import Console
from sqlalchemy import bindparam, delete, func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import app.tables  # noqa: F401  (every table in the metadata)
from app.auth.policy import system_actor
from app.db import Database, metadata
from app.graphql.imports import mutations as imports_mutations
from app.imports import cli_runs, liveness, rows, service, stored_files
from app.main import create_app
from app.settings import Settings
from app.worker.runner import run_worker
from tests.support.graphql import GraphQL
from tests.support.ids import pk_of
from tests.support.imports import (
    JOB,
    STUDENTS,
    WITH_ERRORS,
    Importer,
    counts,
    table_counts,
)

STUDENT_IDS = [f"NF{1000 + n}" for n in range(20)]

QUICK_IMPORT = """mutation($input: ImportPatronsInput!) {
  importPatrons(input: $input) {
    job { id status dryRun totalRows processedRows created updated unchanged failed message }
    errors { code message field }
  }
}"""


def gate_rows(monkeypatch: pytest.MonkeyPatch, at: int) -> tuple[asyncio.Event, asyncio.Event]:
    """Make imports wait before row `at` until released; returns (reached, release)."""
    original = rows.import_row
    reached, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def gated(**kwargs: Any) -> str:
        nonlocal calls
        calls += 1
        if calls == at:
            reached.set()
            await release.wait()
        return await original(**kwargs)

    monkeypatch.setattr(rows, "import_row", gated)
    return reached, release


async def students_in(conn_source: AsyncEngine | AsyncConnection) -> int:
    """How many of the sample file's patrons exist (committed, or in the test's view)."""
    query = text(
        "SELECT count(DISTINCT i.patron_id) FROM patron_identifier i "
        "JOIN identifier_type t ON t.id = i.identifier_type_id "
        "WHERE t.code = 'ADMIN_SYSTEM_ID' AND i.value IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    if isinstance(conn_source, AsyncConnection):
        return int((await conn_source.execute(query, {"ids": STUDENT_IDS})).scalar_one())
    async with conn_source.connect() as conn:
        return int((await conn.execute(query, {"ids": STUDENT_IDS})).scalar_one())


# ---------------------------------------------------------------- a job dies midway (inline)


async def test_an_error_at_row_10_writes_nothing_and_the_file_can_be_imported_again(
    importer: Importer,
    gql: GraphQL,
    northfield: str,
    connection: AsyncConnection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = rows.import_row
    calls = 0

    async def dies_at_row_10(**kwargs: Any) -> str:
        nonlocal calls
        calls += 1
        if calls == 10:
            raise RuntimeError("power cut")
        return await original(**kwargs)

    monkeypatch.setattr(rows, "import_row", dies_at_row_10)
    before = await table_counts(connection)
    job = await importer.job(northfield, STUDENTS.read_bytes())
    assert job["status"] == "FAILED"
    assert job["processedRows"] == 9
    assert "unexpected error" in job["message"]
    assert "Nothing was written" in job["message"]
    assert job["finishedAt"] is not None
    assert await table_counts(connection) == before
    assert await students_in(connection) == 0
    data = await gql.ok(JOB, {"id": job["id"]}, northfield)
    assert data["node"]["status"] == "FAILED"

    monkeypatch.setattr(rows, "import_row", original)
    again = await importer.job(northfield, STUDENTS.read_bytes())
    assert counts(again) == ("SUCCEEDED", 20, 20, 20, 0, 0, 0)
    assert await students_in(connection) == 20


# ---------------------------------------------------------------- on the real engine


class Committed:
    """An app on the real engine (imports commit) and clean-up of everything it wrote."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.marks: dict[str, int] = {}
        self.clients: list[httpx.AsyncClient] = []

    async def mark(self) -> None:
        async with self.engine.connect() as conn:
            names = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            for table in metadata.sorted_tables:
                if table.name in names and "id" in table.c:
                    top = await conn.scalar(select(func.max(table.c.id)))
                    self.marks[table.name] = int(top or 0)

    async def clean(self) -> None:
        async with self.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                if table.name in self.marks:
                    await conn.execute(delete(table).where(table.c.id > self.marks[table.name]))

    def client(self, **changes: Any) -> httpx.AsyncClient:
        settings = self.settings.model_copy(update=changes)
        app = create_app(settings, Database(self.engine))
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        self.clients.append(http)
        return http


@pytest.fixture
async def committed(engine: AsyncEngine, settings: Settings) -> AsyncIterator[Committed]:
    """On PostgreSQL a background import is a queued job: a worker runs here beside the app
    (the worker of `netzone worker`, in this process so that tests can hold it at a row)."""
    real = Committed(engine, settings)
    await real.mark()
    stop = asyncio.Event()
    worker = None
    if engine.dialect.name == "postgresql":
        worker = asyncio.create_task(
            run_worker(
                settings.model_copy(update={"scheduled_jobs": False}),
                stop=stop,
                dequeue_timeout=timedelta(seconds=1),
            )
        )
    try:
        yield real
    finally:
        pending = imports_mutations.running_imports()
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if worker is not None:
            stop.set()
            await asyncio.wait({worker}, timeout=10)  # a job held at a gate: cancelled
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
            async with engine.begin() as conn:
                await conn.execute(text("DELETE FROM pgqueuer"))
        for http in real.clients:
            await http.aclose()
        await real.clean()


async def _poll(
    gql: GraphQL, token: str, job_id: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    for _ in range(400):
        data = await gql.ok(JOB, {"id": job_id}, token)
        job: dict[str, Any] = data["node"]
        if done(job):
            return job
        await asyncio.sleep(0.025)
    raise AssertionError(f"the job never got there: {job}")


def _quick(importer: Importer) -> Callable[..., Any]:
    async def run(token: str, **options: Any) -> dict[str, Any]:
        payload = await importer.payload(
            token, STUDENTS.read_bytes(), query=QUICK_IMPORT, **options
        )
        assert payload["errors"] == [], payload
        job: dict[str, Any] = payload["job"]
        return job

    return run


async def test_background_job_reports_progress_and_succeeds(
    committed: Committed, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = committed.client(import_background=True)
    gql, importer = GraphQL(http), Importer(http)
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    postgres = engine.dialect.name == "postgresql"
    if postgres:
        # SQLite lets one transaction write at a time and this app's transactions start
        # IMMEDIATE: a poll waits while the import's transaction is open, so only
        # PostgreSQL can be watched mid-import.
        reached, release = gate_rows(monkeypatch, at=6)
        monkeypatch.setattr(service, "BATCH", 2)  # progress is also stored every BATCH rows

    job = await _quick(importer)(token)
    assert job["status"] in ("QUEUED", "RUNNING")
    assert (job["totalRows"], job["dryRun"]) == (20, False)
    assert (job["created"], job["failed"]) == (0, 0)

    if postgres:
        await asyncio.wait_for(reached.wait(), 10)
        running = await _poll(gql, token, job["id"], lambda j: j["status"] == "RUNNING")
        assert (running["processedRows"], running["totalRows"]) == (5, 20)
        assert running["startedAt"] is not None
        assert running["finishedAt"] is None
        async with engine.connect() as conn:  # another process would see the stored count
            stored = await conn.scalar(
                text("SELECT processed_rows FROM import_job WHERE id = :id"),
                {"id": int(service_pk(job["id"]))},
            )
        assert stored == 4
        assert await students_in(engine) == 0  # nothing visible before the end
        release.set()

    final = await _poll(gql, token, job["id"], lambda j: j["status"] not in ("QUEUED", "RUNNING"))
    assert counts(final) == ("SUCCEEDED", 20, 20, 20, 0, 0, 0)
    assert final["finishedAt"] >= final["startedAt"]
    assert await students_in(engine) == 20
    async with engine.connect() as conn:  # the stored file went with the job's end
        files = await conn.scalar(
            text("SELECT count(*) FROM import_file WHERE job_id = :id"),
            {"id": service_pk(job["id"])},
        )
    assert files == 0


def service_pk(global_id: str) -> int:
    return pk_of(global_id)


async def test_a_stopped_background_job_writes_nothing_and_can_be_rerun(
    committed: Committed, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name == "postgresql":
        pytest.skip("a worker runs it there: tests/worker kills one mid-import")
    http = committed.client(import_background=True)
    gql, importer = GraphQL(http), Importer(http)
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    reached, _ = gate_rows(monkeypatch, at=11)  # never released: killed at row 11

    job = await _quick(importer)(token)
    await asyncio.wait_for(reached.wait(), 10)
    assert service.live_progress(service_pk(job["id"])) == 10
    (task,) = imports_mutations.running_imports()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    stopped = await _poll(gql, token, job["id"], lambda j: j["status"] != "RUNNING")
    assert stopped["status"] == "FAILED"
    assert stopped["processedRows"] == 10
    assert "nothing was written" in stopped["message"]
    assert await students_in(engine) == 0
    assert service.live_progress(service_pk(job["id"])) is None

    monkeypatch.undo()
    again = await _quick(importer)(token)
    final = await _poll(gql, token, again["id"], lambda j: j["status"] not in ("QUEUED", "RUNNING"))
    assert counts(final) == ("SUCCEEDED", 20, 20, 20, 0, 0, 0)
    assert await students_in(engine) == 20


async def test_a_job_left_running_by_a_dead_process_is_marked_failed(
    committed: Committed, engine: AsyncEngine
) -> None:
    http = committed.client(import_background=False)
    gql, importer = GraphQL(http), Importer(http)
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    first = await _quick(importer)(token, dry_run=True)
    async with engine.begin() as conn:  # as if its process had been killed mid-import
        await conn.execute(
            text("UPDATE import_job SET status = 'RUNNING', finished_at = NULL WHERE id = :id"),
            {"id": service_pk(first["id"])},
        )
    second = await _quick(importer)(token)
    assert second["status"] == "SUCCEEDED"
    dead = (await gql.ok(JOB, {"id": first["id"]}, token))["node"]
    assert dead["status"] == "FAILED"
    assert "interrupted" in dead["message"]


async def test_a_file_is_stored_in_parts_and_read_back_whole(
    committed: Committed, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No process holds a whole uploaded file to store it or read it back: it is kept as
    parts of at most FILE_PART bytes, and the job reads them back in order."""
    monkeypatch.setattr(stored_files, "FILE_PART", 64)
    content = STUDENTS.read_bytes()
    seen: list[list[int]] = []
    restore = stored_files.restore_file

    async def looking_first(database: Database, job_id: int, path: Any) -> bool:
        async with engine.connect() as conn:
            sizes = await conn.execute(
                text("SELECT length(content) FROM import_file WHERE job_id = :id ORDER BY part"),
                {"id": job_id},
            )
            seen.append([int(n) for n in sizes.scalars()])
        return await restore(database, job_id, path)

    monkeypatch.setattr(stored_files, "restore_file", looking_first)
    http = committed.client(import_background=False)
    gql, importer = GraphQL(http), Importer(http)
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    job = await importer.job(token, content)
    assert counts(job) == ("SUCCEEDED", 20, 20, 20, 0, 0, 0)
    [sizes] = seen
    assert sizes == [64] * (len(content) // 64) + ([len(content) % 64] if len(content) % 64 else [])
    assert await students_in(engine) == 20


async def test_a_jobs_outcome_is_stored_before_the_next_import_may_start(
    committed: Committed, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next import of the institution starts as soon as this one's transaction ends,
    and marks the institution's RUNNING jobs as dead: so every outcome (rows written, a
    dry run, a file with a bad row) commits in that transaction, not after it (else a
    finished job could be marked FAILED, "interrupted")."""
    seen: list[tuple[str, str | None, int]] = []
    import_rows = service._import_rows

    async def looking_after(*, job_id: int, **kwargs: Any) -> Any:
        await import_rows(job_id=job_id, **kwargs)
        async with engine.connect() as conn:
            status, message = (
                await conn.execute(
                    text("SELECT status, message FROM import_job WHERE id = :id"), {"id": job_id}
                )
            ).one()
            errors = await conn.scalar(
                text("SELECT count(*) FROM import_row_error WHERE job_id = :id"), {"id": job_id}
            )
        seen.append((str(status), message, int(errors or 0)))

    monkeypatch.setattr(service, "_import_rows", looking_after)
    http = committed.client(import_background=False)
    gql, importer = GraphQL(http), Importer(http)
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    first = await _quick(importer)(token)
    dry = await _quick(importer)(token, dry_run=True)
    bad = await importer.payload(token, WITH_ERRORS.read_bytes(), query=QUICK_IMPORT, dry_run=False)
    assert (first["status"], dry["status"], bad["job"]["status"]) == (
        "SUCCEEDED",
        "SUCCEEDED",
        "FAILED",
    )
    assert seen[:2] == [("SUCCEEDED", None, 0), ("SUCCEEDED", "Dry run: nothing was written.", 0)]
    status, message, errors = seen[2]
    assert (status, errors) == ("FAILED", bad["job"]["failed"])
    assert message is not None
    assert "nothing was written" in message


async def test_a_job_runs_once_when_a_second_runner_takes_it_after_it_ended(
    committed: Committed, engine: AsyncEngine
) -> None:
    """A job can reach two runners (a worker that takes it again from the queue, its first
    worker thought dead; before, also the CLI that queued it and a worker). Whoever's turn
    comes second finds the job ended and leaves it (and the patrons) be: before, it ran
    the file again, set the job RUNNING and stored a second outcome (0 created, 20
    unchanged) over the first."""
    http = committed.client(import_background=False)
    gql, importer = GraphQL(http), Importer(http)
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    first = await _quick(importer)(token)
    assert counts(first) == ("SUCCEEDED", 20, 20, 20, 0, 0, 0)
    job_id = service_pk(first["id"])
    stored = text(
        "SELECT status, created, unchanged, started_at, finished_at FROM import_job WHERE id = :id"
    )
    audits = text("SELECT count(*) FROM audit_entry WHERE action = 'import_create_patron'")
    async with engine.connect() as conn:
        before = (await conn.execute(stored, {"id": job_id})).one()
        audited = await conn.scalar(audits)

    again = await service.run_job(
        database=Database(engine),
        settings=committed.settings,
        actor=system_actor("second runner"),
        job_id=job_id,
        path=STUDENTS,
    )

    assert (again.status, again.created, again.unchanged) == ("SUCCEEDED", 20, 0)
    async with engine.connect() as conn:
        assert (await conn.execute(stored, {"id": job_id})).one() == before
        assert await conn.scalar(audits) == audited
    assert await students_in(engine) == 20


async def test_an_import_does_not_overwrite_a_patron_changed_while_it_was_checked(
    committed: Committed, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch's changes are checked against the patrons as it read them and written at
    the end of the batch, every field of the row included (the ones the file does not
    carry as they were read). A librarian's edit of one of them in between (committed by
    another connection) must not be overwritten: the job fails, saying whose, nothing of
    the file is written, and the librarian's edit stands, also after the file is
    imported again."""
    if engine.dialect.name == "sqlite":
        pytest.skip(
            "an import holds SQLite's write lock from its first statement (BEGIN IMMEDIATE)"
        )
    http = committed.client(import_background=False)
    gql, importer = GraphQL(http), Importer(http)
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    assert counts(await _quick(importer)(token))[0] == "SUCCEEDED"
    lines = STUDENTS.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    given = header.index("given_name")
    renamed = [header]
    for line in lines[1:]:
        cells = line.split(",")
        cells[given] = "Renamed"
        renamed.append(cells)
    content = ("\n".join(",".join(cells) for cells in renamed) + "\n").encode()
    stored = text(
        "SELECT p.given_name, p.until, p.version FROM patron p "
        "JOIN patron_identifier i ON i.patron_id = p.id "
        "JOIN identifier_type t ON t.id = i.identifier_type_id "
        "WHERE t.code = 'ADMIN_SYSTEM_ID' AND i.value = :id"
    )
    original = rows.write_patron_changes

    async def edited_meanwhile(**kwargs: Any) -> Any:
        async with engine.begin() as conn:  # a librarian saves NF1003 before the write
            await conn.execute(
                text(
                    "UPDATE patron SET until = '2031-01-31', version = version + 1 "
                    "WHERE id = (SELECT patron_id FROM patron_identifier WHERE value = 'NF1003')"
                )
            )
        return await original(**kwargs)

    monkeypatch.setattr(rows, "write_patron_changes", edited_meanwhile)
    job = await importer.job(token, content)

    assert job["status"] == "FAILED", job
    assert "was changed (or deleted) by someone else" in job["message"], job
    assert "ADMIN_SYSTEM_ID NF1003" in job["message"], job
    assert "Nothing was written" in job["message"], job
    async with engine.connect() as conn:
        edited = (await conn.execute(stored, {"id": "NF1003"})).one()
        other = (await conn.execute(stored, {"id": "NF1004"})).one()
    assert (str(edited.until), edited.version) == ("2031-01-31", 2)
    assert edited.given_name != "Renamed"
    assert other.given_name != "Renamed"
    assert other.version == 1

    monkeypatch.undo()  # imported again, the file is checked against what is stored now
    again = await importer.job(token, content)
    assert counts(again)[0] == "SUCCEEDED", again
    async with engine.connect() as conn:
        edited = (await conn.execute(stored, {"id": "NF1003"})).one()
    assert (edited.given_name, str(edited.until), edited.version) == ("Renamed", "2031-01-31", 3)


async def test_a_cli_import_leaves_the_workers_to_other_institutions_jobs(
    committed: Committed, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """`netzone import` runs its job itself, from its own file: it queues nothing and
    stores no copy of the file. Before, it also queued the job, and a worker took it and
    waited for the institution's turn for the whole import, its one import slot held:
    another institution's upload waited behind an import it had nothing to do with."""
    if engine.dialect.name == "sqlite":
        pytest.skip("on SQLite `serve` runs uploads itself; there is no worker to hold")
    reached, release = gate_rows(monkeypatch, at=11)
    cli = asyncio.create_task(
        cli_runs.import_one(
            committed.settings,
            STUDENTS,
            "NORTHFIELD",
            {"dry_run": False},
            Console(file=io.StringIO()),
        )
    )
    try:
        await asyncio.wait_for(reached.wait(), 30)  # the CLI is importing NORTHFIELD
        async with engine.connect() as conn:
            cli_job = await conn.scalar(text("SELECT max(id) FROM import_job"))
            queued = await conn.scalar(text("SELECT count(*) FROM pgqueuer"))
            stored = await conn.scalar(
                text("SELECT count(*) FROM import_file WHERE job_id = :id"), {"id": cli_job}
            )
        assert (queued, stored) == (0, 0)

        http = committed.client(import_background=True)
        gql, importer = GraphQL(http), Importer(http)
        token = await gql.login("eastern.admin", "EASTERN-MAIN")
        content = b"username,surname,given_name,home_library,user_group\r\n" + (
            b"new.grad,Grad,New,EASTERN-MAIN,GRAD\r\n"
        )
        payload = await importer.payload(
            token, content, institution="EASTERN", match_on="USERNAME", dry_run=True
        )
        assert payload["errors"] == [], payload
        # The worker runs EASTERN's job while the CLI still holds NORTHFIELD
        done = await _poll(
            gql, token, payload["job"]["id"], lambda j: j["status"] not in ("QUEUED", "RUNNING")
        )
        assert done["status"] == "SUCCEEDED", done
        assert not cli.done()
    finally:
        release.set()
    assert await asyncio.wait_for(cli, 60) is True
    assert await students_in(engine) == 20


async def test_a_cli_job_whose_process_ended_before_its_turn_is_marked_interrupted(
    committed: Committed, engine: AsyncEngine
) -> None:
    """A CLI job is queued for nobody: the CLI runs it, holding a claim on it while it
    lives. One whose process ended before its institution's turn came (killed while it
    waited) is failed by the next import of the institution; one whose process is
    alive, still waiting, is left alone."""
    if engine.dialect.name == "sqlite":
        pytest.skip("the claim is a PostgreSQL advisory lock")
    database = Database(engine)
    actor = system_actor("cli")
    jobs = []
    owners = [await engine.connect(), await engine.connect()]
    try:
        for owner in owners:
            async with database.session() as session:

                async def claim(job_id: int, owner: Any = owner) -> None:
                    await liveness.claim_job(owner, job_id)

                job = await service.create_job(
                    session=session,
                    actor=actor,
                    path=STUDENTS,
                    filename=STUDENTS.name,
                    options=service.ImportOptions(institution="NORTHFIELD"),
                    queue_job=False,
                    before_commit=claim,
                )
                jobs.append(job.id)
        await owners[0].invalidate()  # the first CLI's process ended: its connection closed

        http = committed.client(import_background=False)
        gql, importer = GraphQL(http), Importer(http)
        token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
        assert counts(await _quick(importer)(token, dry_run=True))[0] == "SUCCEEDED"

        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT id, status, message FROM import_job WHERE id IN (:a, :b)"),
                {"a": jobs[0], "b": jobs[1]},
            )
            found = {r.id: (r.status, r.message) for r in rows}
        status, message = found[jobs[0]]
        assert status == "FAILED"
        assert "its process ended before its turn came" in message
        assert found[jobs[1]] == ("QUEUED", None)
    finally:
        for owner in owners:
            await owner.close()


@pytest.mark.parametrize("background", [False, True], ids=["inline", "background"])
async def test_parallel_imports_of_one_file_write_it_once(
    committed: Committed, engine: AsyncEngine, background: bool
) -> None:
    http = committed.client(import_background=background)
    gql, importer = GraphQL(http), Importer(http)
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    run = _quick(importer)
    jobs = await asyncio.gather(run(token), run(token), run(token))
    finals = [
        await _poll(gql, token, j["id"], lambda j: j["status"] not in ("QUEUED", "RUNNING"))
        for j in jobs
    ]
    assert sum(j["created"] for j in finals) == 20
    for job in finals:
        assert job["status"] == "SUCCEEDED", job
        assert job["failed"] == 0
        assert (job["created"], job["unchanged"]) in ((20, 0), (0, 20))
    assert await students_in(engine) == 20


async def test_small_batches_give_the_same_result(
    importer: Importer,
    northfield: str,
    connection: AsyncConnection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every BATCH rows the session is flushed and emptied (memory stays flat)."""
    from tests.support.imports import WITH_ERRORS, errors_of

    expected = errors_of(await importer.job(northfield, WITH_ERRORS.read_bytes()))
    monkeypatch.setattr(service, "BATCH", 3)
    job = await importer.job(northfield, WITH_ERRORS.read_bytes())
    assert errors_of(job) == expected
    job = await importer.job(northfield, STUDENTS.read_bytes())
    assert counts(job) == ("SUCCEEDED", 20, 20, 20, 0, 0, 0)
    job = await importer.job(northfield, STUDENTS.read_bytes())
    assert counts(job) == ("SUCCEEDED", 20, 20, 0, 0, 20, 0)
    assert await students_in(connection) == 20
