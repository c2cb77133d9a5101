"""Importing patrons from CSV: validate every row, then write all of it or none of it.

The file is streamed (memory stays flat whatever its size); every row goes through
the registry's own validation and attribute rules for the importing session. All
rows are written in one transaction, so a failed row, a dry run, or a process
killed midway leaves the database as it was. Row errors are spooled to a
temporary file while the transaction is open and stored with the job afterwards.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import logging
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.passwords import verify_password
from app.auth.policy import Actor, can_manage_patrons, require, require_authenticated
from app.db import Database, utcnow
from app.errors import DomainError, ErrorCode
from app.imports.columns import check_header, error_column, parse_row
from app.imports.models import ImportJob, ImportRowError
from app.network import service as network
from app.network.models import IdentifierType, Institution, LibraryGroup
from app.patrons.models import Patron, PatronIdentifier
from app.patrons.service import add_patron, change_patron
from app.settings import Settings

logger = logging.getLogger("netzone.imports")

MATCH_COLUMNS = {"ADMIN_SYSTEM_ID": "admin_system_id", "BARCODE": "barcode", "USERNAME": "username"}
MODES = ("CREATE_ONLY", "UPDATE_ONLY", "UPSERT")
BATCH = 500
Progress = Callable[[int, int | None], Awaitable[None] | None]


@dataclass(frozen=True)
class ImportOptions:
    institution: str
    match_on: str = "ADMIN_SYSTEM_ID"
    mode: str = "UPSERT"
    dry_run: bool = True


def _rows(handle: IO[str]) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(handle)
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        yield reader.line_num, cells


def read_header(path: Path) -> list[str]:
    """The checked columns of a file; DomainError for unknown columns, bad encoding or no header."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError as exc:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, "The file is not UTF-8 text.", ["input", "file"]
        ) from exc
    except csv.Error as exc:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, f"The file is not CSV: {exc}.", ["input", "file"]
        ) from exc
    if not header:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, "The file is empty: it needs a header row.", ["input", "file"]
        )
    try:
        return check_header(header)
    except ValueError as exc:
        raise DomainError.of(ErrorCode.INVALID_INPUT, str(exc), ["input", "file"]) from exc


def file_facts(path: Path) -> tuple[str, int]:
    """SHA-256 of the file and its number of data rows (both streamed)."""
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        for chunk in iter(lambda: raw.read(1 << 20), b""):
            digest.update(chunk)
    rows = 0
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for _ in _rows(handle):
                rows += 1
    except (UnicodeDecodeError, csv.Error):
        pass  # reported with its line when the rows are read
    return digest.hexdigest(), max(rows - 1, 0)


async def create_job(
    *, session: AsyncSession, actor: Actor, path: Path, filename: str, options: ImportOptions
) -> ImportJob:
    """Check the caller, the options and the header, and queue a job for the file."""
    require_authenticated(actor)
    institution = await network.institution_by_code(session, options.institution)
    if institution is None or not can_manage_patrons(actor, institution.id):  # type: ignore[arg-type]
        require(False, actor, "Only librarians of the institution may import its patrons.")
    assert institution is not None
    assert institution.id is not None
    if options.match_on not in MATCH_COLUMNS:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            f"Unknown match key {options.match_on!r}.",
            ["input", "matchOn"],
        )
    if options.mode not in MODES:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, f"Unknown mode {options.mode!r}.", ["input", "mode"]
        )
    columns = read_header(path)
    if MATCH_COLUMNS[options.match_on] not in columns:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            f"Matching on {options.match_on} needs a column {MATCH_COLUMNS[options.match_on]}.",
            ["input", "matchOn"],
        )
    digest, total = await asyncio.to_thread(file_facts, path)
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
    return job


