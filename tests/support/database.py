"""The suite's database: emptied before the run, and one rolled-back transaction per test
(tests/conftest.py's fixtures use these)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from app.db import Database, create_engine
from app.settings import Settings

DEMO_PATRONS_PER_INSTITUTION = 40


async def reset_postgres(url: str) -> None:
    engine = create_engine(Settings(DATABASE_URL=url))  # type: ignore[call-arg]
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
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


async def scalar(database: Database, sql: str) -> Any:
    """The one value a query answers, read on a connection of its own."""
    async with database.engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar_one()
