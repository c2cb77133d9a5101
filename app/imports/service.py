"""Importing patrons from CSV: validate every row, then write all of it or none of it.

The file is streamed (memory stays flat whatever its size); every row goes through
the registry's own validation and attribute rules for the importing session. All
rows are written in one transaction, so a failed row, a dry run, or a process
killed midway leaves the database as it was. Row errors are spooled to a
temporary file while the transaction is open and stored with the job afterwards.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import hashlib
import json
import logging
import tempfile
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes import service as attributes
from app.auth.passwords import verify_password
from app.auth.policy import Actor, can_manage_patrons, require, require_authenticated
from app.db import Database, utcnow
from app.errors import DomainError, ErrorCode, FieldError
from app.imports.columns import ATTRIBUTE_PREFIX, check_header, error_column, parse_row
from app.imports.models import ImportJob, ImportRowError
from app.network import service as network
from app.network.models import Institution, LibraryGroup
from app.observability import metrics
from app.patrons.delegation import refusal_to_change
from app.patrons.lookups import SESSION_KEY as LOOKUPS_KEY
from app.patrons.lookups import CachedLookups
from app.patrons.models import Patron, PatronIdentifier
from app.patrons.service import change_patron, insert_new_patrons, plan_new_patron
from app.patrons.state import PatronState, load_states
from app.patrons.validation import PatronPlan
from app.settings import Settings
from app.sql import pk

logger = logging.getLogger("netzone.imports")

MATCH_COLUMNS = {"ADMIN_SYSTEM_ID": "admin_system_id", "BARCODE": "barcode", "USERNAME": "username"}
MODES = ("CREATE_ONLY", "UPDATE_ONLY", "UPSERT")
BATCH = 1000  # rows checked and written together
Progress = Callable[[int, int | None], Awaitable[None] | None]


@dataclass(frozen=True)
class ImportOptions:
    institution: str
    match_on: str = "ADMIN_SYSTEM_ID"
    mode: str = "UPSERT"
    dry_run: bool = True


class FileProblem(Exception):
    """The file cannot be read as UTF-8 CSV from this line on."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _text_lines(raw: IO[bytes]) -> Iterator[str]:
    """The file's lines as text (BOM dropped); FileProblem names the first line not UTF-8."""
    for number, line in enumerate(raw, start=1):
        if number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FileProblem(
                number,
                f"Line {number} is not UTF-8 text (byte {exc.start + 1}); save the file as UTF-8.",
            ) from exc


