"""Importing patrons from CSV: validate every row, then write all of it or none of it.

The file is streamed (memory stays flat whatever its size); every row goes through
the registry's own validation and attribute rules for the importing session. All
rows are written in one transaction, so a failed row, a dry run, or a process
killed midway leaves the database as it was. Row errors are spooled to a
temporary file while the transaction is open and stored with the job afterwards.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes import service as attributes
from app.auth.policy import Actor, can_manage_patrons, require, require_authenticated
from app.db import Database, utcnow
from app.errors import DomainError, ErrorCode
from app.imports import liveness, stored_files
from app.imports.columns import ATTRIBUTE_PREFIX, check_header
from app.imports.file_check import FileFacts, facts_in_thread
from app.imports.files import FileProblem, file_error, read_header, records
from app.imports.models import ImportJob, ImportRowError
from app.imports.rows import (
    MATCH_COLUMNS,
    MODES,
    Batch,
    Counts,
    ImportOptions,
    batches,
    import_batch,
)
from app.network import service as network
from app.network.models import Institution
from app.observability import metrics
from app.patrons.lookups import SESSION_KEY as LOOKUPS_KEY
from app.patrons.lookups import CachedLookups
from app.queue import enqueue, job
from app.settings import Settings

logger = logging.getLogger("netzone.imports")


BATCH = 1000  # rows checked and written together

IMPORT_PATRONS = "import_patrons"  # the job kind


Progress = Callable[[int, int | None], Awaitable[None] | None]


async def create_job(
    *,
    session: AsyncSession,
    actor: Actor,
    path: Path,
    filename: str,
    options: ImportOptions,
    facts: FileFacts = facts_in_thread,
    queue_job: bool = True,
    before_commit: Callable[[int], Awaitable[None]] | None = None,
) -> ImportJob:
    """Check the caller, the options and the header, and queue a job for the file: the
    job row, the file's bytes (import_file) and the queued job commit together; `facts`
    reads the file's SHA-256 and rows (in a child process for the API). Without
    `queue_job` (the CLI, which runs the job itself from its own file) only the job row
    is written: no worker takes the job, and the file is not copied. `before_commit`
    gets the new job's id before anyone else can see the job (the CLI's claim on it)."""
    require_authenticated(actor)
    institution = await network.require_institution(session, options.institution, ["institution"])
    assert institution.id is not None
    if not can_manage_patrons(actor, institution.id):
        require(False, actor, "Only librarians of the institution may import its patrons.")
    if options.match_on not in MATCH_COLUMNS:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            f"Unknown match key {options.match_on!r}.",
            ["match_on"],
        )
    if options.mode not in MODES:
        raise DomainError.of(ErrorCode.INVALID_INPUT, f"Unknown mode {options.mode!r}.", ["mode"])
    columns = await asyncio.to_thread(read_header, path)
    if MATCH_COLUMNS[options.match_on] not in columns:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            f"Matching on {options.match_on} needs a column {MATCH_COLUMNS[options.match_on]}.",
            ["match_on"],
        )
    wanted = [c[len(ATTRIBUTE_PREFIX) :] for c in columns if c.startswith(ATTRIBUTE_PREFIX)]
    if wanted:
        known = {t.code for t in (await attributes.load_types(session, [institution.id])).values()}
        unknown = [code for code in wanted if code not in known]
        if unknown:
            raise file_error(
                f"Unknown column(s) {', '.join(repr(ATTRIBUTE_PREFIX + c) for c in unknown)}: "
                f"{institution.code} has no such attribute type."
            )
    try:
        digest, total = await facts(path)
    except FileProblem as problem:
        raise file_error(problem.message + " Nothing was imported.") from problem
    if total == 0:
        raise file_error("The file has a header row but no patrons.")
    job = ImportJob(
        institution_id=institution.id,
        actor_name=actor.name,
        filename=filename[:500],
        content_hash=digest,
        match_on=options.match_on,
        mode=options.mode,
        dry_run=options.dry_run,
        total_rows=total,
    )
    session.add(job)
    await session.flush()
    assert job.id is not None
    if queue_job:
        await stored_files.store_file(session, job.id, path)
        await enqueue(session, IMPORT_PATRONS, actor, job_id=job.id)
    if before_commit is not None:
        await before_commit(job.id)
    await session.commit()
    metrics.import_job("QUEUED")
    return job


@job(IMPORT_PATRONS, own_transactions=True)
async def run_queued(
    *, database: Database, settings: Settings, actor: Actor, job_id: int
) -> ImportJob | None:
    """Run a queued job from its stored file (wherever it runs), then drop the file. A job
    that has ended already (run before a worker died, or marked interrupted) is left be."""
    async with database.session() as session:
        queued = await session.get(ImportJob, job_id)
    if queued is None or queued.status not in ("QUEUED", "RUNNING"):
        await stored_files.drop_file(database, job_id)
        return queued
    directory = Path(settings.import_dir or Path(tempfile.gettempdir()) / "netzone-imports")
    path = directory / f"job-{job_id}-{uuid.uuid4().hex}.csv"
    try:
        if not await stored_files.restore_file(database, job_id, path):
            await stored_files.drop_file(database, job_id)
            return queued
        return await run_job(
            database=database, settings=settings, actor=actor, job_id=job_id, path=path
        )
    finally:
        path.unlink(missing_ok=True)
        await asyncio.shield(stored_files.drop_file(database, job_id))


# Progress of the jobs running in this process (job id -> rows processed so far).
_live: dict[int, int] = {}


# One import per institution at a time (per event loop; PostgreSQL adds an advisory lock
# so that other processes wait too): a second import of the same file then finds the
# patrons the first one wrote, instead of racing it to create them.
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


_ADVISORY_BASE = 0x6E7A_0000  # "nz": keeps the keys apart from other advisory locks


def live_progress(job_id: int) -> int | None:
    """Rows processed so far by a job running in this process (None if it is not)."""
    return _live.get(job_id)


def _institution_lock(institution_id: int) -> asyncio.Lock:
    per_loop = _locks.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault(institution_id, asyncio.Lock())


async def _report_progress(
    database: Database, job_id: int, done: int, total: int | None, progress: Progress | None
) -> None:
    _live[job_id] = done
    if database.dialect == "postgresql":
        # Other processes see progress too. A connection of its own: the import's
        # transaction stays open (and invisible) until the end.
        try:
            async with database.engine.begin() as conn:
                await conn.execute(
                    update(ImportJob).where(col(ImportJob.id) == job_id).values(processed_rows=done)
                )
        except Exception:  # progress is a nicety; never stop an import for it
            logger.warning("could not record the progress of import job %s", job_id)
    if progress is not None:
        result = progress(done, total)
        if result is not None:
            await result


async def _finish(database: Database, job_id: int, **values: Any) -> ImportJob:
    async with database.session() as bookkeeping:
        job = await bookkeeping.get(ImportJob, job_id)
        assert job is not None
        for name, value in values.items():
            setattr(job, name, value)
        await bookkeeping.commit()
        return job


@asynccontextmanager
async def _running() -> AsyncIterator[None]:
    """A job runs (its institution's turn has come): counted in the metrics."""
    metrics.import_job("RUNNING")
    metrics.IMPORT_JOBS_RUNNING.inc()
    try:
        yield
    finally:
        metrics.IMPORT_JOBS_RUNNING.dec()


async def run_job(
    *,
    database: Database,
    settings: Settings,
    actor: Actor,
    job_id: int,
    path: Path,
    progress: Progress | None = None,
) -> ImportJob:
    """Process a queued job to the end; the job row tells the outcome.

    Nothing is written unless every row is valid (and it is not a dry run). An
    unexpected error ends the job FAILED (logged, not raised); a cancelled job is
    marked FAILED and the cancellation goes on.
    """
    async with database.session() as bookkeeping:
        queued = await bookkeeping.get(ImportJob, job_id)
        assert queued is not None
        institution_id = queued.institution_id
        institution_row = await bookkeeping.get(Institution, institution_id)
        assert institution_row is not None
        institution_code = institution_row.code
        options = ImportOptions(
            institution=institution_code,
            match_on=queued.match_on,
            mode=queued.mode,
            dry_run=queued.dry_run,
        )
        total = queued.total_rows
    counts = Counts()
    message: str | None = None
    started: datetime | None = None
    spool = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    try:
        async with _institution_lock(institution_id), _running():
            started = utcnow()
            _live[job_id] = 0
            ran = True  # False: another runner had run the job before its turn came
            try:
                ran = await _import_rows(
                    database=database,
                    settings=settings,
                    actor=actor,
                    job_id=job_id,
                    institution_id=institution_id,
                    institution_code=institution_code,
                    options=options,
                    path=path,
                    total=total,
                    started=started,
                    counts=counts,
                    spool=spool,
                    progress=progress,
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("import job %s stopped on an unexpected error", job_id)
                if not counts.reported:  # else the outcome was stored, and stands
                    message = (
                        f"The import stopped on an unexpected error after "
                        f"{counts.processed} row(s)."
                    )
                    async with database.session() as bookkeeping:
                        await _store_outcome(
                            bookkeeping, job_id, counts, message, options, started, spool
                        )
                        await bookkeeping.commit()
            async with database.session() as bookkeeping:
                job = await bookkeeping.get(ImportJob, job_id)
            assert job is not None
            if ran:
                metrics.import_job(job.status)
    except asyncio.CancelledError:
        # Stopped while waiting or importing: the open transaction was rolled back when
        # its session closed. Stopped after the outcome was stored: it stands.
        if not counts.reported:
            metrics.import_job("FAILED")
            await _finish(
                database,
                job_id,
                status="FAILED",
                started_at=started,
                finished_at=utcnow(),
                processed_rows=counts.processed,
                created=counts.created,
                updated=counts.updated,
                unchanged=counts.unchanged,
                failed=counts.failed,
                message="The import was stopped before it ended; nothing was written.",
            )
        raise
    finally:
        spool.close()
        _live.pop(job_id, None)
    if progress is not None:
        result = progress(counts.processed, job.total_rows)
        if result is not None:
            await result
    return job


async def _import_rows(
    *,
    database: Database,
    settings: Settings,
    actor: Actor,
    job_id: int,
    institution_id: int,
    institution_code: str,
    options: ImportOptions,
    path: Path,
    total: int | None,
    started: datetime,
    counts: Counts,
    spool: IO[str],
    progress: Progress | None,
) -> bool:
    """Every row in one transaction, committed only if all are valid (a file-level
    problem fails the job with its message), and the job's outcome with them. False
    when the job had ended before its turn came (another runner ran it): nothing done."""
    message: str | None = None
    async with database.session() as session:
        if database.dialect == "postgresql":
            await session.execute(
                select(func.pg_advisory_xact_lock(_ADVISORY_BASE + institution_id))
            )
        async with database.session() as bookkeeping:
            job = await bookkeeping.get(ImportJob, job_id)
            assert job is not None
            if job.status not in ("QUEUED", "RUNNING"):
                # Another runner of this job had its turn first (a worker that took the
                # job again from the queue, its first worker thought dead): it stands.
                counts.reported = True
                return False
            await liveness.end_dead_jobs(
                bookkeeping, institution_id, job_id, postgresql=database.dialect == "postgresql"
            )
            job.status, job.started_at = "RUNNING", started
            await bookkeeping.commit()
        # The rows are written under a savepoint: a dry run, or a file with a bad row, rolls
        # them back and still stores its outcome before the lock is let go.
        rows = await session.begin_nested()
        lookups = CachedLookups()
        session.info[LOOKUPS_KEY] = lookups
        batch = Batch(
            session=session,
            lookups=lookups,
            institution_id=institution_id,
            match_on=options.match_on,
            actor=actor,
        )
        try:
            with path.open("rb") as raw:
                lines = records(raw)
                _, header = next(lines)
                columns = check_header(header)
                for chunk in batches(lines, BATCH):
                    await import_batch(
                        session=session,
                        settings=settings,
                        actor=actor,
                        options=options,
                        institution_code=institution_code,
                        batch=batch,
                        columns=columns,
                        chunk=chunk,
                        counts=counts,
                        spool=spool,
                        job_id=job_id,
                        live=_live,
                    )
                    session.expunge_all()  # keep memory flat
                    await _report_progress(database, job_id, counts.processed, total, progress)
        except FileProblem as problem:  # the file changed after it was checked
            counts.failed += 1
            spool.write(
                json.dumps([problem.line, None, ErrorCode.INVALID_INPUT.value, problem.message])
                + "\n"
            )
            message = problem.message
        except DomainError as error:
            # A batch's write lost a race on a unique key to another session's write
            # (the checks had found the key free): the job fails, saying which.
            message = (
                " ".join(e.message for e in error.errors)
                + f" The import stopped at row {counts.processed} of the file."
            )
        keep = message is None and counts.failed == 0 and not options.dry_run
        await (rows.commit() if keep else rows.rollback())
        # The outcome commits with the rows, or alone in the transaction that held the
        # institution's lock: the next import of the institution, whose turn comes with
        # this commit, must not take this job for one whose process died.
        await _store_outcome(session, job_id, counts, message, options, started, spool)
        await session.commit()
        counts.committed, counts.reported = keep, True
        return True


async def _store_outcome(
    bookkeeping: AsyncSession,
    job_id: int,
    counts: Counts,
    message: str | None,
    options: ImportOptions,
    started: datetime,
    spool: IO[str],
) -> None:
    """The job's counts, status, message and row errors, in `bookkeeping`'s transaction."""
    spool.seek(0)
    batch: list[dict[str, Any]] = []
    for raw in spool:
        line, column, code, text = json.loads(raw)
        batch.append(
            {
                "job_id": job_id,
                "line": line,
                "column": column,
                "code": code,
                "message": text[:2000],
            }
        )
        if len(batch) >= BATCH:
            await bookkeeping.execute(insert(ImportRowError), batch)
            batch = []
    if batch:
        await bookkeeping.execute(insert(ImportRowError), batch)
    job = await bookkeeping.get(ImportJob, job_id)
    assert job is not None
    job.started_at = job.started_at or started
    job.processed_rows = counts.processed
    job.created, job.updated, job.unchanged, job.failed = (
        counts.created,
        counts.updated,
        counts.unchanged,
        counts.failed,
    )
    if message is not None:
        job.status, job.message = "FAILED", message + " Nothing was written."
    elif counts.failed:
        job.status = "FAILED"
        job.message = f"{counts.failed} row(s) have errors; nothing was written."
    else:
        job.status = "SUCCEEDED"
        job.message = "Dry run: nothing was written." if options.dry_run else None
    job.finished_at = utcnow()
    await bookkeeping.flush()