class _Lookups:
    """Per-import caches of codes and names, and the match-key query."""

    def __init__(self, session: AsyncSession, institution_id: int, match_on: str) -> None:
        self.session = session
        self.institution_id = institution_id
        self.match_on = match_on
        self.groups: dict[str, int] | None = None
        self.type_id: int | None = None

    async def library_group_ids(self, names: list[str]) -> tuple[list[int], list[str]]:
        if self.groups is None:
            rows = await self.session.execute(
                select(LibraryGroup.name, LibraryGroup.id).where(
                    LibraryGroup.institution_id == self.institution_id
                )
            )
            self.groups = {name.lower(): group_id for name, group_id in rows.all()}
        ids, unknown = [], []
        for name in names:
            group_id = self.groups.get(name.lower())
            if group_id is None:
                unknown.append(name)
            else:
                ids.append(group_id)
        return ids, unknown

    async def existing(self, key: str) -> Patron | None:
        if self.match_on == "USERNAME":
            query = select(Patron).where(
                Patron.institution_id == self.institution_id, Patron.username_key == key.lower()
            )
        else:
            if self.type_id is None:
                code = (
                    network.ADMIN_SYSTEM_ID
                    if self.match_on == "ADMIN_SYSTEM_ID"
                    else network.BARCODE
                )
                self.type_id = await self.session.scalar(
                    select(IdentifierType.id).where(IdentifierType.code == code)
                )
            query = (
                select(Patron)
                .join(PatronIdentifier, PatronIdentifier.patron_id == Patron.id)
                .where(
                    PatronIdentifier.institution_id == self.institution_id,
                    PatronIdentifier.identifier_type_id == self.type_id,
                    PatronIdentifier.value_key == key.lower(),
                )
            )
        return (await self.session.execute(query)).scalars().first()


@dataclass
class _Counts:
    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0


async def _import_row(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    options: ImportOptions,
    institution_code: str,
    lookups: _Lookups,
    fields: dict[str, Any],
) -> str:
    """Write one parsed row (inside the import's transaction); returns the outcome."""
    match_field = MATCH_COLUMNS[options.match_on]
    key = fields.get(match_field)
    if not key:
        raise DomainError.of(
            ErrorCode.MANDATORY_FIELD,
            f"The match column {match_field} is empty.",
            ["input", match_field],
        )
    if "library_groups" in fields:
        ids, unknown = await lookups.library_group_ids(fields["library_groups"] or [])
        if unknown:
            raise DomainError.of(
                ErrorCode.INVALID_INPUT,
                f"Unknown library group(s): {', '.join(unknown)}.",
                ["input", "libraryGroups"],
            )
        fields["library_groups"] = ids
    if "system_groups" in fields:
        known = {
            "LIBRARY_USERS",
            "CIRCULATION",
            "OVERRIDE_BLOCKS",
            "LIBRARIAN",
            "SYSTEM_ADMIN",
            "NETWORK_ADMIN",
        }
        codes = [c.upper() for c in fields["system_groups"] or []]
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise DomainError.of(
                ErrorCode.INVALID_INPUT,
                f"Unknown system group(s): {', '.join(unknown)}.",
                ["input", "systemGroups"],
            )
        fields["system_groups"] = codes
    existing = await lookups.existing(str(key))
    if existing is None:
        if options.mode == "UPDATE_ONLY":
            raise DomainError.of(
                ErrorCode.NOT_FOUND, f"No patron has {match_field} {key!r}.", ["input", match_field]
            )
        await add_patron(
            session=session,
            settings=settings,
            actor=actor,
            institution_code=institution_code,
            fields=fields,
            action="import_create_patron",
        )
        return "created"
    if options.mode == "CREATE_ONLY":
        raise DomainError.of(
            ErrorCode.CONFLICT,
            f"A patron with {match_field} {key!r} exists.",
            ["input", match_field],
        )
    if existing.account_type != "HOME":
        raise DomainError.of(
            ErrorCode.CONFLICT,
            "This matches a linked account, which imports do not change.",
            ["input", match_field],
        )
    password = fields.get("password")
    if password and await asyncio.to_thread(
        verify_password, settings, existing.password_hash, password
    ):
        del fields["password"]  # the same password again is no change
    changed = await change_patron(
        session=session,
        settings=settings,
        actor=actor,
        patron=existing,
        fields=fields,
        action="import_update_patron",
    )
    return "updated" if changed else "unchanged"


