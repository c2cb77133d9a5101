"""`netzone jobs check-emails` against a database of its own."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from app import migrate
from app.cli import cli
from app.db import Database, create_engine
from app.demo.seed import seed_demo
from app.settings import Settings, get_settings


@pytest.fixture
async def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A migrated, seeded SQLite file that `netzone` finds through DATABASE_URL."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    settings = Settings(  # type: ignore[call-arg]
        DATABASE_URL=url, argon2_time_cost=1, argon2_memory_cost_kib=1024, argon2_parallelism=1
    )
    await asyncio.to_thread(migrate.upgrade, url)
    database = Database(create_engine(settings))
    async with database.session() as session:
        await seed_demo(session, settings, patrons_per_institution=2)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        yield database
    finally:
        get_settings.cache_clear()
        await database.engine.dispose()


async def _run_cli(*args: str) -> Any:
    # The command runs its own event loop (asyncio.run): give it a thread of its own.
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


async def _sql(database: Database, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async with database.session() as session:
        result = await session.execute(text(sql), params)
        rows = [tuple(r) for r in result.all()] if result.returns_rows else []
        await session.commit()
    return rows


def _said(result: Any) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


async def test_the_cli_check_flags_alerts_and_clears(cli_database: Database) -> None:
    # given an invalid NEKLS address and a blacklisted EASTERN one
    [(checked,)] = await _sql(
        cli_database, "SELECT count(*) FROM patron WHERE primary_email IS NOT NULL"
    )
    [(nekls_patron,)] = await _sql(
        cli_database,
        "SELECT min(p.id) FROM patron p JOIN institution i ON i.id = p.institution_id "
        "WHERE i.code = 'NEKLS' AND p.primary_email IS NOT NULL",
    )
    [(eastern_patron, eastern_email)] = await _sql(
        cli_database,
        "SELECT p.id, p.primary_email FROM patron p "
        "JOIN institution i ON i.id = p.institution_id "
        "WHERE i.code = 'EASTERN' AND p.primary_email IS NOT NULL ORDER BY p.id LIMIT 1",
    )
    await _sql(
        cli_database,
        "UPDATE patron SET primary_email = 'nobody at all' WHERE id = :id",
        id=nekls_patron,
    )
    await _sql(
        cli_database,
        "INSERT INTO email_blacklist (address, kind, source, reported_at) "
        "VALUES (:address, 'HARD_BOUNCE', 'test', CURRENT_TIMESTAMP)",
        address=eastern_email.lower(),
    )

    # when the check runs
    result = await _run_cli("jobs", "check-emails")

    # then both are flagged and both institutions lose their email service
    assert result.exit_code == 0, result.output
    assert _said(result) == (
        f"Checked {checked} primary email(s): 2 flagged (2 new, 0 cleared). "
        "Email service disabled for: EASTERN, NEKLS. "
        "Institutions with flagged addresses: EASTERN, NEKLS."
    )
    flags = await _sql(
        cli_database, "SELECT patron_id, reason FROM patron_email_flag ORDER BY reason"
    )
    assert flags == [(eastern_patron, "BLACKLISTED"), (nekls_patron, "INVALID")]
    services = await _sql(
        cli_database,
        "SELECT code, email_service_enabled FROM institution "
        "WHERE code IN ('EASTERN', 'NEKLS') ORDER BY code",
    )
    assert services == [("EASTERN", False), ("NEKLS", False)]

    # a second run finds the same, and changes nothing
    result = await _run_cli("jobs", "check-emails")
    assert _said(result) == (
        f"Checked {checked} primary email(s): 2 flagged (0 new, 0 cleared). "
        "Institutions with flagged addresses: EASTERN, NEKLS."
    )

    # once both addresses changed, the check clears the alerts and the services return
    await _sql(
        cli_database,
        "UPDATE patron SET primary_email = 'fixed' || id || '@example.org' WHERE id IN (:a, :b)",
        a=nekls_patron,
        b=eastern_patron,
    )
    result = await _run_cli("jobs", "check-emails")
    assert _said(result) == (
        f"Checked {checked} primary email(s): 0 flagged (0 new, 2 cleared). "
        "Alerts cleared for: EASTERN, NEKLS."
    )
    services = await _sql(
        cli_database,
        "SELECT code, email_service_enabled FROM institution "
        "WHERE code IN ('EASTERN', 'NEKLS') ORDER BY code",
    )
    assert services == [("EASTERN", True), ("NEKLS", True)]
    assert await _sql(cli_database, "SELECT count(*) FROM institution_email_alert") == [(0,)]
