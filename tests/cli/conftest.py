"""`netzone` run as an operator runs it: through click's CliRunner against a SQLite file of
its own (migrated and seeded here, found through DATABASE_URL), or as a process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app import migrate
from app.cli import cli
from app.db import Database, create_engine
from app.demo.seed import seed_demo
from app.settings import Settings, get_settings

CHEAP = {"argon2_time_cost": 1, "argon2_memory_cost_kib": 1024, "argon2_parallelism": 1}


@pytest.fixture(autouse=True)
def operator_environment(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Settings read afresh from an environment of the test's own (cheap hashing, no
    NETZONE_DEBUG of the caller's)."""
    monkeypatch.delenv("NETZONE_DEBUG", raising=False)
    monkeypatch.delenv("NETZONE_SECRET_KEY", raising=False)
    monkeypatch.delenv("NETZONE_ENVIRONMENT", raising=False)
    for name, value in CHEAP.items():
        monkeypatch.setenv(f"NETZONE_{name.upper()}", str(value))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
async def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    settings = Settings(DATABASE_URL=url, **CHEAP)  # type: ignore[call-arg]
    await asyncio.to_thread(migrate.upgrade, url)
    database = Database(create_engine(settings))
    async with database.session() as session:
        await seed_demo(session, settings, patrons_per_institution=2)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        yield database
    finally:
        await database.engine.dispose()


async def run_cli(*args: str, input: str | None = None) -> Any:
    """`netzone ARGS`; the result's output holds what it wrote to stdout and stderr."""
    # The command runs its own event loop (asyncio.run): give it a thread of its own.
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), input)