def _rows(raw: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, cells) of each non-blank record (RFC 4180, strict)."""
    reader = csv.reader(_text_lines(raw), strict=True)
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            detail = str(exc)
            if detail == "unexpected end of data":
                detail = "a quoted cell is never closed"
            raise FileProblem(
                line, f"The record starting on line {line} is not valid CSV: {detail}."
            ) from exc
        start, line = line, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        yield start, cells


def _file_error(message: str) -> DomainError:
    return DomainError.of(ErrorCode.INVALID_INPUT, message, ["file"])


def read_header(path: Path) -> list[str]:
    """The checked columns of a file; DomainError for unknown columns, bad encoding or no header."""
    try:
        with path.open("rb") as raw:
            first = next(_rows(raw), None)
    except FileProblem as problem:
        raise _file_error(problem.message) from problem
    if first is None:
        raise _file_error("The file is empty: it needs a header row.")
    try:
        return check_header(first[1])
    except ValueError as exc:
        raise _file_error(str(exc)) from exc


def file_facts(path: Path) -> tuple[str, int]:
    """SHA-256 of the file and its number of data rows (both streamed).

    Raises FileProblem where the file stops being UTF-8 CSV.
    """
    rows = 0
    with path.open("rb") as raw:
        for _ in _rows(raw):
            rows += 1
    return content_hash(path), max(rows - 1, 0)


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        for chunk in iter(lambda: raw.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


async def create_job(
    *, session: AsyncSession, actor: Actor, path: Path, filename: str, options: ImportOptions
) -> ImportJob:
    """Check the caller, the options and the header, and queue a job for the file."""
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
            raise _file_error(
                f"Unknown column(s) {', '.join(repr(ATTRIBUTE_PREFIX + c) for c in unknown)}: "
                f"{institution.code} has no such attribute type."
            )
    try:
        digest, total = await asyncio.to_thread(file_facts, path)
    except FileProblem as problem:
        raise _file_error(problem.message + " Nothing was imported.") from problem
    if total == 0:
        raise _file_error("The file has a header row but no patrons.")
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
    await session.commit()
    metrics.import_job("QUEUED")
    return job


# Columns whose value names one patron of the institution.
UNIQUE_COLUMNS = ("admin_system_id", "barcode", "username")
DUPLICATES = {ErrorCode.DUPLICATE_IDENTIFIER, ErrorCode.DUPLICATE_USERNAME}


class _Batch:
    """One batch of rows: the patrons their match keys find, their states, and the new
    patrons accepted so far (written together at the end of the batch)."""

    def __init__(
        self,
        *,
        session: AsyncSession,
        lookups: CachedLookups,
        institution_id: int,
        match_on: str,
        actor: Actor,
    ) -> None:
        self.session = session
        self.lookups = lookups
        self.institution_id = institution_id
        self.match_on = match_on
        self.actor = actor
        self.type_id: int | None = None
        self.existing: dict[str, Patron] = {}
        self.looked_up: set[str] = set()  # the match keys `existing` has answered for
        self.states: dict[int, PatronState] = {}
        self.new_plans: list[PatronPlan] = []
        # hash((column, value)) -> the first line of the file whose row went through with
        # that value in a unique column: a later row repeating it is told which line.
        self.first_lines: dict[int, int] = {}

    def remember(self, line: int, fields: dict[str, Any]) -> None:
        for column in UNIQUE_COLUMNS:
            value = fields.get(column)
            if value:
                self.first_lines.setdefault(hash((column, str(value).strip().lower())), line)

    def repeated(self, column: str | None, fields: dict[str, Any]) -> int | None:
        """The earlier line of the file that holds this row's value of a unique column."""
        value = fields.get(column) if column in UNIQUE_COLUMNS else None
        if not value:
            return None
        return self.first_lines.get(hash((column, str(value).strip().lower())))

    async def match_type_id(self) -> int:
        if self.type_id is None:
            code = (
                network.ADMIN_SYSTEM_ID if self.match_on == "ADMIN_SYSTEM_ID" else network.BARCODE
            )
            found = await self.lookups.identifier_type_by_code(self.session, code)
            assert found is not None
            assert found.id is not None
            self.type_id = found.id
        return self.type_id

    async def match_claim(self, key: str) -> tuple[Any, ...]:
        """The lookups' key under which a new row claims this match key."""
        if self.match_on == "USERNAME":
            return ("username", self.institution_id, key.lower())
        return ("identifier", self.institution_id, await self.match_type_id(), key.lower())

    async def load(self, parsed: list[dict[str, Any]]) -> None:
        """Find the batch's existing patrons and prefetch its uniqueness questions."""
        match_field = MATCH_COLUMNS[self.match_on]
        keys = sorted({str(f[match_field]).strip().lower() for f in parsed if f.get(match_field)})
        self.existing = {}
        self.looked_up = set(keys)
        for start in range(0, len(keys), 1000):
            part = keys[start : start + 1000]
            if self.match_on == "USERNAME":
                query = select(col(Patron.username_key), Patron).where(
                    col(Patron.institution_id) == self.institution_id,
                    col(Patron.username_key).in_(part),
                )
            else:
                query = (
                    select(col(PatronIdentifier.value_key), Patron)
                    .join(Patron, col(PatronIdentifier.patron_id) == col(Patron.id))
                    .where(
                        col(PatronIdentifier.institution_id) == self.institution_id,
                        col(PatronIdentifier.identifier_type_id) == await self.match_type_id(),
                        col(PatronIdentifier.value_key).in_(part),
                    )
                )
            for key, patron in (await self.session.execute(query)).all():
                assert key is not None  # matched on it
                self.existing[key] = patron
        self.states = await load_states(self.session, list(self.existing.values()))
        usernames: list[str] = []
        identifiers: list[tuple[int, str]] = []
        for fields in parsed:
            if fields.get("username"):
                usernames.append(str(fields["username"]).strip().lower())
            wanted = [
                (network.BARCODE, fields.get("barcode")),
                (network.ADMIN_SYSTEM_ID, fields.get("admin_system_id")),
                *(fields.get("identifiers") or []),
            ]
            for type_code, value in wanted:
                if not value or not str(value).strip():
                    continue
                found = await self.lookups.identifier_type_by_code(self.session, type_code)
                if found is not None and found.id is not None:
                    identifiers.append((found.id, str(value).strip().lower()))
        await self.lookups.prefetch(self.session, self.institution_id, usernames, identifiers)

    async def find(self, key: str) -> Patron | None:
        """The patron this match key names, counting rows accepted earlier in the file."""
        claim = await self.match_claim(key)
        if self.lookups.claimant(claim) is not None:
            # A new patron earlier in this batch has it: write the batch so far, then the
            # row updates that patron, as it would if the two rows were further apart.
            await self.write_new()
            self.looked_up = set()  # what the batch wrote is found in the database now
        if key.lower() in self.looked_up:
            return self.existing.get(key.lower())
        if self.match_on == "USERNAME":
            query = select(Patron).where(
                col(Patron.institution_id) == self.institution_id,
                col(Patron.username_key) == key.lower(),
            )
        else:
            query = (
                select(Patron)
                .join(PatronIdentifier, col(PatronIdentifier.patron_id) == col(Patron.id))
                .where(
                    col(PatronIdentifier.institution_id) == self.institution_id,
                    col(PatronIdentifier.identifier_type_id) == await self.match_type_id(),
                    col(PatronIdentifier.value_key) == key.lower(),
                )
            )
        found = (await self.session.execute(query)).scalars().first()
        if found is not None and found.id is not None and found.id not in self.states:
            self.states.update(await load_states(self.session, [found]))
        return found

    def accept_new(self, plan: PatronPlan, mark: int) -> None:
        """Hold a valid new patron for the batch write; its keys are taken from now on."""
        self.new_plans.append(plan)
        for kind_and_key in _claims(self.institution_id, plan):
            self.lookups.claim(kind_and_key, mark)

    def record_update(self, patron_id: int, before: PatronState, after: PatronState) -> None:
        """Keys an update gave up are free, keys it took are its own."""
        for kind_and_key, owner in (
            *((k, None) for k in _keys(self.institution_id, before, self.lookups)),
            *((k, patron_id) for k in _keys(self.institution_id, after, self.lookups)),
        ):
            self.lookups.moved(kind_and_key, owner)

    async def write_new(self) -> None:
        if self.new_plans:
            await insert_new_patrons(
                session=self.session,
                actor=self.actor,
                institution_id=self.institution_id,
                plans=self.new_plans,
                action="import_create_patron",
            )
        self.new_plans = []
        self.lookups.release()


