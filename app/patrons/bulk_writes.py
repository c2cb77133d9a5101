"""Writing many validated new patrons at once (the CSV importer's batches): the rows of
every table built as tuples, in the tables' column order, and sent with one binary COPY
per table on PostgreSQL (one multi-row INSERT elsewhere), with one audit entry per
patron.

Building a dict per row and table, and then a tuple from each dict, was a tenth of an
import's CPU; so was encoding each audit entry's changes with the standard library's
`json` (orjson here: the same JSON values, without the blanks after `:` and `,`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Table, insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.attributes.models import PatronAttribute
from app.audit.models import AuditEntry
from app.auth.policy import Actor
from app.db import utcnow
from app.emails.service import flag_blacklisted_patrons
from app.patrons.edits import key_of
from app.patrons.lookups import lookups_of
from app.patrons.models import (
    Patron,
    PatronContactEmail,
    PatronIdentifier,
    PatronLibraryAccess,
    PatronLibraryGroup,
    PatronSystemGroup,
)
from app.patrons.state import SCALAR_FIELDS, PatronState
from app.patrons.validation import PatronPlan
from app.patrons.writing import audited_changes, translate_integrity

# The patron row: the state's scalars, then what the write adds.
PATRON_COLUMNS = (
    *SCALAR_FIELDS,
    "id",
    "institution_id",
    "account_type",
    "username_key",
    "surname_key",
    "given_key",
    "password_hash",
    "version",
    "failed_logins",
    "created_at",
    "updated_at",
)
# The flags, as booleans, with their values when a plan has none.
_FLAGS = [
    (SCALAR_FIELDS.index(name), name, default)
    for name, default in (("enabled", True), ("is_staff", False), ("is_generic", False))
]
# The rows of a patron's child tables, as the tuples both bulk writers build.
CHILD_COLUMNS: dict[Any, tuple[str, ...]] = {
    PatronIdentifier: ("patron_id", "institution_id", "identifier_type_id", "value", "value_key"),
    PatronContactEmail: ("patron_id", "position", "address", "label"),
    PatronLibraryGroup: ("patron_id", "library_group_id"),
    PatronSystemGroup: ("patron_id", "system_group"),
    PatronLibraryAccess: ("patron_id", "library_id"),
    PatronAttribute: ("patron_id", "attribute_type_id", "value", "unique_key"),
}
AUDIT_COLUMNS = (
    "at",
    "institution_id",
    "actor_patron_id",
    "actor_client_id",
    "actor_name",
    "library_id",
    "action",
    "entity_type",
    "entity_id",
    "changes",
)


async def copy_rows(
    session: AsyncSession, table: Table, columns: Sequence[str], records: list[tuple[Any, ...]]
) -> None:
    """Insert rows given as tuples (in the order of `columns`) in the session's
    transaction: a binary COPY through the session's own connection on PostgreSQL (JSON
    columns as their text), one multi-row INSERT elsewhere. Column defaults are not
    applied: the rows carry every value the table needs."""
    if not records:
        return
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        await session.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in records])
        return
    import asyncpg  # type: ignore[import-untyped]

    raw = await connection.get_raw_connection()
    try:
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            table.name, records=records, columns=list(columns)
        )
    except asyncpg.IntegrityConstraintViolationError as exc:
        # The driver's own call, past SQLAlchemy's wrapping: told as the INSERT would be.
        raise IntegrityError(f"COPY {table.name}", None, exc) from exc


async def insert_new_patrons(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_id: int,
    plans: list[PatronPlan],
    action: str,
) -> list[int]:
    """Write many validated new patrons with a few set-based statements.

    The caller has checked uniqueness across the plans (app.patrons.lookups); a clash
    that slipped through (another session's concurrent write) fails the statement.
    Returns the new patrons' ids, in the order of the plans.
    """
    if not plans:
        return []
    now = utcnow()
    postgresql = (await session.connection()).dialect.name == "postgresql"
    try:
        async with session.begin_nested():
            ids = await _new_patron_ids(session, len(plans), postgresql)
            patrons: list[tuple[Any, ...]] = []
            identifiers: list[tuple[Any, ...]] = []
            emails: list[tuple[Any, ...]] = []
            groups: list[tuple[Any, ...]] = []
            roles: list[tuple[Any, ...]] = []
            libraries: list[tuple[Any, ...]] = []
            values: list[tuple[Any, ...]] = []
            for patron_id, plan in zip(ids, plans, strict=True):
                state = plan.state
                scalars = state.scalars
                row = [scalars.get(name) for name in SCALAR_FIELDS]
                for index, name, default in _FLAGS:
                    row[index] = bool(scalars.get(name, default))
                patrons.append(
                    (
                        *row,
                        patron_id,
                        institution_id,
                        "HOME",
                        key_of(scalars.get("username")),
                        key_of(scalars.get("surname")) or "",
                        key_of(scalars.get("given_name")) or "",
                        plan.password_hash or None,
                        1,
                        0,
                        now,
                        now,
                    )
                )
                identifiers += [
                    (patron_id, institution_id, identifier_type.id, value, value.lower())
                    for identifier_type, value in plan.new_identifiers.values()
                ]
                emails += [
                    (patron_id, position, address, label)
                    for position, (address, label) in enumerate(state.contact_emails)
                ]
                groups += [(patron_id, g) for g in state.library_groups]
                roles += [(patron_id, g) for g in state.system_groups]
                libraries += [(patron_id, i) for i in state.libraries]
                if plan.attributes is not None:
                    values += [
                        (patron_id, type_id, value, value.lower() if unique else None)
                        for type_id, type_values in plan.attributes.changes.items()
                        for unique in (plan.attributes.types[type_id].row.unique,)
                        for value in type_values
                    ]
            await copy_rows(session, Patron.__table__, PATRON_COLUMNS, patrons)  # type: ignore[attr-defined]
            for table, records in (
                (PatronIdentifier, identifiers),
                (PatronContactEmail, emails),
                (PatronLibraryGroup, groups),
                (PatronSystemGroup, roles),
                (PatronLibraryAccess, libraries),
                (PatronAttribute, values),
            ):
                await copy_rows(session, table.__table__, CHILD_COLUMNS[table], records)  # type: ignore[union-attr]
    except IntegrityError as exc:
        raise translate_integrity(exc) from exc
    await flag_blacklisted_patrons(
        session,
        [i for i, plan in zip(ids, plans, strict=True) if plan.state.scalars.get("primary_email")],
    )
    await copy_rows(
        session,
        AuditEntry.__table__,  # type: ignore[attr-defined]
        AUDIT_COLUMNS,
        await _audit_records(session, actor, institution_id, ids, plans, action, now, postgresql),
    )
    return ids


async def _audit_records(
    session: AsyncSession,
    actor: Actor,
    institution_id: int,
    ids: list[int],
    plans: list[PatronPlan],
    action: str,
    now: datetime,
    as_text: bool,
) -> list[tuple[Any, ...]]:
    """One audit entry per new patron: its state against an empty one (the changes as
    JSON text for a COPY)."""
    names = await lookups_of(session).name_maps(session, institution_id)
    empty = PatronState().snapshot(names)
    who = (actor.patron_id, actor.client_id, actor.name, actor.library_id)
    records = []
    for patron_id, plan in zip(ids, plans, strict=True):
        changes = audited_changes(empty, plan.state.snapshot(names), bool(plan.password_hash))
        records.append(
            (
                now,
                institution_id,
                *who,
                action,
                "Patron",
                patron_id,
                orjson.dumps(changes).decode() if as_text else changes,
            )
        )
    return records


async def _new_patron_ids(session: AsyncSession, count: int, postgresql: bool) -> list[int]:
    """Ids for `count` new patrons, taken before they are inserted (so that one
    multi-row insert writes them and their dependent rows can name them)."""
    if postgresql:
        rows = await session.execute(
            text(
                "SELECT nextval(pg_get_serial_sequence('patron', 'id')) FROM generate_series(1, :n)"
            ),
            {"n": count},
        )
        return [int(i) for i in rows.scalars()]
    # SQLite: the write lock is held (BEGIN IMMEDIATE), so nobody takes these meanwhile;
    # AUTOINCREMENT ids never reuse a number, hence the sequence's high-water mark.
    highest = await session.scalar(
        text(
            "SELECT max(coalesce((SELECT max(id) FROM patron), 0), "
            "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'patron'), 0))"
        )
    )
    first = int(highest or 0) + 1
    return list(range(first, first + count))
