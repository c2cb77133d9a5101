"""Scheduled maintenance: purging linked accounts past their purge date, checking emails.

On SQLite `serve` runs both on its own schedule (`purge_forever`, `check_emails_forever`);
on PostgreSQL `netzone worker` runs them (app.worker.schedules), once per interval
however many processes run.
"""

from __future__ import annotations

import asyncio
import logging
import time

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


async def purge_forever(database: Database, interval_seconds: float) -> None:
    """The scheduled purge inside `serve`: runs at start, then every interval."""
    while True:
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


async def check_emails_forever(database: Database, interval_seconds: float) -> None:
    """The scheduled email check inside `serve`: runs at start, then every interval."""
    while True:
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
