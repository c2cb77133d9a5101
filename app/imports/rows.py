"""Checking and writing the rows of an import, a batch at a time: the patrons the match
column finds, the registry's own checks for each row, the new patrons written together.
A row's errors name its CSV columns (app.imports.columns)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth.passwords import verify_password
from app.auth.policy import Actor
from app.errors import DomainError, ErrorCode, FieldError
from app.imports.claims import claims, held_keys, in_order
from app.imports.collector import older_objects_set_aside
from app.imports.columns import error_column, parse_row
from app.imports.first_lines import FirstLines
from app.imports.statistics import Statistics
from app.network import service as network
from app.network.models import LibraryGroup
from app.patrons.bulk_updates import PatronChange, write_patron_changes
from app.patrons.bulk_writes import insert_new_patrons
from app.patrons.delegation import refusal_to_change
from app.patrons.lookups import CachedLookups, probed
from app.patrons.models import Patron, PatronIdentifier
from app.patrons.service import plan_change, plan_new_patron
from app.patrons.state import PatronState, load_states
from app.patrons.validation import PatronPlan
from app.settings import Settings
from app.sql import pk

MATCH_COLUMNS = {"ADMIN_SYSTEM_ID": "admin_system_id", "BARCODE": "barcode", "USERNAME": "username"}


MODES = ("CREATE_ONLY", "UPDATE_ONLY", "UPSERT")


@dataclass(frozen=True)
class ImportOptions:
    institution: str
    match_on: str = "ADMIN_SYSTEM_ID"
    mode: str = "UPSERT"
    dry_run: bool = True


# Columns whose value names one patron of the institution.
UNIQUE_COLUMNS = ("admin_system_id", "barcode", "username")


DUPLICATES = {ErrorCode.DUPLICATE_IDENTIFIER, ErrorCode.DUPLICATE_USERNAME}


class Batch:
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
        # Checked changes of stored patrons, written with the new patrons (updates first:
        # a key an update gives up may be taken by a new patron of the same batch).
        self.changes: dict[int, PatronChange] = {}
        # hash((column, value)) -> the first line of the file whose row went through with
        # that value in a unique column: a later row repeating it is told which line.
        self.first_lines = FirstLines()
        self.statistics = Statistics()

    def remember(self, line: int, fields: dict[str, Any]) -> None:
        for column in UNIQUE_COLUMNS:
            value = fields.get(column)
            if value:
                self.first_lines.remember(hash((column, str(value).strip().lower())), line)

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
        dialect = (await self.session.connection()).dialect.name
        for start in range(0, len(keys), 1000):
            part = keys[start : start + 1000]
            if self.match_on == "USERNAME":
                probe = probed(
                    dialect,
                    col(Patron.username_key),
                    part,
                    [col(Patron.username_key).label("key"), pk(Patron.id).label("patron_id")],
                    col(Patron.institution_id) == self.institution_id,
                )
            else:
                probe = probed(
                    dialect,
                    col(PatronIdentifier.value_key),
                    part,
                    [
                        col(PatronIdentifier.value_key).label("key"),
                        col(PatronIdentifier.patron_id).label("patron_id"),
                    ],
                    col(PatronIdentifier.institution_id) == self.institution_id,
                    col(PatronIdentifier.identifier_type_id) == await self.match_type_id(),
                )
            query = select(probe.c.key, Patron).join(Patron, pk(Patron.id) == probe.c.patron_id)
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
            # A row earlier in this batch gives it to a patron (a new one, or one it
            # changes): write the batch so far, then this row updates that patron, as it
            # would if the two rows were further apart.
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
        for kind_and_key in claims(self.institution_id, plan):
            self.lookups.claim(kind_and_key, mark)

    def accept_change(self, change: PatronChange) -> None:
        """Hold a checked update for the batch write. Until then the keys it gives up
        are free and the keys it takes are claimed, for the rows after it."""
        patron_id = change.patron.id
        assert patron_id is not None
        self.changes[patron_id] = change
        self.states[patron_id] = change.plan.state
        after = held_keys(self.institution_id, change.plan.state, self.lookups, change.plan)
        for kind_and_key in held_keys(
            self.institution_id, change.before, self.lookups, change.plan
        ):
            if kind_and_key not in after:
                self.lookups.hold(kind_and_key, None)
        for kind_and_key in after:
            self.lookups.hold(kind_and_key, patron_id)
            self.lookups.claim(kind_and_key, patron_id)

    async def write_new(self) -> None:
        """Write the batch's updates and new patrons held so far."""
        if self.changes:
            await write_patron_changes(
                session=self.session,
                actor=self.actor,
                changes=list(self.changes.values()),
                action="import_update_patron",
            )
            self.changes = {}
        if self.new_plans:
            await insert_new_patrons(
                session=self.session,
                actor=self.actor,
                institution_id=self.institution_id,
                plans=self.new_plans,
                action="import_create_patron",
            )
        written = len(self.new_plans)
        self.new_plans = []
        self.lookups.release()
        await self.statistics.grew(self.session, written)


@dataclass
class Counts:
    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    committed: bool = False  # the rows are written
    reported: bool = False  # the job's outcome is stored (with the rows, or alone)


KNOWN_SYSTEM_GROUPS = {
    "LIBRARY_USERS",
    "CIRCULATION",
    "OVERRIDE_BLOCKS",
    "LIBRARIAN",
    "SYSTEM_ADMIN",
    "NETWORK_ADMIN",
}


async def import_row(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    options: ImportOptions,
    institution_code: str,
    batch: Batch,
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
    if existing.id in batch.changes or in_order(batch.states[existing.id]):
        await batch.write_new()  # its held update first, or what the checks will read
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
    change = await plan_change(
        session=session,
        settings=settings,
        actor=actor,
        patron=existing,
        fields=fields,
        before=before,
    )
    if change is None:
        return "unchanged"
    if in_order(before, change.state):
        await batch.write_new()
    batch.accept_change(PatronChange(existing, before, change))
    if in_order(before, change.state):
        await batch.write_new()
    return "updated"


def batches(
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


async def import_batch(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    options: ImportOptions,
    institution_code: str,
    batch: Batch,
    columns: list[str],
    chunk: list[tuple[int, list[str]]],
    counts: Counts,
    spool: IO[str],
    job_id: int,
    live: dict[int, int],
) -> None:
    """Check and write one batch of rows: a few set-based queries to find the patrons and
    the keys already taken, the rules row by row, then the new patrons in one write; the
    rows done so far go to `live` (job id -> rows)."""
    with older_objects_set_aside():
        parsed = [(line, parse_row(columns, cells)) for line, cells in chunk]
        await batch.load([p.fields for _, p in parsed if not p.errors])
        for line, row in parsed:
            attribute_cells = row.fields.get("attributes")
            errors = list(row.errors)
            if not errors:
                try:
                    outcome = await import_row(
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
            live[job_id] = counts.processed
        await batch.write_new()
        await session.flush()


def _in_this_file(
    batch: Batch, fields: dict[str, Any], column: str | None, error: FieldError
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
