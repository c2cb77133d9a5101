"""`netzone jobs check-emails` against a database of its own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from app.db import Database
from tests.support.cli import run_cli, said


async def _sql(database: Database, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async with database.session() as session:
        result = await session.execute(text(sql), params)
        rows = [tuple(r) for r in result.all()] if result.returns_rows else []
        await session.commit()
    return rows


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
    result = await run_cli("jobs", "check-emails")

    # then both are flagged and both institutions lose their email service
    assert result.exit_code == 0, result.output
    assert said(result) == (
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
    result = await run_cli("jobs", "check-emails")
    assert said(result) == (
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
    result = await run_cli("jobs", "check-emails")
    assert said(result) == (
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
