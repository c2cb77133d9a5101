"""Writing a checked patron edit (app.patrons.validation): the patron row and the rows of
its identifiers, addresses, groups, libraries and attribute values; its audit entry; a
race lost on a unique key told as the error a check would have given."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes import service as attributes
from app.audit import service as audit
from app.auth.policy import Actor
from app.db import utcnow
from app.errors import DomainError, ErrorCode
from app.network.models import IdentifierType
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
from app.patrons.state import PatronState
from app.patrons.validation import PatronPlan
from app.sql import pk


async def write_plan(
    *, session: AsyncSession, patron: Patron, before: PatronState, plan: PatronPlan
) -> None:
    """Apply a validated plan to the stored patron."""
    assert patron.id is not None
    state = plan.state
    for name, value in state.scalars.items():
        setattr(patron, name, value)
    patron.username_key = key_of(patron.username)
    patron.surname_key = key_of(patron.surname) or ""
    patron.given_key = key_of(patron.given_name) or ""
    if plan.password_hash is not False:
        patron.password_hash = plan.password_hash  # type: ignore[assignment]
    patron.updated_at = utcnow()
    session.add(patron)
    await session.flush()
    if plan.attributes is not None and plan.attributes.changes:
        await attributes.write_changes(session, patron.id, plan.attributes)

    removed = [
        code
        for code in before.identifiers
        if state.identifiers.get(code) != before.identifiers[code]
    ]
    if removed:
        type_ids = select(pk(IdentifierType.id)).where(col(IdentifierType.code).in_(removed))
        await session.execute(
            delete(PatronIdentifier).where(
                col(PatronIdentifier.patron_id) == patron.id,
                col(PatronIdentifier.identifier_type_id).in_(type_ids),
            )
        )
    for type_code, (identifier_type, value) in plan.new_identifiers.items():
        if before.identifiers.get(type_code) == value:
            continue
        session.add(
            PatronIdentifier(
                patron_id=patron.id,
                institution_id=patron.institution_id,
                identifier_type_id=identifier_type.id,  # type: ignore[arg-type]
                value=value,
                value_key=value.lower(),
            )
        )
    if state.contact_emails != before.contact_emails:
        await session.execute(
            delete(PatronContactEmail).where(col(PatronContactEmail.patron_id) == patron.id)
        )
        for position, (address, label) in enumerate(state.contact_emails):
            session.add(
                PatronContactEmail(
                    patron_id=patron.id, position=position, address=address, label=label
                )
            )
    for table, column, old, new in (
        (PatronLibraryGroup, "library_group_id", before.library_groups, state.library_groups),
        (PatronSystemGroup, "system_group", before.system_groups, state.system_groups),
        (PatronLibraryAccess, "library_id", before.libraries, state.libraries),
    ):
        gone = old - new
        if gone:
            await session.execute(
                delete(table).where(
                    col(table.patron_id) == patron.id,
                    getattr(table, column).in_(gone),
                )
            )
        for value in new - old:
            extra: dict[str, Any] = {column: value}
            session.add(table(patron_id=patron.id, **extra))
    await session.flush()


async def audit_change(
    *,
    session: AsyncSession,
    actor: Actor,
    action: str,
    patron: Patron,
    before: PatronState | None,
    after: PatronState,
    password_changed: bool,
) -> dict[str, Any]:
    names = await lookups_of(session).name_maps(session, patron.institution_id)
    # A new patron is compared with an empty one, so empty lists are not "changes".
    old = (before if before is not None else PatronState()).snapshot(names)
    changes = audited_changes(old, after.snapshot(names), password_changed)
    if changes:
        await audit.record(
            session=session,
            actor=actor,
            action=action,
            entity_type="Patron",
            entity_id=patron.id,
            institution_id=patron.institution_id,
            changes=changes,
        )
    return changes


def audited_changes(
    old: dict[str, Any], new: dict[str, Any], password_changed: bool
) -> dict[str, Any]:
    """An audit entry's changes between two snapshots (PatronState.snapshot); the
    password is never shown, only that it changed (set, replaced or removed). Every
    writer of patrons, one at a time or in bulk, records its changes so."""
    changes = audit.diff(old, new)
    changes.pop("password", None)
    if password_changed:
        changes["password"] = {"before": "(hidden)", "after": "(changed)"}
    return changes


def translate_integrity(exc: IntegrityError) -> DomainError:
    text = str(exc.orig).lower()
    if "username" in text:
        return DomainError.of(
            ErrorCode.DUPLICATE_USERNAME,
            "This username was just taken by another patron.",
            ["username"],
        )
    if "identifier" in text:
        return DomainError.of(
            ErrorCode.DUPLICATE_IDENTIFIER,
            "One of these identifiers was just given to another patron.",
        )
    return DomainError.of(
        ErrorCode.CONFLICT, "The change conflicts with another change; try again."
    )
