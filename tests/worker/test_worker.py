"""`netzone worker` on PostgreSQL: scheduled jobs once per interval however many workers
run, policy changes whose copies a worker refreshes (through the real HTTP API), and a
killed worker's job taken over and still all or nothing; imports as queued jobs (the
API stores the file with the job and answers at once, a worker runs it as the librarian
who asked, and a worker killed midway leaves nothing written: the job is taken over and
written once, all of it).

These tests commit (a worker cannot see the per-test transaction): they build the app on
the session's real engine and remove what they wrote afterwards.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app import queue
from app.auth.policy import system_actor
from app.db import Database
from app.imports.service import IMPORT_PATRONS
from app.linking import propagation, sharing
from app.linking.propagation import REFRESH_INSTITUTION_COPIES
from app.main import create_app
from app.settings import Settings
from app.worker.runner import run_worker
from app.worker.schedules import PURGE
from tests.conftest import GraphQL
from tests.imports.test_jobs import QUICK_IMPORT, Committed
from tests.linking.conftest import Net
from tests.support.ids import pk_of
from tests.support.imports import JOB, Importer, counts, student, to_csv


@pytest.fixture(autouse=True)
def postgres_only(settings: Settings) -> None:
    if settings.is_sqlite:
        pytest.skip("the worker runs on PostgreSQL; SQLite runs jobs in-process")


@pytest.fixture
async def committed(engine: AsyncEngine, settings: Settings) -> AsyncIterator[Committed]:
    real = Committed(engine, settings)
    await real.mark()
    try:
        yield real
    finally:
        for http in real.clients:
            await http.aclose()
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM pgqueuer"))
        await real.clean()


@pytest.fixture
async def reader(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection that sees what others committed (each statement on its own)."""
    async with engine.connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")


class Workers:
    """Workers running in this process until the test ends."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, heartbeat_timeout: timedelta = timedelta(seconds=30), **changes: Any) -> None:
        settings = self.settings.model_copy(update=changes)
        self.tasks.append(
            asyncio.create_task(
                run_worker(
                    settings,
                    stop=self.stop,
                    heartbeat_timeout=heartbeat_timeout,
                    dequeue_timeout=timedelta(seconds=1),
                )
            )
        )

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(asyncio.gather(*self.tasks), 30)


@pytest.fixture
async def workers(settings: Settings) -> AsyncIterator[Workers]:
    # No schedules unless a test asks: the purge would run beside the test's own jobs.
    running = Workers(settings.model_copy(update={"scheduled_jobs": False}))
    try:
        yield running
    finally:
        await running.close()


async def until(check: Callable[[], Awaitable[Any]], what: str, seconds: float = 30) -> Any:
    for _ in range(int(seconds / 0.1)):
        if value := await check():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"never: {what}")


async def job_log(reader: AsyncConnection, entrypoint: str) -> list[tuple[int, str]]:
    rows = await reader.execute(
        text("SELECT job_id, status::text FROM pgqueuer_log WHERE entrypoint = :e ORDER BY id"),
        {"e": entrypoint},
    )
    return [(int(r[0]), str(r[1])) for r in rows]


# ---------------------------------------------------------------- scheduled jobs


def purge_runs() -> float:
    return (
        REGISTRY.get_sample_value(
            "netzone_scheduled_job_runs_total", {"job": PURGE, "outcome": "ok"}
        )
        or 0.0
    )


async def test_two_workers_and_serve_run_a_scheduled_job_once_per_interval(
    workers: Workers, reader: AsyncConnection, settings: Settings
) -> None:
    await reader.execute(text("DELETE FROM pgqueuer_log WHERE entrypoint = :e"), {"e": PURGE})
    runs_before = purge_runs()
    # Given two workers and a `serve` on one database, each with the purge every 2 seconds
    every_two = {
        "scheduled_jobs": True,
        "purge_schedule": "* * * * * */2",
        "purge_interval_minutes": 1,
        "email_check_schedule": "0 0 1 1 *",
    }
    workers.start(**every_two)
    workers.start(**every_two)
    serve = create_app(settings.model_copy(update=every_two))
    # When they run for 9 seconds
    async with serve.router.lifespan_context(serve):
        await asyncio.sleep(9)
    await workers.close()
    # Then the purge was queued once per 2-second tick, not once per worker, and each
    # queued purge ran once
    log = await job_log(reader, PURGE)
    queued = [job for job, status in log if status == "queued"]
    succeeded = [job for job, status in log if status == "successful"]
    assert 3 <= len(queued) <= 5, log
    ticks = await reader.scalar(
        text(
            "SELECT count(DISTINCT floor(extract(epoch FROM created) / 2)) FROM pgqueuer_log "
            "WHERE entrypoint = :e AND status = 'queued'"
        ),
        {"e": PURGE},
    )
    assert ticks == len(queued), log
    assert len(succeeded) == len(set(succeeded)) >= len(queued) - 1, log
    assert set(succeeded) <= set(queued)
    # And `serve` ran none itself: every run counted is one of those jobs
    assert purge_runs() - runs_before == len(succeeded)


# ---------------------------------------------------------------- copy propagation


async def eastern_copies(net: Net, *numbers: int) -> list[dict[str, Any]]:
    copies = []
    for n in numbers:
        await net.eastern_source(n)
        copies.append(await net.find_and_link("western.librarian", f"TEST-EU{n:04d}"))
    return copies


async def phones(net: Net, copies: list[dict[str, Any]]) -> list[str | None]:
    read = [await net.read("western.librarian", copy["id"]) for copy in copies]
    return [patron["phone"] if patron else None for patron in read]


@pytest.fixture
async def net(
    committed: Committed, reader: AsyncConnection, engine: AsyncEngine
) -> AsyncIterator[Net]:
    """The collaborative network's driver over an app on the real engine. At the end
    EASTERN shares its phone numbers again, and the demo's copies have them back."""
    driver = Net(GraphQL(committed.client()), reader)
    try:
        yield driver
    finally:
        async with Database(engine).session() as session:
            queue.in_process(session)
            await sharing.set_shared_fields(
                session=session,
                actor=system_actor(),
                institution_code="EASTERN",
                fields=[("PHONE", True)],
            )


