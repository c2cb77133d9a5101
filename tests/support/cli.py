"""`netzone` as an operator runs it: through click's CliRunner, against a SQLite file of
the test's own (migrated and seeded) that the command finds through DATABASE_URL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from app import migrate
from app.cli import cli
from app.db import Database, create_engine
from app.demo.seed import seed_demo
from app.settings import Settings, get_settings

# Password hashing as cheap as Argon2 allows: the commands hash what they create.
CHEAP = {"argon2_time_cost": 1, "argon2_memory_cost_kib": 1024, "argon2_parallelism": 1}


def cheap_settings(url: str) -> Settings:
    return Settings(DATABASE_URL=url, **CHEAP)  # type: ignore[call-arg]


def cheap_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same cheap hashing for the settings a command reads from the environment."""
    for name, value in CHEAP.items():
        monkeypatch.setenv(f"NETZONE_{name.upper()}", str(value))


@asynccontextmanager
async def seeded_database(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, Database]]:
    """A SQLite file at `path`, migrated and seeded with the demo (two generated patrons an
    institution), that `netzone` finds through DATABASE_URL: its URL and the database."""
    url = f"sqlite+aiosqlite:///{path}"
    settings = cheap_settings(url)
    await asyncio.to_thread(migrate.upgrade, url)
    database = Database(create_engine(settings))
    async with database.session() as session:
        await seed_demo(session, settings, patrons_per_institution=2)
    monkeypatch.setenv("DATABASE_URL", url)
    cheap_environment(monkeypatch)
    get_settings.cache_clear()
    try:
        yield url, database
    finally:
        get_settings.cache_clear()
        await database.engine.dispose()


async def run_cli(*args: str, input: str | None = None) -> Any:
    """`netzone ARGS`; the result's output holds what it wrote to stdout and stderr."""
    # The command runs its own event loop (asyncio.run): give it a thread of its own.
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), input)


def flat(output: str) -> str:
    """Output with Rich's line wrapping undone."""
    return " ".join(output.split())


def said(result: Any) -> str:
    """What a command wrote, with Rich's line wrapping undone."""
    return flat(result.output)
