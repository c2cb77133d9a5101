"""A pooled connection is checked as it leaves the pool only after it has been idle for
a while (app.db.PING_IF_IDLE_SECONDS): under load no request pays a round trip for the
check, and one idle longer is checked and replaced when its server process is gone."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.db import PING_IF_IDLE_SECONDS, create_engine
from app.settings import Settings


async def _backend(engine) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(settings: Settings, pid: int) -> None:
    other = create_engine(settings, pool_size=1)
    try:
        async with other.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            # The server needs a moment to end the process.
            for _ in range(50):
                gone = (
                    await conn.execute(
                        text("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = :pid"),
                        {"pid": pid},
                    )
                ).scalar_one()
                if gone:
                    return
                await asyncio.sleep(0.02)
    finally:
        await other.dispose()


async def test_only_idle_connections_are_checked(settings: Settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server process to lose: there is no ping")
    # A connection back in the pool a moment ago (within the window) is used as it is:
    # when its server process is gone, the statement fails (no ping hid it) ...
    busy = create_engine(settings, pool_size=1, ping_if_idle=60)
    try:
        pid = await _backend(busy)
        await _terminate(settings, pid)
        with pytest.raises(DBAPIError):
            await _backend(busy)
    finally:
        await busy.dispose()
    # ... and one idle past the window is checked first: a dead one is replaced before
    # the statement runs.
    quiet = create_engine(settings, pool_size=1, ping_if_idle=0.3)
    try:
        pid = await _backend(quiet)
        await _terminate(settings, pid)
        await asyncio.sleep(0.5)
        assert await _backend(quiet) != pid
    finally:
        await quiet.dispose()
    assert PING_IF_IDLE_SECONDS <= 1.0  # below the shortest outage the fault test makes
