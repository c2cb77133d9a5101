"""The worker: pgqueuer's queue and scheduler over the configured PostgreSQL database.

Every job kind registered in app.queue is an entrypoint; each job runs in a session of
its own (app.queue.run: committed at the end, rolled back on failure), as the account
that asked for it. A job whose worker dies (no heartbeat for `heartbeat_timeout`) is
taken again by a live worker; its transaction never committed, so it starts afresh (an
import's rows are written in one transaction at its end: a retried import reads its
stored file again from the first row).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from pgqueuer import Job, PgQueuer
from pgqueuer.models import Schedule

import app.linking.propagation  # noqa: F401  (its job kinds, and copies follow patron changes)
from app import queue
from app.db import Database, create_engine
from app.imports.service import IMPORT_PATRONS  # (and the import job kind with it)
from app.settings import Settings
from app.worker import schedules

logger = logging.getLogger("netzone.worker")

# How long a picked job may go without its worker's heartbeat before another takes it.
HEARTBEAT_TIMEOUT = timedelta(seconds=30)


class WorkerError(Exception):
    """The worker cannot start: what is wrong and what to do, in a sentence or two."""


def _entrypoint(
    settings: Settings, database: Database, kind: str
) -> Callable[[Job], Awaitable[None]]:
    async def run_job(job: Job) -> None:
        if job.payload is None:
            raise ValueError(f"The {kind} job {job.id} has no payload.")
        await queue.run_in(database, settings, kind, job.payload)

    return run_job


def _ticker(pgq: PgQueuer, kind: str) -> Callable[[Schedule], Awaitable[None]]:
    payload = queue.encode(schedules.ACTORS[kind], {})

    async def tick(_: Schedule) -> None:
        assert pgq.queries is not None
        # One waiting job per kind: a tick while the last one waits adds nothing.
        await pgq.queries.enqueue(kind, payload, dedupe_key=kind, on_conflict="skip")

    return tick


def build(settings: Settings, database: Database, connection: Any) -> PgQueuer:
    """pgqueuer over `connection`, with every job kind and the scheduled jobs."""
    pgq = PgQueuer.from_asyncpg_connection(connection)
    for kind in queue.kinds():
        # An import keeps a core busy: one at a time per worker (more workers, more at once).
        limit = 1 if kind == IMPORT_PATRONS else 0
        pgq.entrypoint(kind, concurrency_limit=limit)(_entrypoint(settings, database, kind))
    try:
        planned = schedules.schedules(settings)
    except schedules.ScheduleError as error:
        raise WorkerError(str(error)) from error
    for kind, expression in planned.items():
        try:
            pgq.schedule(kind, expression, clean_old=True)(_ticker(pgq, kind))
        except ValueError as error:  # pgqueuer's word for a cron expression it cannot read
            setting = schedules.SETTINGS[kind]
            raise WorkerError(
                f"NETZONE_{setting}_SCHEDULE={expression!r} is not a cron expression.",
                "Write five fields (minute hour day month weekday), or six with seconds "
                f"last; or leave it empty to use NETZONE_{setting}_INTERVAL_MINUTES.",
            ) from error
    return pgq


def check_database(settings: Settings) -> None:
    """The worker is for PostgreSQL: with SQLite, `serve` runs the jobs itself."""
    if settings.is_sqlite:
        raise WorkerError(
            "netzone worker runs the jobs of a PostgreSQL database; with SQLite (no "
            "DATABASE_URL) `netzone serve` runs them itself.",
            "Set DATABASE_URL to a PostgreSQL database, or just run `netzone serve`.",
        )


async def run_worker(
    settings: Settings,
    *,
    stop: asyncio.Event | None = None,
    heartbeat_timeout: timedelta = HEARTBEAT_TIMEOUT,
    dequeue_timeout: timedelta = timedelta(seconds=30),
) -> None:
    """Run jobs until `stop` is set (or the task is cancelled)."""
    check_database(settings)
    database = Database(create_engine(settings, pool_size=2))
    # pgqueuer's own connection, where it listens and takes jobs: the asyncpg connection
    # of an engine of its own, so that it connects as every netzone connection does.
    listening = create_engine(settings, pool_size=1)
    try:
        async with listening.connect() as held:
            raw = await held.get_raw_connection()
            pgq = build(settings, database, raw.driver_connection)
            await _run(pgq, stop, heartbeat_timeout, dequeue_timeout)
    finally:
        await listening.dispose()
        await database.dispose()


async def _run(
    pgq: PgQueuer,
    stop: asyncio.Event | None,
    heartbeat_timeout: timedelta,
    dequeue_timeout: timedelta,
) -> None:
    assert pgq.queries is not None
    if not await pgq.queries.has_table("pgqueuer"):
        raise WorkerError(
            "The database has no job queue yet: its schema is older than this netzone.",
            "Run `netzone migrate` (or start `netzone serve`, which migrates) first.",
        )
    watcher = asyncio.create_task(_stop_on(stop, pgq)) if stop is not None else None
    logger.info("worker started: %s", ", ".join(sorted(queue.kinds())))
    try:
        await pgq.run(heartbeat_timeout=heartbeat_timeout, dequeue_timeout=dequeue_timeout)
    finally:
        if watcher is not None:
            watcher.cancel()


async def _stop_on(stop: asyncio.Event, pgq: PgQueuer) -> None:
    await stop.wait()
    pgq.shutdown.set()