def _claims(institution_id: int, plan: PatronPlan) -> list[tuple[Any, ...]]:
    state = plan.state
    keys: list[tuple[Any, ...]] = []
    username = state.scalars.get("username")
    if username:
        keys.append(("username", institution_id, username.lower()))
    for identifier_type, value in plan.new_identifiers.values():
        keys.append(("identifier", institution_id, identifier_type.id, value.lower()))
    if plan.attributes is not None:
        for type_id, values in plan.attributes.changes.items():
            if plan.attributes.types[type_id].row.unique:
                keys += [("attribute", type_id, v.lower()) for v in values]
    return keys


def _keys(institution_id: int, state: PatronState, lookups: CachedLookups) -> list[tuple[Any, ...]]:
    keys: list[tuple[Any, ...]] = []
    username = state.scalars.get("username")
    if username:
        keys.append(("username", institution_id, username.lower()))
    for code, value in state.identifiers.items():
        found = lookups.cached_identifier_type(code)
        if found is not None:
            keys.append(("identifier", institution_id, found.id, value.lower()))
    return keys


@dataclass
class _Counts:
    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    committed: bool = False


KNOWN_SYSTEM_GROUPS = {
    "LIBRARY_USERS",
    "CIRCULATION",
    "OVERRIDE_BLOCKS",
    "LIBRARIAN",
    "SYSTEM_ADMIN",
    "NETWORK_ADMIN",
}


