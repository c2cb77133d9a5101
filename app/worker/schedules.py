"""The scheduled jobs as queue jobs: the purge and the email check.

On PostgreSQL a pgqueuer schedule (one row per job in `pgqueuer_schedules`, taken with
FOR UPDATE SKIP LOCKED) fires once per interval across every worker; it enqueues the
job, which one worker runs in a transaction of its own and which another worker takes
over if that one dies. A job still waiting when the next tick comes is not doubled.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import jobs
from app.auth.policy import Actor, system_actor
from app.emails.check import check_emails
from app.linking.service import purge_linked_accounts
from app.queue import job
from app.settings import Settings

PURGE = "purge"
CHECK_EMAILS = "check_emails"

# The settings of each: NETZONE_<X>_INTERVAL_MINUTES and NETZONE_<X>_SCHEDULE.
SETTINGS = {PURGE: "PURGE", CHECK_EMAILS: "EMAIL_CHECK"}

# Who each scheduled job runs as (the audit trail names them).
ACTORS = {PURGE: system_actor(jobs.PURGE_ACTOR), CHECK_EMAILS: system_actor(jobs.EMAIL_CHECK_ACTOR)}


@job(PURGE)
async def purge(*, session: AsyncSession, actor: Actor) -> int:
    try:
        count = await purge_linked_accounts(session=session, actor=actor)
    except Exception:
        jobs.ran(PURGE, "failed")
        raise
    jobs.report_purge(count)
    jobs.ran(PURGE, "ok")
    return count


@job(CHECK_EMAILS)
async def check(*, session: AsyncSession, actor: Actor) -> Any:
    try:
        result = await check_emails(session=session, actor=actor)
    except Exception:
        jobs.ran(CHECK_EMAILS, "failed")
        raise
    jobs.report_email_check(result)
    jobs.ran(CHECK_EMAILS, "ok")
    return result


class ScheduleError(ValueError):
    """An interval that no cron expression repeats evenly."""


def every(minutes: int, setting: str) -> str:
    """The cron expression that runs every `minutes` minutes, on the clock."""
    if 0 < minutes < 60 and 60 % minutes == 0:
        return f"*/{minutes} * * * *"
    hours, rest = divmod(minutes, 60)
    if minutes > 0 and rest == 0 and hours <= 24 and 24 % hours == 0:
        return "0 0 * * *" if hours == 24 else f"0 */{hours} * * *"
    raise ScheduleError(
        f"NETZONE_{setting}_INTERVAL_MINUTES={minutes} cannot be scheduled evenly on the "
        "clock: use a divisor of 60 (minutes), a whole number of hours dividing 24, or "
        f"1440 (once a day); or set NETZONE_{setting}_SCHEDULE to a cron expression."
    )


def schedules(settings: Settings) -> dict[str, str]:
    """Each scheduled job and its cron expression (none when scheduled jobs are off)."""
    if not settings.scheduled_jobs:
        return {}
    return {
        PURGE: settings.purge_schedule.strip() or every(settings.purge_interval_minutes, "PURGE"),
        CHECK_EMAILS: settings.email_check_schedule.strip()
        or every(settings.email_check_interval_minutes, "EMAIL_CHECK"),
    }
