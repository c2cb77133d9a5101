"""Attribute types as sessions see them: their settings, and who may see their values.

A session is *authorized* for a type when its library is in the type's library limits
(any library of the institution when there are none); an API client needs a scope
`attribute:<CODE>` for a limited type.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes.models import (
    AttributeAuthorisedValue,
    AttributeType,
    AttributeTypeExcludedGroup,
    AttributeTypeLibraryLimit,
    AttributeTypeRuleLibrary,
    PatronAttribute,
)
from app.auth.policy import (
    Actor,
    may_grant_attribute,
)
from app.auth.roles import Scope
from app.network import service as network
from app.network.models import Library
from app.sql import pk


@dataclass(frozen=True)
class TypeInfo:
    """An attribute type with everything that decides access and rules."""

    row: AttributeType
    authorised: tuple[AttributeAuthorisedValue, ...]
    limits: frozenset[int]
    limit_codes: tuple[str, ...]
    rule_scope: frozenset[int]
    excluded_groups: frozenset[int]

    @property
    def id(self) -> int:
        assert self.row.id is not None
        return self.row.id

    @property
    def code(self) -> str:
        return self.row.code

    @property
    def has_rule(self) -> bool:
        return (
            bool(self.rule_scope)
            and bool(self.row.rule_in_scope_value)
            and bool(self.row.rule_out_of_scope_value)
        )

    def rule_value(self, home_library_id: int) -> str:
        value = (
            self.row.rule_in_scope_value
            if home_library_id in self.rule_scope
            else self.row.rule_out_of_scope_value
        )
        assert value is not None
        return value

    def forbidden_message(self) -> str:
        where = ", ".join(self.limit_codes)
        return f"{self.row.label} can only be changed by staff logged in at {where}."


def is_authorized(actor: Actor, info: TypeInfo) -> bool:
    """May this session see and change values of the type (institution checks aside)?"""
    if actor.kind == "system":
        return True
    if actor.institution_id != info.row.institution_id:
        return False
    if actor.kind == "client":
        if not info.limits:
            return actor.has_scope(Scope.PATRON_READ) or actor.has_scope(f"attribute:{info.code}")
        return actor.has_scope(f"attribute:{info.code}")
    if actor.kind == "staff":
        # Seeing and changing values is the authority to grant the type (policy).
        return may_grant_attribute(actor, info.row.institution_id, info.limits)
    # A SIP account: the limits apply to the library it acts for.
    return not info.limits or actor.library_id in info.limits


_AUTHORISED, _LIMIT, _RULE_LIBRARY, _EXCLUDED_GROUP = 0, 1, 2, 3


async def load_types(session: AsyncSession, institution_ids: list[int]) -> dict[int, TypeInfo]:
    """Every attribute type of these institutions, by type id (two statements).

    The authorised values in TypeInfo are read-only copies (not in the session)."""
    if not institution_ids:
        return {}
    rows = list(
        (
            await session.execute(
                select(AttributeType)
                .where(col(AttributeType.institution_id).in_(institution_ids))
                .order_by(col(AttributeType.code))
            )
        ).scalars()
    )
    ids = [r.id for r in rows]
    authorised: dict[int, list[AttributeAuthorisedValue]] = defaultdict(list)
    limits: dict[int, list[tuple[int, str]]] = defaultdict(list)
    scope: dict[int, set[int]] = defaultdict(set)
    excluded: dict[int, set[int]] = defaultdict(set)
    if ids:
        # The four settings tables in one statement (a listing of patrons with their
        # attributes loads the types once; every statement counts there):
        # (kind, type id, id, position, code, label).
        settings: CompoundSelect[*tuple[Any, ...]] = union_all(
            select(
                literal(_AUTHORISED).label("kind"),
                col(AttributeAuthorisedValue.attribute_type_id),
                pk(AttributeAuthorisedValue.id),
                col(AttributeAuthorisedValue.position),
                col(AttributeAuthorisedValue.code),
                col(AttributeAuthorisedValue.label),
            ).where(col(AttributeAuthorisedValue.attribute_type_id).in_(ids)),
            select(
                literal(_LIMIT),
                col(AttributeTypeLibraryLimit.attribute_type_id),
                pk(Library.id),
                null(),
                col(Library.code),
                null(),
            )
            .join(Library, col(Library.id) == col(AttributeTypeLibraryLimit.library_id))
            .where(col(AttributeTypeLibraryLimit.attribute_type_id).in_(ids)),
            select(
                literal(_RULE_LIBRARY),
                col(AttributeTypeRuleLibrary.attribute_type_id),
                col(AttributeTypeRuleLibrary.library_id),
                null(),
                null(),
                null(),
            ).where(col(AttributeTypeRuleLibrary.attribute_type_id).in_(ids)),
            select(
                literal(_EXCLUDED_GROUP),
                col(AttributeTypeExcludedGroup.attribute_type_id),
                col(AttributeTypeExcludedGroup.user_group_id),
                null(),
                null(),
                null(),
            ).where(col(AttributeTypeExcludedGroup.attribute_type_id).in_(ids)),
        )
        values: list[tuple[int, int, int, str, str]] = []
        for kind, type_id, key, position, code, label in (await session.execute(settings)).all():
            if kind == _AUTHORISED:
                values.append((position, key, type_id, code, label))
            elif kind == _LIMIT:
                limits[type_id].append((key, code))
            elif kind == _RULE_LIBRARY:
                scope[type_id].add(key)
            else:
                excluded[type_id].add(key)
        for position, key, type_id, code, label in sorted(values):
            authorised[type_id].append(
                AttributeAuthorisedValue(
                    id=key, attribute_type_id=type_id, code=code, label=label, position=position
                )
            )
        for entries in limits.values():
            entries.sort(key=lambda entry: entry[1])
    return {
        r.id: TypeInfo(  # type: ignore[misc]
            row=r,
            authorised=tuple(authorised[r.id]),  # type: ignore[index]
            limits=frozenset(i for i, _ in limits[r.id]),  # type: ignore[index]
            limit_codes=tuple(c for _, c in limits[r.id]),  # type: ignore[index]
            rule_scope=frozenset(scope[r.id]),  # type: ignore[index]
            excluded_groups=frozenset(excluded[r.id]),  # type: ignore[index]
        )
        for r in rows
    }


async def type_by_code(session: AsyncSession, institution_id: int, code: str) -> TypeInfo | None:
    types = await load_types(session, [institution_id])
    wanted = network.normalize_code(code)
    return next((t for t in types.values() if t.code == wanted), None)


async def patron_values(session: AsyncSession, patron_id: int) -> dict[int, list[str]]:
    """Every stored value of a patron, by type id (hidden ones included)."""
    values: dict[int, list[str]] = defaultdict(list)
    for type_id, value in (
        await session.execute(
            select(col(PatronAttribute.attribute_type_id), col(PatronAttribute.value))
            .where(col(PatronAttribute.patron_id) == patron_id)
            .order_by(col(PatronAttribute.id))
        )
    ).all():
        values[type_id].append(value)
    return dict(values)


def visible_changes(
    changes: dict[str, Any], actor: Actor, types_by_code: dict[str, TypeInfo]
) -> dict[str, Any]:
    """Audit changes without the attribute keys the reader may not see."""
    out: dict[str, Any] = {}
    for key, change in changes.items():
        if key.startswith("attribute:"):
            info = types_by_code.get(key.split(":", 1)[1])
            if info is None or not is_authorized(actor, info):
                continue
        out[key] = change
    return out
