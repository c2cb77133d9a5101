"""Which scopes an actor may give an API client (spec: Delegation): the plain scopes by
policy, `attribute:<CODE>` by the attribute type's libraries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes.models import AttributeType, AttributeTypeLibraryLimit
from app.auth.policy import (
    FORBIDDEN_MESSAGE,
    Actor,
    library_may_hold_attribute,
    may_grant_scope,
)
from app.auth.roles import is_valid_scope
from app.errors import ErrorCode, FieldError
from app.network.models import Library


@dataclass(frozen=True)
class AttributeScope:
    """What decides who may grant `attribute:<CODE>`: the type's libraries."""

    label: str
    limits: frozenset[int]
    limit_codes: tuple[str, ...]


async def attribute_scopes(
    session: AsyncSession, institution_id: int, codes: list[str]
) -> dict[str, AttributeScope]:
    """The institution's attribute types with these codes and their library limits."""
    if not codes:
        return {}
    rows = (
        await session.execute(
            select(
                col(AttributeType.code),
                col(AttributeType.label),
                col(Library.id),
                col(Library.code),
            )
            .outerjoin(
                AttributeTypeLibraryLimit,
                col(AttributeTypeLibraryLimit.attribute_type_id) == col(AttributeType.id),
            )
            .outerjoin(Library, col(Library.id) == col(AttributeTypeLibraryLimit.library_id))
            .where(
                col(AttributeType.institution_id) == institution_id,
                col(AttributeType.code).in_(codes),
            )
            .order_by(col(Library.code))
        )
    ).all()
    found: dict[str, tuple[str, list[tuple[int, str]]]] = {}
    for code, label, library_id, library_code in rows:
        entry = found.setdefault(code, (label, []))
        if library_id is not None:
            entry[1].append((library_id, library_code))
    return {
        code: AttributeScope(label, frozenset(i for i, _ in libs), tuple(c for _, c in libs))
        for code, (label, libs) in found.items()
    }


async def scope_refusals(
    session: AsyncSession,
    actor: Actor,
    institution_id: int,
    library_id: int | None,
    scopes: list[str],
    path: list[str],
) -> list[FieldError]:
    """Why the actor may not give a client of this library these scopes (spec: Delegation):
    attribute types must exist, be visible to the session, and include the client's library."""
    codes = [s.partition(":")[2] for s in scopes if s.startswith("attribute:")]
    types = await attribute_scopes(session, institution_id, codes)
    errors: list[FieldError] = []
    for index, scope in enumerate(scopes):
        field = [*path, str(index)]
        if not is_valid_scope(scope):
            continue  # reported as unknown by the caller
        if not scope.startswith("attribute:"):
            if not may_grant_scope(actor, institution_id, scope):
                errors.append(FieldError(ErrorCode.FORBIDDEN, FORBIDDEN_MESSAGE, field))
            continue
        info = types.get(scope.partition(":")[2])
        if info is None:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"There is no attribute type {scope.partition(':')[2]!r} in this institution.",
                    field,
                )
            )
        elif not may_grant_scope(actor, institution_id, scope, info.limits):
            errors.append(
                FieldError(
                    ErrorCode.ATTRIBUTE_FORBIDDEN,
                    f"{info.label} can only be given by staff logged in at "
                    f"{', '.join(info.limit_codes)}.",
                    field,
                )
            )
        elif not library_may_hold_attribute(library_id, info.limits):
            errors.append(
                FieldError(
                    ErrorCode.ATTRIBUTE_FORBIDDEN,
                    f"{info.label} can only be given to clients of "
                    f"{', '.join(info.limit_codes)}: set the client's library to one of them.",
                    field,
                )
            )
    return errors
