"""The suite's database: emptied before the run, and one rolled-back transaction per test
(tests/conftest.py's fixtures use these)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlmodel import col

from app.auth.models import AuthToken
from app.auth.tokens import token_digest
from app.db import Database, create_engine, utcnow
from app.network.models import Library
from app.patrons.models import Patron
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


@asynccontextmanager
async def committed_token(
    engine: AsyncEngine, username: str = "lansing.librarian", library: str = "LANSING"
) -> AsyncIterator[str]:
    """A session token of a demo login written straight into the database (committed) and
    deleted at the end, for an app on its own sessions: send only operations that change
    nothing through it (a login would leave its audit entry behind)."""
    token = "nzs_committed-" + secrets.token_urlsafe(16)
    async with engine.begin() as conn:
        patron_id, library_id = (
            await conn.execute(
                select(col(Patron.id), col(Library.id))
                .join(Library, col(Library.code) == library)
                .where(col(Patron.username) == username)
            )
        ).one()
        await conn.execute(
            insert(AuthToken).values(
                token_hash=token_digest(token),
                patron_id=patron_id,
                library_id=library_id,
                created_at=utcnow(),
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
    try:
        yield token
    finally:
        async with engine.begin() as conn:
            await conn.execute(
                delete(AuthToken).where(col(AuthToken.token_hash) == token_digest(token))
            )
