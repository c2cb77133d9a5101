"""Managing an institution's lists of allowed cohorts and form classes (SYSTEM_ADMIN):
adding a value, and removing one (refused while patrons hold it, unless they move to
another listed value). What the lists mean for patrons: app.network.choice_lists.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.auth.policy import Actor
from app.db import utcnow
from app.errors import DomainError, ErrorCode, FieldError
from app.network.choice_lists import (
    ChoiceKind,
    choices_of,
    key_of,
    listed_spelling,
)
from app.network.models import Institution, PatronValueChoice
from app.network.service import _check_description, administered_institution
from app.patrons import events
from app.patrons.models import Patron
from app.patrons.queries import sources_with_copies
from app.sql import pk, saved_id

VALUE_LIMIT = 50  # the width of patron.cohort and patron.form_class
DESCRIPTION_LIMIT = 200


@dataclass(frozen=True)
class RemovedChoice:
    institution: Institution
    value: str
    patrons_moved: int


def check_value(value: str, field: list[str], errors: list[FieldError]) -> str:
    """A trimmed value that fits the patron's column."""
    cleaned = value.strip()
    if not cleaned:
        errors.append(FieldError(ErrorCode.MANDATORY_FIELD, "Give a value.", field))
    elif len(cleaned) > VALUE_LIMIT:
        errors.append(
            FieldError(ErrorCode.INVALID_INPUT, f"At most {VALUE_LIMIT} characters.", field)
        )
    elif any(ord(c) < 32 for c in cleaned):
        errors.append(
            FieldError(ErrorCode.INVALID_INPUT, "Control characters are not allowed.", field)
        )
    return cleaned


def check_description(
    description: str | None, field: list[str], errors: list[FieldError]
) -> str | None:
    return _check_description(description, DESCRIPTION_LIMIT, field, errors, required=False)


async def _listed(
    session: AsyncSession, institution: Institution, kind: ChoiceKind, value: str, field: list[str]
) -> PatronValueChoice:
    found = await session.scalar(
        select(PatronValueChoice).where(
            col(PatronValueChoice.institution_id) == saved_id(institution),
            col(PatronValueChoice.kind) == kind.value,
            col(PatronValueChoice.value_key) == key_of(value),
        )
    )
    if found is None:
        raise DomainError.of(
            ErrorCode.NOT_FOUND,
            f"{value.strip()!r} is not a listed {kind.label} of {institution.code}.",
            field,
        )
    return found


async def stage_choice(
    *,
    session: AsyncSession,
    actor: Actor,
    institution: Institution,
    kind: ChoiceKind,
    value: str,
    description: str | None,
    action: str,
) -> PatronValueChoice:
    """Add a checked value to a list and audit it (the caller commits)."""
    choice = PatronValueChoice(
        institution_id=saved_id(institution),
        kind=kind.value,
        value=value,
        value_key=key_of(value),
        description=description,
    )
    session.add(choice)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type="PatronValueChoice",
        entity_id=choice.id,
        institution_id=institution.id,
        changes={
            "kind": {"before": None, "after": kind.value},
            "value": {"before": None, "after": value},
            "description": {"before": None, "after": description},
        },
    )
    return choice


async def add_choice(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    kind: ChoiceKind,
    value: str,
    description: str | None,
) -> PatronValueChoice:
    """Add an allowed cohort or form class to an institution (SYSTEM_ADMIN)."""
    institution = await administered_institution(
        session, actor, institution_code, f"change its list of {kind.plural}"
    )
    errors: list[FieldError] = []
    value = check_value(value, ["value"], errors)
    description = check_description(description, ["description"], errors)
    if errors:
        raise DomainError(errors)
    listed = [c.value for c in await choices_of(session, saved_id(institution), kind)]
    already = listed_spelling(listed, value)
    if already is not None:
        raise DomainError.of(
            ErrorCode.CONFLICT,
            f"{already!r} is already a {kind.label} of {institution.code}.",
            ["value"],
        )
    try:
        async with session.begin_nested():
            choice = await stage_choice(
                session=session,
                actor=actor,
                institution=institution,
                kind=kind,
                value=value,
                description=description,
                action="add_patron_value_choice",
            )
    except IntegrityError as exc:  # a concurrent twin won the race
        raise DomainError.of(
            ErrorCode.CONFLICT,
            f"{value!r} is already a {kind.label} of {institution.code}.",
            ["value"],
        ) from exc
    await session.commit()
    return choice


