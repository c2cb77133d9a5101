"""Writing many checked changes of stored patrons at once (the CSV importer's updates),
as bulk_writes writes many new ones: each table's rows sent together, not patron by
patron.

`change_patron` writes one patron's change with about eleven statements through the ORM
(a savepoint, the version, the row, each changed child table, the e-mail flags, an audit
entry, the look for linked copies), which made a file that changes every student 30
times slower than one that creates them. Here a batch's changes take a few statements
per table: the patrons' rows in one executemany, each child table's removed rows and
then its new ones, the e-mail flags, the audit entries and the look for copies once.

What each change writes is what `change_patron` writes (the same rows, versions, audit
entries, flags, revoked sessions and refreshed copies); tests/imports compare the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.attributes.models import PatronAttribute
from app.audit.models import AuditEntry
from app.auth.policy import Actor
from app.db import utcnow
from app.emails.service import clear_flags_of_changed_addresses
from app.errors import DomainError, ErrorCode
from app.patrons import events
from app.patrons.bulk_writes import AUDIT_COLUMNS, CHILD_COLUMNS, copy_rows
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
from app.patrons.queries import sources_with_copies
from app.patrons.service import end_sessions_at_lost_libraries
from app.patrons.state import SCALAR_FIELDS, PatronState
from app.patrons.validation import PatronPlan
from app.patrons.writing import audited_changes, translate_integrity

# What an update writes on the patron's row besides the state's scalars.
_KEYS = ("username_key", "surname_key", "given_key", "password_hash")
_PATRON = Patron.__table__  # type: ignore[attr-defined]
_UPDATE_ROW = (
    update(_PATRON)
    # Only the version the batch read: a row someone else saved meanwhile is left as is
    # (and the batch refused, below).
    .where(_PATRON.c.id == bindparam("b_id"), _PATRON.c.version == bindparam("b_version"))
    .values(
        {
            **{name: bindparam(f"b_{name}") for name in (*SCALAR_FIELDS, *_KEYS)},
            "version": _PATRON.c.version + 1,
            "updated_at": bindparam("b_now"),
        }
    )
)


_WRITTEN_AT = select(_PATRON.c.id).where(
    _PATRON.c.id.in_(bindparam("ids", expanding=True)), _PATRON.c.updated_at == bindparam("now")
)


@dataclass
class PatronChange:
    """A checked change of a stored patron, not yet written."""

    patron: Patron
    before: PatronState
    plan: PatronPlan


def _row(change: PatronChange) -> dict[str, Any]:
    patron, scalars = change.patron, change.plan.state.scalars
    row = {f"b_{name}": scalars.get(name, getattr(patron, name)) for name in SCALAR_FIELDS}
    row["b_username_key"] = key_of(row["b_username"])
    row["b_surname_key"] = key_of(row["b_surname"]) or ""
    row["b_given_key"] = key_of(row["b_given_name"]) or ""
    password = change.plan.password_hash
    row["b_password_hash"] = patron.password_hash if password is False else password or None
    row["b_id"] = patron.id
    row["b_version"] = patron.version
    return row


async def write_patron_changes(
    *, session: AsyncSession, actor: Actor, changes: list[PatronChange], action: str
) -> None:
    """Write checked changes of distinct stored patrons (validated against the state each
    had before; keys one gives up may be taken by another: every table's removed rows go
    before its new ones). A clash on a unique key (a concurrent writer) fails them all."""
    if not changes:
        return
    now = utcnow()
    rows = [_row(c) for c in changes]
    for row in rows:
        row["b_now"] = now
    try:
        async with session.begin_nested():
            await session.execute(_UPDATE_ROW, rows)
            await _refuse_changed_meanwhile(session, changes, now)
            await _write_children(session, changes)
    except IntegrityError as exc:
        raise translate_integrity(exc) from exc
    for change, row in zip(changes, rows, strict=True):
        # The loaded patron as stored now (later rows of the file read it), not dirty.
        patron = change.patron
        for name in (*SCALAR_FIELDS, *_KEYS):
            set_committed_value(patron, name, row[f"b_{name}"])
        set_committed_value(patron, "version", patron.version + 1)
        set_committed_value(patron, "updated_at", now)
    for change in changes:
        assert change.patron.id is not None
        await end_sessions_at_lost_libraries(
            session, change.patron.id, change.before, change.plan.state
        )
    await clear_flags_of_changed_addresses(
        session,
        [
            (c.patron.id, c.patron.primary_email)  # type: ignore[misc]
            for c in changes
            if c.before.scalars.get("primary_email") != c.patron.primary_email
        ],
    )
    await copy_rows(
        session,
        AuditEntry.__table__,  # type: ignore[attr-defined]
        AUDIT_COLUMNS,
        await _audit_records(session, actor, changes, action, now),
    )
    for source_id in await sources_with_copies(session, [c.patron.id for c in changes]):  # type: ignore[misc]
        await events.announce(
            events.SOURCE_CHANGED, session=session, actor=actor, source_id=source_id
        )


async def _refuse_changed_meanwhile(
    session: AsyncSession, changes: list[PatronChange], now: Any
) -> None:
    """Refuse the batch if a patron was changed (or deleted) since the batch read it: the
    update above wrote only rows still at the version read (stamped `now`); the file's
    row was checked against what was read and would overwrite that change."""
    read: dict[int, PatronChange] = {}
    for change in changes:
        assert change.patron.id is not None
        read[change.patron.id] = change
    written = await session.execute(_WRITTEN_AT, {"ids": sorted(read), "now": now})
    for patron_id in sorted(set(read) - {row[0] for row in written}):
        change = read[patron_id]
        patron = change.patron
        name = ", ".join(n for n in (patron.surname, patron.given_name) if n)
        keys = ", ".join(f"{c} {v}" for c, v in sorted(change.before.identifiers.items()))
        raise DomainError.of(
            ErrorCode.STALE_VERSION,
            f"The patron {name}{f' ({keys})' if keys else ''} was changed (or deleted) "
            "by someone else while this import was checking it, and the file's row would "
            "have overwritten that change. Import the file again: its rows are then "
            "checked against the patron as stored now.",
        )


async def _write_children(session: AsyncSession, changes: list[PatronChange]) -> None:
    """Each child table: the rows the changes remove, then the rows they add."""
    lookups = lookups_of(session)
    removed: dict[Any, list[dict[str, Any]]] = {}
    added: dict[Any, list[tuple[Any, ...]]] = {}

    def remove(table: Any, **where: Any) -> None:
        removed.setdefault(table, []).append(where)

    def add(table: Any, *row: Any) -> None:
        added.setdefault(table, []).append(row)

    for change in changes:
        patron_id, before, state = change.patron.id, change.before, change.plan.state
        for code, value in before.identifiers.items():
            if state.identifiers.get(code) != value:
                found = await lookups.identifier_type_by_code(session, code)
                assert found is not None
                remove(PatronIdentifier, patron_id=patron_id, identifier_type_id=found.id)
        for code, (identifier_type, value) in change.plan.new_identifiers.items():
            if before.identifiers.get(code) != value:
                add(
                    PatronIdentifier,
                    patron_id,
                    change.patron.institution_id,
                    identifier_type.id,
                    value,
                    value.lower(),
                )
        if state.contact_emails != before.contact_emails:
            remove(PatronContactEmail, patron_id=patron_id)
            for position, (address, label) in enumerate(state.contact_emails):
                add(PatronContactEmail, patron_id, position, address, label)
        for table, column, old, new in (
            (PatronLibraryGroup, "library_group_id", before.library_groups, state.library_groups),
            (PatronSystemGroup, "system_group", before.system_groups, state.system_groups),
            (PatronLibraryAccess, "library_id", before.libraries, state.libraries),
        ):
            for gone in old - new:
                remove(table, patron_id=patron_id, **{column: gone})
            for given in new - old:
                add(table, patron_id, given)
        attributes = change.plan.attributes
        for type_id, values in (attributes.changes if attributes is not None else {}).items():
            assert attributes is not None
            remove(PatronAttribute, patron_id=patron_id, attribute_type_id=type_id)
            unique = attributes.types[type_id].row.unique
            for value in values:
                add(PatronAttribute, patron_id, type_id, value, value.lower() if unique else None)
    for model, wheres in removed.items():
        table = model.__table__
        names = list(wheres[0])
        statement = delete(table).where(*(table.c[n] == bindparam(f"b_{n}") for n in names))
        await session.execute(statement, [{f"b_{n}": w[n] for n in names} for w in wheres])
    for model, records in added.items():
        await copy_rows(session, model.__table__, CHILD_COLUMNS[model], records)


async def _audit_records(
    session: AsyncSession, actor: Actor, changes: list[PatronChange], action: str, now: Any
) -> list[tuple[Any, ...]]:
    """An audit entry per change that shows one, as audit_change records it."""
    as_text = (await session.connection()).dialect.name == "postgresql"
    who = (actor.patron_id, actor.client_id, actor.name, actor.library_id)
    records = []
    for change in changes:
        institution_id = change.patron.institution_id
        names = await lookups_of(session).name_maps(session, institution_id)
        diff = audited_changes(
            change.before.snapshot(names),
            change.plan.state.snapshot(names),
            change.plan.password_hash is not False,
        )
        if diff:
            records.append(
                (
                    now,
                    institution_id,
                    *who,
                    action,
                    "Patron",
                    change.patron.id,
                    orjson.dumps(diff).decode() if as_text else diff,
                )
            )
    return records
