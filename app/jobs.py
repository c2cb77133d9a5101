"""Scheduled maintenance: purging linked accounts past their purge date, checking emails.

On SQLite `serve` runs both on its own schedule (`purge_forever`, `check_emails_forever`),
in one process of `serve --workers N` (`ScheduleLock`); on PostgreSQL `netzone worker`
runs them (app.worker.schedules), once per interval however many processes run.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import time
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from app.auth.policy import system_actor
from app.db import Database, create_engine
from app.emails.check import EmailCheckResult, check_emails
from app.linking.service import purge_linked_accounts
from app.observability import metrics
from app.settings import Settings

logger = logging.getLogger("netzone.jobs")


PURGE_ACTOR = "purge job"
EMAIL_CHECK_ACTOR = "email check"


async def purge_once(database: Database) -> int:
    async with database.session() as session:
        return await purge_linked_accounts(session=session, actor=system_actor(PURGE_ACTOR))


async def run_purge(settings: Settings) -> int:
    """One purge run against the configured database (the CLI's `jobs purge`)."""
    database = Database(create_engine(settings))
    try:
        return await purge_once(database)
    finally:
        await database.engine.dispose()


class ScheduleLock:
    """Which process of `serve --workers N` on one SQLite file runs the scheduled jobs:
    the one holding an exclusive lock on the file `<database>.schedule.lock`. The
    operating system lets it go when that process ends; another takes it over at its
    next interval. An in-memory database belongs to one process: always held."""

    def __init__(self, database_url: str) -> None:
        name = make_url(database_url).database
        self.path: Path | None = None
        if name and name != ":memory:" and not name.startswith("file::memory:"):
            self.path = Path(name).with_name(Path(name).name + ".schedule.lock")
        self._handle: IO[str] | None = None

    def held(self) -> bool:
        """Whether this process runs the scheduled jobs now (taking the lock if free)."""
        if self.path is None or self._handle is not None:
            return True
        handle = self.path.open("a", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another process holds it
            handle.close()
            return False
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file lets the lock go
            self._handle = None


def _runs_here(job: str, lock: ScheduleLock | None) -> bool:
    if lock is None or lock.held():
        return True
    ran(job, "elsewhere")
    return False


async def purge_forever(
    database: Database, interval_seconds: float, lock: ScheduleLock | None = None
) -> None:
    """The scheduled purge inside `serve`: runs at start, then every interval (in the
    process holding `lock`, if given)."""
    while True:
        if not _runs_here("purge", lock):
            await asyncio.sleep(interval_seconds)
            continue
        try:
            report_purge(await purge_once(database))
            ran("purge", "ok")
        except Exception:
            logger.exception("the scheduled purge failed; it will run again")
            ran("purge", "failed")
        await asyncio.sleep(interval_seconds)


async def check_emails_once(database: Database) -> EmailCheckResult:
    async with database.session() as session:
        return await check_emails(session=session, actor=system_actor(EMAIL_CHECK_ACTOR))


async def run_check_emails(settings: Settings) -> EmailCheckResult:
    """One email check against the configured database (the CLI's `jobs check-emails`)."""
    database = Database(create_engine(settings))
    try:
        return await check_emails_once(database)
    finally:
        await database.engine.dispose()


async def check_emails_forever(
    database: Database, interval_seconds: float, lock: ScheduleLock | None = None
) -> None:
    """The scheduled email check inside `serve`: runs at start, then every interval (in
    the process holding `lock`, if given)."""
    while True:
        if not _runs_here("check_emails", lock):
            await asyncio.sleep(interval_seconds)
            continue
        try:
            report_email_check(await check_emails_once(database))
            ran("check_emails", "ok")
        except Exception:
            logger.exception("the scheduled email check failed; it will run again")
            ran("check_emails", "failed")
        await asyncio.sleep(interval_seconds)


def report_purge(count: int) -> None:
    if count:
        logger.info("purged %d linked account(s) past their purge date", count)


def report_email_check(result: EmailCheckResult) -> None:
    if result.flagged or result.resolved:
        logger.info(
            "email check: %d flagged address(es); email service disabled for %s; "
            "alerts cleared for %s",
            result.flagged,
            ", ".join(result.disabled) or "none",
            ", ".join(result.resolved) or "none",
        )


def ran(job: str, outcome: str) -> None:
    """A scheduled run's metrics (netzone_scheduled_job_*)."""
    metrics.SCHEDULED_JOB_RUNS.labels(job, outcome).inc()
    if outcome == "ok":
        metrics.SCHEDULED_JOB_LAST_SUCCESS.labels(job).set(time.time())