def _holders(institution_id: int, kind: ChoiceKind, key: str) -> list[ColumnElement[bool]]:
    """HOME patrons of the institution whose field holds the value (linked copies carry
    their home institution's values, which this list does not govern)."""
    column = getattr(Patron, kind.column)
    return [
        col(Patron.institution_id) == institution_id,
        col(Patron.account_type) == "HOME",
        func.lower(column) == key,
    ]


async def users_of(session: AsyncSession, institution_id: int, kind: ChoiceKind, key: str) -> int:
    """How many HOME patrons of the institution hold the value."""
    found = await session.scalar(
        select(func.count()).select_from(Patron).where(*_holders(institution_id, kind, key))
    )
    return int(found or 0)


async def remove_choice(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    kind: ChoiceKind,
    value: str,
    replace_with: str | None,
) -> RemovedChoice:
    """Remove a listed value (SYSTEM_ADMIN): refused while patrons hold it, unless they
    move to `replace_with` (another listed value) in the same transaction."""
    institution = await administered_institution(
        session, actor, institution_code, f"change its list of {kind.plural}"
    )
    institution_id = saved_id(institution)
    choice = await _listed(session, institution, kind, value, ["value"])
    replacement: PatronValueChoice | None = None
    if replace_with is not None:
        replacement = await _listed(session, institution, kind, replace_with, ["replace_with"])
        if replacement.id == choice.id:
            raise DomainError.of(
                ErrorCode.INVALID_INPUT,
                f"The replacement must be another {kind.label}.",
                ["replace_with"],
            )
    holders = _holders(institution_id, kind, choice.value_key)
    moved: list[tuple[int, str | None]] = []
    if replacement is None:
        count = await users_of(session, institution_id, kind, choice.value_key)
        if count:
            patrons = "1 patron has" if count == 1 else f"{count} patrons have"
            raise DomainError.of(
                ErrorCode.CONFLICT,
                f"{patrons} {kind.label} {choice.value} in {institution.code}: give them "
                f"another {kind.label} first, or remove it with replaceWith to move them to "
                f"another listed {kind.label}.",
                ["value"],
            )
    else:
        column = getattr(Patron, kind.column)
        moved = [
            (patron_id, before)
            for patron_id, before in (
                await session.execute(select(pk(Patron.id), column).where(*holders))
            ).all()
        ]
        await _move(session, actor, institution_id, kind, moved, replacement.value)
    await session.delete(choice)
    await audit.record(
        session=session,
        actor=actor,
        action="remove_patron_value_choice",
        entity_type="PatronValueChoice",
        entity_id=choice.id,
        institution_id=institution_id,
        changes={
            "kind": {"before": kind.value, "after": None},
            "value": {"before": choice.value, "after": None},
            **(
                {"replacedBy": replacement.value, "patronsMoved": len(moved)}
                if replacement is not None
                else {}
            ),
        },
    )
    await session.commit()
    return RemovedChoice(institution=institution, value=choice.value, patrons_moved=len(moved))


async def _move(
    session: AsyncSession,
    actor: Actor,
    institution_id: int,
    kind: ChoiceKind,
    moved: list[tuple[int, str | None]],
    new: str,
) -> None:
    """Give these patrons the replacement value: a new version, an audit entry each, and
    their linked copies refreshed."""
    if not moved:
        return
    ids = [patron_id for patron_id, _ in moved]
    now = utcnow()
    field = "cohort" if kind is ChoiceKind.COHORT else "formClass"
    for start in range(0, len(ids), 1000):
        part = ids[start : start + 1000]
        await session.execute(
            update(Patron)
            .where(col(Patron.id).in_(part))
            .values({kind.column: new, "version": col(Patron.version) + 1, "updated_at": now})
            .execution_options(synchronize_session=False)
        )
    await audit.insert_rows(
        session,
        [
            audit.entry_row(
                actor=actor,
                action="replace_patron_value_choice",
                entity_type="Patron",
                entity_id=patron_id,
                institution_id=institution_id,
                changes={field: {"before": before, "after": new}},
                at=now,
            )
            for patron_id, before in moved
        ],
    )
    for source_id in await sources_with_copies(session, ids):
        await events.announce(
            events.SOURCE_CHANGED, session=session, actor=actor, source_id=source_id
        )
