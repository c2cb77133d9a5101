"""`netzone worker` where it cannot run, and the schedules it makes of the intervals."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.db import Database, create_engine
from app.settings import Settings, get_settings
from app.worker.runner import WorkerError, build
from app.worker.schedules import ScheduleError, every, schedules


async def test_with_sqlite_the_worker_says_serve_runs_the_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'nz.db'}")
    get_settings.cache_clear()
    try:
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["worker"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: netzone worker runs the jobs of a PostgreSQL database; with SQLite (no "
        "DATABASE_URL) `netzone serve` runs them itself.",
        "Set DATABASE_URL to a PostgreSQL database, or just run `netzone serve`.",
    ]


@pytest.mark.parametrize(
    ("minutes", "cron"),
    [
        (1, "*/1 * * * *"),
        (15, "*/15 * * * *"),
        (60, "0 */1 * * *"),
        (360, "0 */6 * * *"),
        (1440, "0 0 * * *"),
    ],
)
def test_intervals_that_divide_an_hour_or_a_day_are_schedules(minutes: int, cron: str) -> None:
    assert every(minutes, "PURGE") == cron


@pytest.mark.parametrize("minutes", [0, 7, 90, 300, 2880])
def test_other_intervals_are_refused_with_what_to_do(minutes: int) -> None:
    with pytest.raises(ScheduleError) as refused:
        every(minutes, "PURGE")
    assert str(refused.value) == (
        f"NETZONE_PURGE_INTERVAL_MINUTES={minutes} cannot be scheduled evenly on the clock: "
        "use a divisor of 60 (minutes), a whole number of hours dividing 24, or 1440 (once "
        "a day); or set NETZONE_PURGE_SCHEDULE to a cron expression."
    )


def test_a_cron_expression_replaces_the_interval_and_scheduled_jobs_can_be_off() -> None:
    given = Settings(  # type: ignore[call-arg]
        DATABASE_URL="postgresql+asyncpg://x@h/db",
        purge_interval_minutes=7,
        purge_schedule="30 2 * * *",
    )
    assert schedules(given) == {"purge": "30 2 * * *", "check_emails": "0 0 * * *"}
    assert schedules(given.model_copy(update={"scheduled_jobs": False})) == {}


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        (
            {"purge_schedule": "every-hour"},
            (
                "NETZONE_PURGE_SCHEDULE='every-hour' is not a cron expression.",
                "Write five fields (minute hour day month weekday), or six with seconds "
                "last; or leave it empty to use NETZONE_PURGE_INTERVAL_MINUTES.",
            ),
        ),
        (
            {"email_check_interval_minutes": 100},
            (
                "NETZONE_EMAIL_CHECK_INTERVAL_MINUTES=100 cannot be scheduled evenly on the "
                "clock: use a divisor of 60 (minutes), a whole number of hours dividing 24, "
                "or 1440 (once a day); or set NETZONE_EMAIL_CHECK_SCHEDULE to a cron "
                "expression.",
            ),
        ),
    ],
)
async def test_a_worker_with_a_schedule_it_cannot_use_refuses_to_start(
    settings: Settings, changes: dict[str, object], said: tuple[str, ...]
) -> None:
    database = Database(create_engine(settings))
    try:
        with pytest.raises(WorkerError) as refused:
            build(settings.model_copy(update=changes), database, connection=None)
    finally:
        await database.dispose()
    assert refused.value.args == said
