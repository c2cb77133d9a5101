"""Attribute types, who may see them, and how patron values change (creating a type:
app.attributes.type_creation; discrepancy reports: app.attributes.discrepancies).

A session is *authorized* for a type when its library is in the type's library
limits (any library of the institution when there are none); an API client
needs a scope `attribute:<CODE>` for a limited type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    and_,
    delete,
    exists,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes.models import PatronAttribute
from app.attributes.types import TypeInfo as TypeInfo
from app.attributes.types import is_authorized as is_authorized
from app.attributes.types import load_types as load_types
from app.attributes.types import patron_values as patron_values
from app.attributes.types import type_by_code as type_by_code
from app.attributes.types import visible_changes as visible_changes
from app.auth.policy import Actor
from app.errors import ErrorCode, FieldError
from app.network import service as network
from app.patrons.lookups import lookups_of
from app.patrons.models import Patron

FREE_TEXT_LIMIT = 500


@dataclass
class AttributePlan:
    """Values to write, by type id (only the types that change)."""

    changes: dict[int, list[str]]
    types: dict[int, TypeInfo]


async def plan_changes(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_id: int,
    patron_id: int | None,
    current: dict[int, list[str]],
    requested: list[tuple[str, list[str]]] | None,
    old_home_library_id: int | None,
    new_home_library_id: int,
    errors: list[FieldError],
) -> AttributePlan:
    """Validate requested values, apply the home-library rules, check mandatory types."""
    types = await lookups_of(session).attribute_types(session, institution_id)
    by_code = {t.code: t for t in types.values()}
    changes: dict[int, list[str]] = {}
    explicit: set[int] = set()
    for index, (code, values) in enumerate(requested or []):
        path = ["attributes", str(index)]
        info = by_code.get(network.normalize_code(code))
        if info is None or (
            info.limits and not is_authorized(actor, info) and actor.kind == "client"
        ):
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"There is no attribute type {code!r}.",
                    [*path, "type"],
                )
            )
            continue
        if not is_authorized(actor, info):
            errors.append(FieldError(ErrorCode.ATTRIBUTE_FORBIDDEN, info.forbidden_message(), path))
            continue
        if info.id in explicit:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT, f"{info.row.label} is given twice.", [*path, "type"]
                )
            )
            continue
        explicit.add(info.id)
        cleaned = await _check_values(session, info, patron_id, values, path, errors)
        if cleaned is not None:
            changes[info.id] = cleaned
    home_changed = old_home_library_id is None or old_home_library_id != new_home_library_id
    if home_changed:
        for info in types.values():
            if info.id in explicit or not info.has_rule:
                continue
            if is_authorized(actor, info) or info.row.apply_rule_for_all_sessions:
                changes[info.id] = [info.rule_value(new_home_library_id)]
    for info in types.values():
        if info.row.mandatory and is_authorized(actor, info):
            final = changes.get(info.id, current.get(info.id, []))
            if not final:
                errors.append(
                    FieldError(
                        ErrorCode.MANDATORY_FIELD,
                        f"{info.row.label} is required.",
                        ["attributes"],
                    )
                )
    # Only real changes are written.
    changes = {k: v for k, v in changes.items() if sorted(v) != sorted(current.get(k, []))}
    return AttributePlan(changes=changes, types=types)


async def _check_values(
    session: AsyncSession,
    info: TypeInfo,
    patron_id: int | None,
    values: list[str],
    path: list[str],
    errors: list[FieldError],
) -> list[str] | None:
    """The values to store (trimmed, blanks and repeats dropped), or None after errors.

    Error paths name the value's position in the input, not in the cleaned list.
    """
    cleaned: list[str] = []
    positions: list[int] = []
    keys: set[str] = set()
    for position, raw in enumerate(values):
        value = (raw or "").strip()
        if not value:
            continue
        key = value.lower() if info.row.unique else value
        if key in keys:
            continue
        keys.add(key)
        cleaned.append(value)
        positions.append(position)
    ok = True
    if len(cleaned) > 1 and not info.row.repeatable:
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT, f"{info.row.label} takes one value.", [*path, "values"]
            )
        )
        ok = False
    allowed = {v.code: v for v in info.authorised}
    for position, value in zip(positions, cleaned, strict=True):
        vpath = [*path, "values", str(position)]
        if allowed and value not in allowed:
            codes = ", ".join(allowed)
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"{value!r} is not a value of {info.row.label} (use {codes}).",
                    vpath,
                )
            )
            ok = False
        elif len(value) > FREE_TEXT_LIMIT:
            errors.append(
                FieldError(ErrorCode.INVALID_INPUT, f"At most {FREE_TEXT_LIMIT} characters.", vpath)
            )
            ok = False
        elif any(ord(c) < 32 for c in value):
            errors.append(
                FieldError(ErrorCode.INVALID_INPUT, "Control characters are not allowed.", vpath)
            )
            ok = False
        elif info.row.unique:
            if await lookups_of(session).attribute_value_taken(
                session, info.id, value.lower(), patron_id
            ):
                errors.append(
                    FieldError(
                        ErrorCode.CONFLICT,
                        f"Another patron already has {info.row.label} {value!r}.",
                        vpath,
                    )
                )
                ok = False
    return cleaned if ok else None


async def write_changes(session: AsyncSession, patron_id: int, plan: AttributePlan) -> None:
    for type_id, values in plan.changes.items():
        await session.execute(
            delete(PatronAttribute).where(
                col(PatronAttribute.patron_id) == patron_id,
                col(PatronAttribute.attribute_type_id) == type_id,
            )
        )
        unique = plan.types[type_id].row.unique
        for value in values:
            session.add(
                PatronAttribute(
                    patron_id=patron_id,
                    attribute_type_id=type_id,
                    value=value,
                    unique_key=value.lower() if unique else None,
                )
            )
    await session.flush()


def audit_snapshot(values: dict[int, list[str]], types: dict[int, TypeInfo]) -> dict[str, Any]:
    """Attribute values for the audit trail, under attribute:<CODE> keys."""
    return {
        f"attribute:{types[type_id].code}": sorted(v)
        for type_id, v in values.items()
        if type_id in types and v
    }


async def visible_types(session: AsyncSession, actor: Actor) -> list[TypeInfo]:
    """The attribute types of the actor's institution that its session may see."""
    if actor.institution_id is None:
        return []
    types = await load_types(session, [actor.institution_id])
    return [t for t in types.values() if is_authorized(actor, t)]


async def filter_clause(
    session: AsyncSession, actor: Actor, institution_id: int, type_code: str, value: str | None
) -> Any | None:
    """A WHERE clause for patrons having the attribute (value); None when the type is not visible."""
    info = await type_by_code(session, institution_id, type_code)
    if info is None or not is_authorized(actor, info):
        return None
    condition = [
        col(PatronAttribute.patron_id) == col(Patron.id),
        col(PatronAttribute.attribute_type_id) == info.id,
    ]
    if value is not None:
        condition.append(col(PatronAttribute.value) == value)
    return exists().where(and_(*condition))