async def _import_row(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    options: ImportOptions,
    institution_code: str,
    batch: _Batch,
    line: int,
    fields: dict[str, Any],
) -> str:
    """Check one parsed row and write it (an update) or hold it for the batch write (a new
    patron), inside the import's transaction; returns the outcome."""
    match_field = MATCH_COLUMNS[options.match_on]
    key = fields.get(match_field)
    if not key:
        raise DomainError.of(
            ErrorCode.MANDATORY_FIELD,
            f"The match column {match_field} is empty.",
            [match_field],
        )
    key = str(key).strip()
    if "library_groups" in fields:
        known = batch.lookups.library_group_names(batch.institution_id)
        if known is None:
            rows = await session.execute(
                select(col(LibraryGroup.name), pk(LibraryGroup.id)).where(
                    col(LibraryGroup.institution_id) == batch.institution_id
                )
            )
            known = {name.lower(): group_id for name, group_id in rows.all()}
            batch.lookups.remember_library_group_names(batch.institution_id, known)
        names = fields["library_groups"] or []
        unknown = [name for name in names if name.lower() not in known]
        if unknown:
            raise DomainError.of(
                ErrorCode.INVALID_INPUT,
                f"Unknown library group(s): {', '.join(unknown)}.",
                ["library_groups"],
            )
        fields["library_groups"] = [known[name.lower()] for name in names]
    if "system_groups" in fields:
        codes = [c.upper() for c in fields["system_groups"] or []]
        unknown = [c for c in codes if c not in KNOWN_SYSTEM_GROUPS]
        if unknown:
            raise DomainError.of(
                ErrorCode.INVALID_INPUT,
                f"Unknown system group(s): {', '.join(unknown)}.",
                ["system_groups"],
            )
        fields["system_groups"] = codes
    existing = await batch.find(key)
    if existing is None:
        if options.mode == "UPDATE_ONLY":
            raise DomainError.of(
                ErrorCode.NOT_FOUND, f"No patron has {match_field} {key!r}.", [match_field]
            )
        _, plan = await plan_new_patron(
            session=session,
            settings=settings,
            actor=actor,
            institution_code=institution_code,
            fields=fields,
        )
        batch.accept_new(plan, -line)
        return "created"
    if options.mode == "CREATE_ONLY":
        raise DomainError.of(
            ErrorCode.CONFLICT,
            f"A patron with {match_field} {key!r} exists.",
            [match_field],
        )
    if existing.account_type != "HOME":
        raise DomainError.of(
            ErrorCode.CONFLICT,
            "This matches a linked account, which imports do not change.",
            [match_field],
        )
    assert existing.id is not None
    before = batch.states[existing.id]
    if fields.get("contact_emails"):
        # The file has addresses only: keep the labels staff gave the addresses it repeats.
        labels = {address.lower(): label for address, label in before.contact_emails}
        fields["contact_emails"] = [
            (address, labels.get(address.lower())) for address, _ in fields["contact_emails"]
        ]
    # Authority over the account first, whatever the row's cells say: only then is a
    # password cell compared with the stored hash (else a right guess would answer
    # differently from a wrong one).
    refusal = await refusal_to_change(session, actor, batch.institution_id, existing.id, before)
    if refusal is not None:
        raise refusal
    password = fields.get("password")
    if password and await asyncio.to_thread(
        verify_password, settings, existing.password_hash, password
    ):
        del fields["password"]  # the same password again is no change
    written: list[PatronState] = []
    changed = await change_patron(
        session=session,
        settings=settings,
        actor=actor,
        patron=existing,
        fields=fields,
        action="import_update_patron",
        before=before,
        written=written,
    )
    if changed:
        batch.record_update(existing.id, before, written[0])
        batch.states[existing.id] = written[0]
    return "updated" if changed else "unchanged"


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
    counts = _Counts()
    message: str | None = None
    started: datetime | None = None
    spool = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    try:
        async with _institution_lock(institution_id), _running():
            started = utcnow()
            _live[job_id] = 0
            try:
                message = await _import_rows(
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
                message = (
                    f"The import stopped on an unexpected error after {counts.processed} row(s)."
                )
            job = await _store_outcome(database, job_id, counts, message, options, started, spool)
            metrics.import_job(job.status)
    except asyncio.CancelledError:
        # Stopped while waiting, importing or reporting. An open transaction was rolled
        # back when its session closed; only a commit that already happened stands.
        metrics.import_job("SUCCEEDED" if counts.committed else "FAILED")
        await _finish(
            database,
            job_id,
            status="SUCCEEDED" if counts.committed else "FAILED",
            started_at=started,
            finished_at=utcnow(),
            processed_rows=counts.processed,
            created=counts.created,
            updated=counts.updated,
            unchanged=counts.unchanged,
            failed=counts.failed,
            message=(
                "The import was written, but stopped before its report was complete."
                if counts.committed
                else "The import was stopped before it ended; nothing was written."
            ),
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
    counts: _Counts,
    spool: IO[str],
    progress: Progress | None,
) -> str | None:
    """Every row in one transaction, committed only if all are valid; a file-level problem
    is returned as a message."""
    message: str | None = None
    async with database.session() as session:
        if database.dialect == "postgresql":
            await session.execute(
                select(func.pg_advisory_xact_lock(_ADVISORY_BASE + institution_id))
            )
        # Jobs of this institution still RUNNING now died with their process.
        async with database.session() as bookkeeping:
            await bookkeeping.execute(
                update(ImportJob)
                .where(
                    col(ImportJob.institution_id) == institution_id,
                    col(ImportJob.status) == "RUNNING",
                    col(ImportJob.id) != job_id,
                )
                .values(
                    status="FAILED",
                    finished_at=utcnow(),
                    message="The import was interrupted (its process ended); nothing was written.",
                )
            )
            job = await bookkeeping.get(ImportJob, job_id)
            assert job is not None
            job.status, job.started_at = "RUNNING", started
            await bookkeeping.commit()
        lookups = CachedLookups()
        session.info[LOOKUPS_KEY] = lookups
        batch = _Batch(
            session=session,
            lookups=lookups,
            institution_id=institution_id,
            match_on=options.match_on,
            actor=actor,
        )
        try:
            with path.open("rb") as raw:
                rows = _rows(raw)
                _, header = next(rows)
                columns = check_header(header)
                for chunk in _batches(rows, BATCH):
                    await _import_batch(
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
        if message is None and counts.failed == 0 and not options.dry_run:
            await session.commit()
            counts.committed = True
        else:
            await session.rollback()
    return message


def _batches(
    rows: Iterator[tuple[int, list[str]]], size: int
) -> Iterator[list[tuple[int, list[str]]]]:
    """The rows in lists of `size` (the last one shorter)."""
    chunk: list[tuple[int, list[str]]] = []
    for record in rows:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _import_batch(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    options: ImportOptions,
    institution_code: str,
    batch: _Batch,
    columns: list[str],
    chunk: list[tuple[int, list[str]]],
    counts: _Counts,
    spool: IO[str],
    job_id: int,
) -> None:
    """Check and write one batch of rows: a few set-based queries to find the patrons and
    the keys already taken, the rules row by row, then the new patrons in one write."""
    parsed = [(line, parse_row(columns, cells)) for line, cells in chunk]
    await batch.load([p.fields for _, p in parsed if not p.errors])
    for line, row in parsed:
        attribute_cells = row.fields.get("attributes")
        errors = list(row.errors)
        if not errors:
            try:
                outcome = await _import_row(
                    session=session,
                    settings=settings,
                    actor=actor,
                    options=options,
                    institution_code=institution_code,
                    batch=batch,
                    line=line,
                    fields=row.fields,
                )
                setattr(counts, outcome, getattr(counts, outcome) + 1)
                batch.remember(line, row.fields)
            except DomainError as error:
                errors = [
                    _in_this_file(batch, row.fields, error_column(e, attribute_cells), e)
                    for e in error.errors
                ]
        if errors:
            counts.failed += 1
            for column, code, text in errors:
                spool.write(json.dumps([line, column, code.value, text]) + "\n")
        counts.processed += 1
        _live[job_id] = counts.processed
    await batch.write_new()
    await session.flush()


def _in_this_file(
    batch: _Batch, fields: dict[str, Any], column: str | None, error: FieldError
) -> tuple[str | None, ErrorCode, str]:
    """A row's error; a value taken by an earlier row of the same file says so."""
    earlier = batch.repeated(column, fields) if error.code in DUPLICATES else None
    if earlier is None:
        return column, error.code, error.message
    value = str(fields[str(column)]).strip()
    return (
        column,
        error.code,
        f"The {column} {value!r} repeats line {earlier} of this file: each patron needs "
        f"a {column} of its own.",
    )


async def _store_outcome(
    database: Database,
    job_id: int,
    counts: _Counts,
    message: str | None,
    options: ImportOptions,
    started: datetime,
    spool: IO[str],
) -> ImportJob:
    async with database.session() as bookkeeping:
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
        await bookkeeping.commit()
        return job


async def row_errors(
    *, session: AsyncSession, job_id: int, first: int, after_id: int | None
) -> list[ImportRowError]:
    query = select(ImportRowError).where(col(ImportRowError.job_id) == job_id)
    if after_id is not None:
        query = query.where(col(ImportRowError.id) > after_id)
    return list(
        (await session.execute(query.order_by(col(ImportRowError.id)).limit(first))).scalars()
    )


async def visible_job(session: AsyncSession, actor: Actor, job_id: int) -> ImportJob | None:
    job = await session.get(ImportJob, job_id)
    if job is None or not can_manage_patrons(actor, job.institution_id):
        return None
    return job


async def already_imported(session: AsyncSession, institution_id: int, digest: str) -> bool:
    """Whether this exact file was imported (for real, successfully) before."""
    count = await session.scalar(
        select(func.count())
        .select_from(ImportJob)
        .where(
            col(ImportJob.institution_id) == institution_id,
            col(ImportJob.content_hash) == digest,
            col(ImportJob.status) == "SUCCEEDED",
            col(ImportJob.dry_run).is_(False),
        )
    )
    return bool(count)
