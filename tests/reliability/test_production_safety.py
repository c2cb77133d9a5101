"""What an operator can get wrong: the demo's published passwords seeded into a real
database, and two processes migrating one empty database at once."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import Database
from app.demo.seed import DemoRefused, seed_demo
from app.settings import Settings
from tests.reliability.counts import record
from tests.reliability.live_server import (
    ROOT,
    LiveDatabase,
    netzone,
    netzone_command,
    service_env,
)
from tests.support.graphql import GraphQL

CREATE_INSTITUTION = """mutation($input: CreateInstitutionInput!) {
  createInstitution(input: $input) { errors { code message } } }"""


async def _counts(connection: AsyncConnection) -> tuple[int, int]:
    patrons = (await connection.execute(text("SELECT count(*) FROM patron"))).scalar_one()
    tokens = (await connection.execute(text("SELECT count(*) FROM auth_token"))).scalar_one()
    return int(patrons), int(tokens)


async def test_the_demo_is_refused_in_production(
    settings: Settings, database: Database, connection: AsyncConnection
) -> None:
    before = await _counts(connection)
    production = settings.model_copy(update={"environment": "production"})
    async with database.session() as session:
        with pytest.raises(DemoRefused, match="not seeded in production"):
            await seed_demo(session, production, patrons_per_institution=2)
    assert await _counts(connection) == before


async def test_the_demo_is_refused_beside_a_real_institution(
    gql: GraphQL, settings: Settings, database: Database, connection: AsyncConnection
) -> None:
    network_admin = await gql.login("network.admin", "LANSING")
    data = await gql.ok(
        CREATE_INSTITUTION, {"input": {"code": "REALCITY", "name": "Real City"}}, network_admin
    )
    assert data["createInstitution"]["errors"] == [], data
    before = await _counts(connection)
    async with database.session() as session:
        with pytest.raises(DemoRefused, match=r"not the demo's \(REALCITY\)"):
            await seed_demo(session, settings, patrons_per_institution=2)
    assert await _counts(connection) == before


def test_netzone_demo_refuses_a_real_database_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'real.db'}"
    made = netzone(
        "bootstrap", "--institution", "REALCITY", "--institution-name", "Real City",
        "--library", "REAL-MAIN", "--library-name", "Main", "--admin", "real.admin",
        "--password", "a-long-enough-password", database_url=url,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    refused = netzone("demo", "--patrons", "2", database_url=url)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "Refused" in refused.stdout
    assert "REALCITY" in refused.stdout
    assert "Traceback" not in refused.stdout + refused.stderr
    record("production safety: refusals checked", 3)


async def test_two_migrations_started_together_both_succeed(
    database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no concurrent migrations to order: one file, one writer")
    db = await LiveDatabase.create(database_url, "migrate", tmp_path)
    try:
        codes, outputs = await asyncio.to_thread(_migrate_twice_at_once, db.url)
        assert codes == [0, 0], outputs
        record("production safety: concurrent migrations", 2)
    finally:
        await db.drop()


def _migrate_twice_at_once(url: str) -> tuple[list[int], list[str]]:
    processes = [
        subprocess.Popen(
            netzone_command("migrate"),
            env=service_env(url),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=180)[0] for p in processes]
    return [p.returncode for p in processes], outputs
