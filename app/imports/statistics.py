"""The planner's statistics kept up with an import that grows the patron tables
(PostgreSQL).

Each batch looks up its 1,000 keys at once (`rows.Batch.load`, `CachedLookups.prefetch`).
Those lookups now probe the index once per key whatever the statistics say
(`app.patrons.lookups.probed`); the other statements of an import still take their
plans from the tables' statistics. On a network that was never analysed, or whose tables
the import has outgrown many times over, the statistics do not fit: with IN lists the
planner took every patron of the institution for a handful and planned to read them all
for each batch, and the import slowed down as it went (quadratic: 100,000 rows took 13
minutes instead of 40 seconds). Autovacuum cannot help: all the import's rows are in one
transaction, invisible to it until the end.

So whenever the import has written at least as many patrons as the statistics knew of
(after 1,000, 2,000, 4,000, ... on a new network: about log2(rows) times), and after its
first batch if the planner has no statistics for them at all, the tables the lookups
read are analysed inside the import's own transaction. ANALYZE counts the rows of its own
transaction, and the statements prepared on the connection are planned again. A
rolled-back import (a dry run, a file with errors) takes its statistics back with it,
though not the row counts PostgreSQL writes in place in pg_class: the next import finds
no statistics and analyses after its first batch. Without the right to analyse (not the
tables' owner) PostgreSQL only warns and the import goes on as before; if another
transaction is analysing the same tables (another institution's import, whose ANALYZE
holds its lock until that import ends), this one waits 10 ms at most and tries again ten
batches later.
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
LOCK_WAIT = "10ms"  # how long to wait for another transaction analysing the same tables
RETRY_AFTER = 10  # batches to let pass before trying again when one is
LOCK_NOT_AVAILABLE = "55P03"


class Statistics:
    """Counts the patrons an import writes and analyses the tables when they outgrow
    what the planner knows (see the module's docstring)."""

    def __init__(self) -> None:
        self.known: float | None = None  # rows the statistics know of (None: not read yet)
        self.without_statistics = False  # the planner has no statistics for the lookups
        self.written = 0  # patrons written since
        self.wait = 0  # batches still to let pass before trying again (the lock was taken)

    async def grew(self, session: AsyncSession, patrons: int) -> None:
        """A batch wrote `patrons` new patrons (maybe none) in the session's transaction."""
        connection = await session.connection()
        if connection.dialect.name != "postgresql":
            return
        if self.known is None:
            self.known = await _row_estimate(session)
            # None at all (never analysed, or only by an import that was rolled back,
            # a dry run say): even an import that only updates patrons needs statistics
            # for its lookups, so it has them after its first batch.
            self.without_statistics = not await session.scalar(
                text(
                    "SELECT EXISTS (SELECT FROM pg_stats WHERE schemaname = current_schema() "
                    "AND tablename = 'patron_identifier')"
                )
            )
        self.written += max(patrons, 0)
        if not self.without_statistics and self.written < max(self.known, FIRST):
            return
        if self.wait > 0:
            self.wait -= 1
            return
        if await self._analyse(session):
            self.known = await _row_estimate(session)
            self.written = 0
            self.without_statistics = False
        else:
            self.wait = RETRY_AFTER

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
            logger.info("import: the patron tables are being analysed elsewhere; tried later")
            return False
        finally:
            await session.execute(
                text("SELECT set_config('lock_timeout', :previous, true)"), {"previous": previous}
            )


async def _row_estimate(session: AsyncSession) -> float:
    """The planner's count of patrons (pg_class.reltuples; -1, never analysed: 0)."""
    found = await session.scalar(
        text("SELECT reltuples FROM pg_class WHERE oid = 'patron'::regclass")
    )
    return max(float(found or 0), 0.0)
