"""Test set-up: a migrated database with the demo network, one rolled-back transaction per test.

SQLite by default; `--db URL` or TEST_DATABASE_URL selects PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from app import migrate
from app.db import Database, create_engine
from app.demo.seed import seed_demo
from app.main import create_app
from app.settings import Settings, normalize_database_url
from tests.support.error_paths import pinned_error_paths, write_recorded
from tests.support.graphql import GraphQL

__all__ = ["pinned_error_paths"]

DEMO_PATRONS_PER_INSTITUTION = 40


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        action="store",
        default=None,
        help="Database URL for the tests (default: TEST_DATABASE_URL, else a SQLite file).",
    )


@pytest.fixture(scope="session")
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    url = request.config.getoption("--db") or os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalize_database_url(url)
    path = tmp_path_factory.mktemp("db") / "netzone-test.db"
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # Cheap argon2 parameters keep the suite fast; production refuses them.
    return Settings(
        DATABASE_URL=database_url,  # type: ignore[call-arg]
        environment="test",
        argon2_time_cost=1,
        argon2_memory_cost_kib=1024,
        argon2_parallelism=1,
        # The per-test transaction cannot be shared with a background task: imports
        # run to the end inside the request (a separate test covers the background path).
        import_background=False,
    )


async def _reset_postgres(url: str) -> None:
    engine = create_engine(Settings(DATABASE_URL=url))  # type: ignore[call-arg]
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The test database, migrated from empty and seeded with a small demo network."""
    url = settings.database_url
    if url.startswith("postgresql"):
        await _reset_postgres(url)
    else:
        await asyncio.to_thread(Path(url.split("///", 1)[1]).unlink, missing_ok=True)
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(settings)
    db = Database(engine)
    async with db.session() as session:
        await seed_demo(session, settings, patrons_per_institution=DEMO_PATRONS_PER_INSTITUTION)
    yield engine
    await engine.dispose()


@asynccontextmanager
async def rolled_back(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection in an outer transaction that is rolled back at the end."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            if transaction.is_active:
                await transaction.rollback()


def savepoint_database(engine: AsyncEngine, connection: AsyncConnection) -> Database:
    """The app's Database on that connection: each session's commit is a SAVEPOINT."""
    factory = async_sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
    )
    return Database(engine, session_factory=factory)


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection in an outer transaction that is rolled back after the test."""
    async with rolled_back(engine) as conn:
        yield conn


@pytest.fixture
def database(connection: AsyncConnection, engine: AsyncEngine) -> Database:
    return savepoint_database(engine, connection)


@pytest.fixture
async def client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
        yield http


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQL:
    return GraphQL(client)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print what the reliability suite checked (tests/reliability/counts.py)."""
    from tests.reliability.counts import COUNTS

    if not COUNTS:
        return
    terminalreporter.section("reliability suite")
    for what, n in sorted(COUNTS.items()):
        terminalreporter.write_line(f"{what}: {n}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    write_recorded()
