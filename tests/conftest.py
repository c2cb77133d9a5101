"""Test set-up: a migrated database with the demo network, one rolled-back transaction per test.

SQLite by default; `--db URL` or TEST_DATABASE_URL selects PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app import migrate
from app.db import Database, create_engine
from app.demo.seed import seed_demo
from app.main import create_app
from app.observability.metrics import start_metrics_server
from app.settings import Settings, normalize_database_url
from tests.support.cli import seeded_database
from tests.support.database import (
    DEMO_PATRONS_PER_INSTITUTION,
    reset_postgres,
    rolled_back,
    savepoint_database,
)
from tests.support.error_paths import pinned_error_paths, write_recorded
from tests.support.graphql import GraphQL
from tests.support.ops import Metrics

__all__ = ["pinned_error_paths"]


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


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The test database, migrated from empty and seeded with a small demo network."""
    url = settings.database_url
    if url.startswith("postgresql"):
        await reset_postgres(url)
    else:
        await asyncio.to_thread(Path(url.split("///", 1)[1]).unlink, missing_ok=True)
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(settings)
    db = Database(engine)
    async with db.session() as session:
        await seed_demo(session, settings, patrons_per_institution=DEMO_PATRONS_PER_INSTITUTION)
    yield engine
    await engine.dispose()


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


@pytest.fixture(scope="session")
def metrics_url() -> Iterator[str]:
    """This process's metrics, served as `serve` serves them on NETZONE_METRICS_PORT."""
    server, thread = start_metrics_server("127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.server_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def metrics(metrics_url: str) -> Metrics:
    return Metrics(metrics_url)


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


@pytest.fixture
async def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Database]:
    """A SQLite file of the test's own, migrated and seeded, that `netzone` finds through
    DATABASE_URL (whatever database the rest of the suite uses)."""
    async with seeded_database(tmp_path / "cli.db", monkeypatch) as (_, database):
        yield database


# The demo network's staff, logged in: a fixture each, the token of the session.


@pytest.fixture
async def lansing(gql: GraphQL) -> str:
    """A LIBRARIAN of NEKLS, logged in at LANSING (inside Kanopy's libraries)."""
    return await gql.login("lansing.librarian", "LANSING")


@pytest.fixture
async def basehor(gql: GraphQL) -> str:
    """A LIBRARIAN of NEKLS, logged in at BASEHOR (outside Kanopy's libraries)."""
    return await gql.login("basehor.librarian", "BASEHOR")


@pytest.fixture
async def nekls_admin(gql: GraphQL) -> str:
    """The SYSTEM_ADMIN of NEKLS, logged in at LANSING."""
    return await gql.login("nekls.admin", "LANSING")


@pytest.fixture
async def admin_lansing(nekls_admin: str) -> str:
    """The SYSTEM_ADMIN of NEKLS, logged in at LANSING."""
    return nekls_admin


@pytest.fixture
async def admin_basehor(gql: GraphQL) -> str:
    """The SYSTEM_ADMIN of NEKLS, logged in at BASEHOR."""
    return await gql.login("nekls.admin", "BASEHOR")


@pytest.fixture
async def network_admin(gql: GraphQL) -> str:
    """The NETWORK_ADMIN, logged in at LANSING."""
    return await gql.login("network.admin", "LANSING")


@pytest.fixture
async def eastern_admin(gql: GraphQL) -> str:
    """The SYSTEM_ADMIN of EASTERN."""
    return await gql.login("eastern.admin", "EASTERN-MAIN")


@pytest.fixture
async def eastern_circ(gql: GraphQL) -> str:
    """Desk staff (CIRCULATION) of EASTERN."""
    return await gql.login("eastern.circ", "EASTERN-MAIN")


@pytest.fixture
async def western_librarian(gql: GraphQL) -> str:
    """A LIBRARIAN of WESTERN."""
    return await gql.login("western.librarian", "WESTERN-MAIN")


@pytest.fixture
async def northfield_admin(gql: GraphQL) -> str:
    """The SYSTEM_ADMIN of NORTHFIELD."""
    return await gql.login("northfield.admin", "NORTHFIELD-MAIN")