async def test_a_policy_change_is_a_job_the_worker_runs(
    net: Net, workers: Workers, reader: AsyncConnection
) -> None:
    # Given two copies of EASTERN patrons, and no worker running yet
    copies = await eastern_copies(net, 901, 902)
    before = await job_log(reader, REFRESH_INSTITUTION_COPIES)
    # When EASTERN stops sharing phone numbers
    await net.set_shared("eastern.admin", "EASTERN", PHONE=False)
    # Then the request has queued one job and left the copies as they were
    after = await job_log(reader, REFRESH_INSTITUTION_COPIES)
    assert [status for _, status in after[len(before) :]] == ["queued"]
    assert await phones(net, copies) == ["555-0100", "555-0100"]
    # And once a worker runs, it refreshes the copies, as the admin who changed the policy
    workers.start()

    async def refreshed() -> bool:
        return await phones(net, copies) == [None, None]

    await until(refreshed, "the copies lose their phone numbers")
    audit = await net.audit("propagate_policy_change")
    assert sorted((a["actor_name"], a["entity_id"]) for a in audit) == sorted(
        ("eastern.admin", pk_of(copy["id"])) for copy in copies
    )


async def test_a_refused_policy_change_queues_nothing(net: Net, reader: AsyncConnection) -> None:
    before = await job_log(reader, REFRESH_INSTITUTION_COPIES)
    # When EASTERN's circulation desk (not its administrator) tries to change the policy
    token = await net.token("eastern.circ")
    response = await net.gql(
        """mutation($fields: [SharedFieldPolicyInput!]!) {
          setSharedFields(input: {institution: "EASTERN", fields: $fields}) {
            errors { code message }
          }
        }""",
        {"fields": [{"field": "PHONE", "shared": False}]},
        token,
    )
    # Then it is refused, and no job exists for it
    errors = response["data"]["setSharedFields"]["errors"]
    assert [e["code"] for e in errors] == ["FORBIDDEN"], response
    assert await job_log(reader, REFRESH_INSTITUTION_COPIES) == before
    assert await reader.scalar(text("SELECT count(*) FROM pgqueuer")) == 0