async def run_job(
    *,
    database: Database,
    settings: Settings,
    actor: Actor,
    job_id: int,
    path: Path,
    progress: Progress | None = None,
) -> ImportJob:
    """Process a queued job to the end; the job row tells the outcome."""
    async with database.session() as bookkeeping:
        job = await bookkeeping.get(ImportJob, job_id)
        assert job is not None
        job.status = "RUNNING"
        job.started_at = utcnow()
        await bookkeeping.commit()
        institution_row = await bookkeeping.get(Institution, job.institution_id)
        assert institution_row is not None
        institution_code = institution_row.code
        options = ImportOptions(
            institution=institution_code, match_on=job.match_on, mode=job.mode, dry_run=job.dry_run
        )
    counts = _Counts()
    message: str | None = None
    spool = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    try:
        async with database.session() as session:
            lookups = _Lookups(session, job.institution_id, options.match_on)
            try:
                with path.open(encoding="utf-8-sig", newline="") as handle:
                    rows = _rows(handle)
                    _, header = next(rows)
                    columns = check_header(header)
                    for line, cells in rows:
                        parsed = parse_row(columns, cells)
                        attributes = parsed.fields.get("attributes")
                        errors = [(column, code, text) for column, code, text in parsed.errors]
                        if not errors:
                            try:
                                outcome = await _import_row(
                                    session=session,
                                    settings=settings,
                                    actor=actor,
                                    options=options,
                                    institution_code=institution_code,
                                    lookups=lookups,
                                    fields=parsed.fields,
                                )
                                setattr(counts, outcome, getattr(counts, outcome) + 1)
                            except DomainError as error:
                                errors = [
                                    (error_column(e, attributes), e.code, e.message)
                                    for e in error.errors
                                ]
                        if errors:
                            counts.failed += 1
                            for column, code, text in errors:
                                spool.write(json.dumps([line, column, code.value, text]) + "\n")
                        counts.processed += 1
                        if counts.processed % BATCH == 0:
                            await session.flush()
                            session.expunge_all()  # keep memory flat
                            if progress is not None:
                                result = progress(counts.processed, job.total_rows)
                                if result is not None:
                                    await result
            except UnicodeDecodeError:
                message = f"The file is not UTF-8 text (after row {counts.processed})."
            except csv.Error as exc:
                message = f"The file is not valid CSV after row {counts.processed}: {exc}."
            if message is None and counts.failed == 0 and not options.dry_run:
                await session.commit()
            else:
                await session.rollback()
    except Exception:
        spool.close()
        async with database.session() as bookkeeping:
            job = await bookkeeping.get(ImportJob, job_id)
            assert job is not None
            job.status, job.finished_at = "FAILED", utcnow()
            job.message = "The import stopped on an unexpected error; nothing was written."
            await bookkeeping.commit()
        raise
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
        spool.close()
        job = await bookkeeping.get(ImportJob, job_id)
        assert job is not None
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
        if progress is not None:
            result = progress(counts.processed, job.total_rows)
            if result is not None:
                await result
        return job


async def row_errors(
    *, session: AsyncSession, job_id: int, first: int, after_id: int | None
) -> list[ImportRowError]:
    query = select(ImportRowError).where(ImportRowError.job_id == job_id)
    if after_id is not None:
        query = query.where(ImportRowError.id > after_id)
    return list((await session.execute(query.order_by(ImportRowError.id).limit(first))).scalars())


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
            ImportJob.institution_id == institution_id,
            ImportJob.content_hash == digest,
            ImportJob.status == "SUCCEEDED",
            ImportJob.dry_run.is_(False),
        )
    )
    return bool(count)
