"""The planner's statistics kept up with an import that grows the patron tables
(PostgreSQL).

Each batch looks up its 1,000 keys at once (`rows.Batch.load`, `CachedLookups.prefetch`).
The plan for that comes from the tables' statistics. On a network that was never
analysed, or whose tables the import has outgrown many times over, the statistics do not
fit: the planner takes every patron of the institution for a handful and plans to read
them all for each batch, and the import slows down as it goes (quadratic: 100,000 rows
took 13 minutes instead of 40 seconds). Autovacuum cannot help: all the import's rows are
in one transaction, invisible to it until the end.

So whenever the import has written at least as many patrons as the statistics knew of
(after 1,000, 2,000, 4,000, ... on a new network: about log2(rows) times), the tables the
lookups read are analysed inside the import's own transaction. ANALYZE counts the rows of
its own transaction, and the statements prepared on the connection are planned again.
Rolled back with the import (statistics included). Without the right to analyse (not the
tables' owner) PostgreSQL only warns and the import goes on as before; if another
transaction is analysing the same tables (another institution's import), this one does
not wait for it but tries again after its next batch.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger("netzone.imports")

# The tables the batch lookups and the foreign key checks of the batch writes read.
TABLES = ("patron", "patron_identifier", "patron_attribute")
FIRST = 1000  # patrons written before the first look at a table with no statistics
LOCK_WAIT = "100ms"  # how long to wait for another transaction analysing the same tables
LOCK_NOT_AVAILABLE = "55P03"


class Statistics:
    """Counts the patrons an import writes and analyses the tables when they outgrow
    what the planner knows (see the module's docstring)."""

    def __init__(self) -> None:
        self.known: float | None = None  # rows the statistics know of (None: not read yet)
        self.written = 0  # patrons written since

    async def grew(self, session: AsyncSession, patrons: int) -> None:
        """`patrons` new patrons were written in the session's transaction."""
        if patrons <= 0:
            return
        connection = await session.connection()
        if connection.dialect.name != "postgresql":
            return
        if self.known is None:
            self.known = max(
                float(
                    await session.scalar(
                        text("SELECT reltuples FROM pg_class WHERE oid = 'patron'::regclass")
                    )
                    or 0
                ),
                0.0,
            )
        self.written += patrons
        if self.written < max(self.known, FIRST):
            return
        if await self._analyse(session):
            self.known += self.written
            self.written = 0

    async def _analyse(self, session: AsyncSession) -> bool:
        previous = await session.scalar(text("SELECT current_setting('lock_timeout')"))
        await session.execute(
            text("SELECT set_config('lock_timeout', :wait, true)"), {"wait": LOCK_WAIT}
        )
        try:
            async with session.begin_nested():
                await session.execute(text(f"ANALYZE {', '.join(TABLES)}"))
            return True
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            logger.info("import: the patron tables are being analysed elsewhere; next batch")
            return False
        finally:
            await session.execute(
                text("SELECT set_config('lock_timeout', :previous, true)"), {"previous": previous}
            )