def _nice(pid: int) -> int:
    """A process's nice value (/proc/PID/stat, the 19th field)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])


async def test_a_killed_workers_job_is_taken_over_and_all_or_nothing(
    net: Net, workers: Workers, reader: AsyncConnection, engine: AsyncEngine, settings: Settings
) -> None:
    copies = await eastern_copies(net, 903, 904)
    copy_ids = [pk_of(copy["id"]) for copy in copies]
    # Given a worker process whose refresh of the copies waits on a lock the test holds
    async with engine.connect() as holder:
        await holder.execute(
            text("SELECT id FROM patron WHERE id = ANY(:ids) FOR UPDATE"), {"ids": copy_ids}
        )
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("netzone")),
            "worker",
            env={
                **os.environ,
                "DATABASE_URL": settings.database_url,
                "NETZONE_SCHEDULED_JOBS": "false",
            },
        )
        await net.set_shared("eastern.admin", "EASTERN", PHONE=False)

        async def waiting() -> bool:
            return bool(
                await reader.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    )
                )
            )

        await until(waiting, "the worker waits on the copies' lock")
        # (It runs below the API's CPU priority: NETZONE_WORKER_NICE, 10 by default.)
        assert _nice(process.pid) == min(19, os.nice(0) + 10)
        # When that worker is killed mid-job
        process.send_signal(signal.SIGKILL)
        await process.wait()
        await holder.rollback()
    # Then nothing of its job is committed
    assert await phones(net, copies) == ["555-0100", "555-0100"]
    assert await net.audit("propagate_policy_change") == []
    # And another worker takes the job over once the dead one's heartbeat is stale, and
    # runs it once, all of it
    workers.start(heartbeat_timeout=timedelta(seconds=2))

    async def refreshed() -> bool:
        return await phones(net, copies) == [None, None]

    await until(refreshed, "the copies lose their phone numbers")
    audit = await net.audit("propagate_policy_change")
    assert sorted(a["entity_id"] for a in audit) == sorted(copy_ids)
    log = await job_log(reader, REFRESH_INSTITUTION_COPIES)
    succeeded = [job for job, status in log if status == "successful"]
    assert len(succeeded) == len(set(succeeded))


async def test_a_job_that_fails_half_way_writes_nothing(
    net: Net, workers: Workers, reader: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    copies = await eastern_copies(net, 905, 906)
    # Given a refresh that fails on the second copy, after the first was refreshed
    refreshed: list[int] = []
    real = propagation.refresh_copy

    async def fails_on_the_second(**kwargs: Any) -> Any:
        if refreshed:
            raise RuntimeError("the disk is full")
        result = await real(**kwargs)
        refreshed.append(kwargs["copy"].id)
        return result

    monkeypatch.setattr(propagation, "refresh_copy", fails_on_the_second)
    # When EASTERN stops sharing phone numbers and a worker runs the job
    await net.set_shared("eastern.admin", "EASTERN", PHONE=False)
    workers.start()

    async def failed() -> bool:
        log = await job_log(reader, REFRESH_INSTITUTION_COPIES)
        return bool(log) and log[-1][1] == "exception"

    await until(failed, "the job fails")
    # Then the copy refreshed before the failure is as it was: nothing of the job stands
    assert len(refreshed) == 1
    assert await phones(net, copies) == ["555-0100", "555-0100"]
    assert await net.audit("propagate_policy_change") == []


# ---------------------------------------------------------------- imports

ROWS = 5000  # five batches: the kill comes after the first is counted, before the end


async def written(reader: AsyncConnection) -> int:
    """How many of the generated students (admin_system_id T.....) exist."""
    return int(
        await reader.scalar(
            text(
                "SELECT count(*) FROM patron_identifier i "
                "JOIN identifier_type t ON t.id = i.identifier_type_id "
                "WHERE t.code = 'ADMIN_SYSTEM_ID' AND i.value LIKE 'T%'"
            )
        )
    )


async def stored_file(reader: AsyncConnection, job_id: int) -> int | None:
    return await reader.scalar(
        text("SELECT sum(length(content)) FROM import_file WHERE job_id = :id"), {"id": job_id}
    )


async def test_a_killed_workers_import_is_taken_over_and_written_once(
    committed: Committed, workers: Workers, reader: AsyncConnection, settings: Settings
) -> None:
    http = committed.client(import_background=True)
    gql, importer = GraphQL(http), Importer(http)
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    content = to_csv(list(student(0)), [student(n) for n in range(ROWS)])
    # Given an import the API has queued (no worker yet): the job and its file are stored
    payload = await importer.payload(token, content, query=QUICK_IMPORT)
    assert payload["errors"] == [], payload
    job = payload["job"]
    assert (job["status"], job["totalRows"]) == ("QUEUED", ROWS)
    job_id = pk_of(job["id"])
    assert await stored_file(reader, job_id) == len(content)
    assert [status for _, status in await job_log(reader, IMPORT_PATRONS)][-1:] == ["queued"]
    # And a worker process that has imported a first batch of it
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("netzone")),
        "worker",
        env={
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "NETZONE_SCHEDULED_JOBS": "false",
        },
    )

    async def midway() -> bool:
        node = (await gql.ok(JOB, {"id": job["id"]}, token))["node"]
        return node["status"] == "RUNNING" and 0 < node["processedRows"] < ROWS

    await until(midway, "the worker has counted a first batch", seconds=60)
    # When that worker is killed
    process.send_signal(signal.SIGKILL)
    await process.wait()
    # Then nothing of the import is written, and the file waits for the next worker
    assert await written(reader) == 0
    assert await stored_file(reader, job_id) == len(content)
    # And a live worker takes the job over once the dead one's heartbeat is stale, and
    # imports the file from its first row, once, all of it, as the librarian who asked
    workers.start(heartbeat_timeout=timedelta(seconds=2))

    async def ended() -> dict[str, object] | None:
        node: dict[str, object] = (await gql.ok(JOB, {"id": job["id"]}, token))["node"]
        return node if node["status"] not in ("QUEUED", "RUNNING") else None

    final = await until(ended, "the job ends", seconds=120)
    assert counts(final) == ("SUCCEEDED", ROWS, ROWS, ROWS, 0, 0, 0)
    assert await written(reader) == ROWS
    assert await stored_file(reader, job_id) is None
    actors = await reader.execute(
        text(
            "SELECT DISTINCT actor_name FROM audit_entry WHERE action = 'import_create_patron' "
            "AND entity_id IN (SELECT patron_id FROM patron_identifier WHERE value LIKE 'T%')"
        )
    )
    assert [row[0] for row in actors] == ["northfield.admin"]
    succeeded = [j for j, status in await job_log(reader, IMPORT_PATRONS) if status == "successful"]
    assert len(succeeded) == len(set(succeeded)) >= 1


async def test_a_refused_import_queues_nothing_and_stores_no_file(
    committed: Committed, reader: AsyncConnection
) -> None:
    http = committed.client(import_background=True)
    gql, importer = GraphQL(http), Importer(http)
    before = await job_log(reader, IMPORT_PATRONS)
    files = await reader.scalar(text("SELECT count(*) FROM import_file"))
    # A librarian of another institution may not import NORTHFIELD's patrons
    token = await gql.login("eastern.admin", "EASTERN-MAIN")
    payload = await importer.payload(
        token, to_csv(list(student(0)), [student(1)]), query=QUICK_IMPORT
    )
    assert payload["job"] is None
    assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"], payload
    assert await job_log(reader, IMPORT_PATRONS) == before
    assert await reader.scalar(text("SELECT count(*) FROM import_file")) == files
