"""Which jobs of an institution are dead, decided when an import's turn comes (it holds
the institution's lock, so none of them can be running meanwhile).

- A RUNNING job: whoever ran it let the lock go without storing an outcome, so its
  process ended (its transaction, and with it every row, was rolled back).
- A QUEUED job with no stored file (one the CLI runs itself, from its own file): dead
  when no process holds its claim (PostgreSQL: a two-key advisory lock the CLI takes
  before the job is committed and holds until the job ends).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from app.db import Database, utcnow
from app.imports.models import ImportFile, ImportJob

logger = logging.getLogger("netzone.imports")

Claim = Callable[[int], Awaitable[None]]

_CLAIMS = 0x6E7A  # "nz": (this, job id) are the advisory locks of jobs run by their maker


async def claim_job(connection: AsyncConnection, job_id: int) -> None:
    """The process that runs a job itself (the CLI) holds this on a connection of its own
    for as long as it runs (PostgreSQL): while it is held, the job is alive."""
    await connection.execute(select(func.pg_advisory_lock(_CLAIMS, job_id)))
    await connection.commit()  # a session's lock: it outlives the transaction


@asynccontextmanager
async def claimed(database: Database) -> AsyncIterator[Claim | None]:
    """For a process that runs its own job (the CLI): a way to claim the job before it is
    committed (create_job's `before_commit`), held on a connection of its own until the
    block ends, then let go. None on SQLite (no advisory locks)."""
    if database.dialect != "postgresql":
        yield None
        return
    async with database.engine.connect() as owner:

        async def claim(job_id: int) -> None:
            await claim_job(owner, job_id)

        try:
            yield claim
        finally:
            await release_claims(owner)


async def release_claims(connection: AsyncConnection) -> None:
    """Let go of the claims taken on `connection` before it goes back to the pool (a
    pooled connection keeps a session's advisory locks). A connection that is gone has
    let go of them already: that is logged, not raised over what ended the import."""
    try:
        await connection.execute(select(func.pg_advisory_unlock_all()))
        await connection.commit()
    except Exception:
        logger.warning("could not let go of an import's claim; its connection is closed")
        await connection.invalidate()


async def end_dead_jobs(
    bookkeeping: AsyncSession, institution_id: int, job_id: int, *, postgresql: bool
) -> None:
    """Fail the institution's dead jobs (other than `job_id`), and drop their files."""
    if postgresql:
        await _end_unclaimed_jobs(bookkeeping, institution_id, job_id)
    dead = select(col(ImportJob.id)).where(
        col(ImportJob.institution_id) == institution_id,
        col(ImportJob.status) == "RUNNING",
        col(ImportJob.id) != job_id,
    )
    # (A worker that takes one of them over from the queue then finds it ended.)
    await bookkeeping.execute(delete(ImportFile).where(col(ImportFile.job_id).in_(dead)))
    await bookkeeping.execute(
        update(ImportJob)
        .where(  # the status tested on the row itself: one that ended meanwhile stays
            col(ImportJob.institution_id) == institution_id,
            col(ImportJob.status) == "RUNNING",
            col(ImportJob.id) != job_id,
        )
        .execution_options(synchronize_session=False)
        .values(
            status="FAILED",
            finished_at=utcnow(),
            message="The import was interrupted (its process ended); nothing was written.",
        )
    )


async def _end_unclaimed_jobs(bookkeeping: AsyncSession, institution_id: int, job_id: int) -> None:
    """Fail the institution's waiting jobs that nobody will run: no stored file for a
    worker to run them from, and no live process holding their claim (a CLI that ended
    before its turn came)."""
    waiting = await bookkeeping.execute(
        select(col(ImportJob.id)).where(
            col(ImportJob.institution_id) == institution_id,
            col(ImportJob.status) == "QUEUED",
            col(ImportJob.id) != job_id,
            ~select(col(ImportFile.job_id))
            .where(col(ImportFile.job_id) == col(ImportJob.id))
            .exists(),
        )
    )
    for (waiting_id,) in waiting.all():
        # Free only if its process ended (taken until this transaction ends).
        if await bookkeeping.scalar(select(func.pg_try_advisory_xact_lock(_CLAIMS, waiting_id))):
            await bookkeeping.execute(
                update(ImportJob)
                .where(col(ImportJob.id) == waiting_id, col(ImportJob.status) == "QUEUED")
                .execution_options(synchronize_session=False)
                .values(
                    status="FAILED",
                    finished_at=utcnow(),
                    message="The import was interrupted (its process ended before its turn "
                    "came); nothing was written.",
                )
            )
