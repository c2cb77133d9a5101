"""Changing an attribute type (its institution's SYSTEM_ADMIN, from a session that may see
the type). Codes never change: they are keys in CSV files, `attribute:<CODE>` scopes and SIP
field policies. Everything else does, audited, and only where the stored values, the API
clients and the SIP accounts that depend on it stay consistent:

- authorised values: a value patrons hold, or the rule uses, cannot leave the list;
- repeatable, unique: only when the stored values already fit;
- library limits: an empty list would mean every library (wider access), so that takes
  `all_libraries`; a narrower list is refused while API clients or SIP accounts of a
  library outside it carry the type (they are named).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes import definitions, holders
from app.attributes.models import AttributeType, PatronAttribute
from app.attributes.types import TypeInfo, type_by_code
from app.auth.policy import (
    Actor,
    belongs_to,
    holds_library,
    may_grant_attribute,
    require_authenticated,
    require_institution_admin,
)
from app.errors import DomainError, ErrorCode, FieldError
from app.network import service as network
from app.network.models import Institution, Library, UserGroup
from app.network.uses import many, record
from app.sql import pk, saved_id

ID = ["id"]
CODE = ["code"]
LIMITS = ["library_limits"]


@dataclass(frozen=True)
class TypeTarget:
    """The type a change names: by id (None when the id names no attribute type), or by
    institution and code."""

    id_given: bool = False
    type_id: int | None = None
    institution: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Administered:
    info: TypeInfo
    institution: Institution
    where: list[str]  # the input field that named it


async def administered_type(
    session: AsyncSession, actor: Actor, target: TypeTarget, what: str
) -> Administered:
    """The named type, if the session administers its institution and may see the type."""
    require_authenticated(actor)
    by_code = target.institution is not None or target.code is not None
    if target.id_given == by_code or (by_code and not (target.institution and target.code)):
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            "Name the attribute type by its id, or by its institution and code.",
            [],
        )
    if target.id_given:
        row = await session.get(AttributeType, target.type_id) if target.type_id else None
        # A type of another institution does not exist for the session.
        if row is None or not belongs_to(actor, row.institution_id):
            raise DomainError.of(ErrorCode.NOT_FOUND, "There is no such attribute type.", ID)
        institution = await session.get(Institution, row.institution_id)
        assert institution is not None
        code, where = row.code, ID
    else:
        assert target.institution is not None
        assert target.code is not None
        institution = await network.require_institution(
            session, target.institution, ["institution"]
        )
        code, where = target.code, CODE
    institution_id = saved_id(institution)
    require_institution_admin(actor, institution_id, what, institution.code)
    info = await type_by_code(session, institution_id, code)
    if info is None:
        raise DomainError.of(
            ErrorCode.NOT_FOUND, f"{institution.code} has no attribute type {code!r}.", where
        )
    if not may_grant_attribute(actor, institution_id, info.limits):
        raise DomainError.of(ErrorCode.ATTRIBUTE_FORBIDDEN, info.forbidden_message(), where)
    return Administered(info, institution, where)


@dataclass(frozen=True)
class RuleChange:
    libraries: list[str]
    in_scope_value: str
    out_of_scope_value: str
    apply_for_all_sessions: bool = False


@dataclass(frozen=True)
class AttributeTypeChange:
    """What to change; None leaves a setting as it is. An empty `library_limits` is refused:
    opening a type to every library takes `all_libraries`."""

    label: str | None = None
    authorised_values: list[tuple[str, str]] | None = None
    repeatable: bool | None = None
    unique: bool | None = None
    mandatory: bool | None = None
    library_limits: list[str] | None = None
    all_libraries: bool = False
    excluded_user_groups: list[str] | None = None
    rule: RuleChange | None = None
    remove_rule: bool = False


async def update_attribute_type(
    *, session: AsyncSession, actor: Actor, target: TypeTarget, change: AttributeTypeChange
) -> TypeInfo:
    """Change an attribute type's label and settings (audited); its code stays."""
    found = await administered_type(session, actor, target, "change attribute types")
    info, institution = found.info, found.institution
    institution_id = saved_id(institution)
    before = await snapshot(session, info)
    errors: list[FieldError] = []
    row = info.row
    values: dict[str, Any] = {}
    if change.label is not None:
        values["label"] = definitions.check_label(change.label, errors)
    authorised = None
    codes = [v.code for v in info.authorised]
    if change.authorised_values is not None:
        authorised = definitions.check_authorised_values(change.authorised_values, errors)
        codes = [c for c, _ in authorised]
        errors += await _values_left_out(session, info, codes)
    if change.repeatable is False and row.repeatable:
        errors += await _repeated(session, info)
    if change.unique and not row.unique:
        errors += await _shared(session, info)
    for name in ("repeatable", "unique", "mandatory"):
        if getattr(change, name) is not None:
            values[name] = getattr(change, name)
    limits = await _limits(session, actor, info, institution, change, errors)
    excluded = None
    if change.excluded_user_groups is not None:
        excluded = await definitions.user_group_ids(
            session, institution_id, institution.code, change.excluded_user_groups, errors
        )
    scope = None
    if change.remove_rule:
        scope = []
        values |= {
            "rule_in_scope_value": None,
            "rule_out_of_scope_value": None,
            "apply_rule_for_all_sessions": False,
        }
    elif change.rule is not None:
        rule = await definitions.check_rule(
            session,
            institution_id,
            change.rule.libraries,
            change.rule.in_scope_value,
            change.rule.out_of_scope_value,
            codes,
            errors,
        )
        scope = rule.libraries
        values |= {
            "rule_in_scope_value": rule.in_scope_value,
            "rule_out_of_scope_value": rule.out_of_scope_value,
            "apply_rule_for_all_sessions": change.rule.apply_for_all_sessions,
        }
    elif info.has_rule and authorised and codes:
        for value in (row.rule_in_scope_value, row.rule_out_of_scope_value):
            if value not in codes:
                errors.append(
                    FieldError(
                        ErrorCode.INVALID_INPUT,
                        f"The home-library rule gives {value!r}: keep it among the values, "
                        "or change the rule too.",
                        ["authorised_values"],
                    )
                )
    if errors:
        raise DomainError(errors)
    for name, value in values.items():
        setattr(row, name, value)
    if "unique" in values and values["unique"] != before["unique"]:
        await _set_unique_keys(session, info.id, bool(values["unique"]))
    await definitions.write_settings(
        session,
        info.id,
        authorised=authorised,
        limits=limits,
        rule_libraries=scope,
        excluded_groups=excluded,
    )
    changed = await type_by_code(session, institution_id, info.code)
    assert changed is not None
    after = await snapshot(session, changed)
    differences = {
        key: {"before": before[key], "after": after[key]}
        for key in after
        if before[key] != after[key]
    }
    if differences:
        await record(
            session,
            actor,
            "update_attribute_type",
            "AttributeType",
            info.id,
            institution_id,
            differences,
        )
    await session.commit()
    return changed


async def snapshot(session: AsyncSession, info: TypeInfo) -> dict[str, Any]:
    """The type's settings as the audit trail shows them (libraries and groups by code)."""
    return {
        "label": info.row.label,
        "authorisedValues": [f"{v.code}: {v.label}" for v in info.authorised],
        "repeatable": info.row.repeatable,
        "unique": info.row.unique,
        "mandatory": info.row.mandatory,
        "libraryLimits": list(info.limit_codes),
        "excludedUserGroups": await _codes(session, UserGroup, info.excluded_groups),
        "rule": {
            "libraries": await _codes(session, Library, info.rule_scope),
            "inScopeValue": info.row.rule_in_scope_value,
            "outOfScopeValue": info.row.rule_out_of_scope_value,
            "applyForAllSessions": info.row.apply_rule_for_all_sessions,
        }
        if info.has_rule
        else None,
    }


async def _codes(
    session: AsyncSession, model: type[Library] | type[UserGroup], ids: frozenset[int]
) -> list[str]:
    if not ids:
        return []
    rows = await session.execute(
        select(col(model.code)).where(col(model.id).in_(ids)).order_by(col(model.code))
    )
    return list(rows.scalars())


async def _limits(
    session: AsyncSession,
    actor: Actor,
    info: TypeInfo,
    institution: Institution,
    change: AttributeTypeChange,
    errors: list[FieldError],
) -> list[int] | None:
    """The new library limits ([] for every library), or None when they stay."""
    institution_id = saved_id(institution)
    if change.all_libraries:
        if change.library_limits:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    "Give libraryLimits or allLibraries: true, not both.",
                    ["all_libraries"],
                )
            )
            return None
        # Opening the type to every library gives each of them: the session must hold all.
        every = await _libraries(session, col(Library.institution_id) == institution_id)
        _not_held(actor, institution_id, every, errors)
        return []
    if change.library_limits is None:
        return None
    if not change.library_limits:
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT,
                f"An empty list of libraries means every library of {institution.code} may "
                f"see and change {info.row.label}: to open it to all of them, give "
                "allLibraries: true instead.",
                LIMITS,
            )
        )
        return None
    ids = await definitions.library_ids(
        session, institution_id, change.library_limits, LIMITS, errors
    )
    codes = await _libraries(session, col(Library.id).in_(ids))
    _not_held(actor, institution_id, codes, errors)
    limits = frozenset(ids)
    names = ", ".join(sorted(codes.values()))
    for found in await holders.carriers(session, institution_id, info.code):
        left_out = found.outside(limits)
        if left_out.holders:
            where = f" of libraries other than {names}"
            errors.append(FieldError(ErrorCode.CONFLICT, left_out.refusal(where), LIMITS))
    return ids


async def _libraries(session: AsyncSession, where: Any) -> dict[int, str]:
    rows = await session.execute(select(pk(Library.id), col(Library.code)).where(where))
    return dict(rows.all())


def _not_held(
    actor: Actor, institution_id: int, libraries: dict[int, str], errors: list[FieldError]
) -> None:
    """Delegation: a session gives only libraries it holds."""
    missing = sorted(
        code for i, code in libraries.items() if not holds_library(actor, i, institution_id)
    )
    if missing:
        errors.append(
            FieldError(
                ErrorCode.FORBIDDEN,
                f"Only someone who holds {', '.join(missing)} may give it access.",
                LIMITS,
            )
        )


async def _values_left_out(
    session: AsyncSession, info: TypeInfo, codes: list[str]
) -> list[FieldError]:
    """A value patrons hold may not leave the list (a free-text type takes any)."""
    if not codes:
        return []
    rows = await session.execute(
        select(
            col(PatronAttribute.value), func.count(func.distinct(col(PatronAttribute.patron_id)))
        )
        .where(
            col(PatronAttribute.attribute_type_id) == info.id,
            col(PatronAttribute.value).not_in(codes),
        )
        .group_by(col(PatronAttribute.value))
        .order_by(col(PatronAttribute.value))
    )
    return [
        FieldError(
            ErrorCode.CONFLICT,
            f"{many(int(n), 'patron has', 'patrons have')} the value {value!r} of "
            f"{info.code}, which the new list leaves out: change their values first, or keep it.",
            ["authorised_values"],
        )
        for value, n in rows.all()
    ]


async def _repeated(session: AsyncSession, info: TypeInfo) -> list[FieldError]:
    repeated = (
        select(col(PatronAttribute.patron_id))
        .where(col(PatronAttribute.attribute_type_id) == info.id)
        .group_by(col(PatronAttribute.patron_id))
        .having(func.count() > 1)
        .subquery()
    )
    n = int((await session.execute(select(func.count()).select_from(repeated))).scalar_one())
    if not n:
        return []
    return [
        FieldError(
            ErrorCode.CONFLICT,
            f"{many(n, 'patron has', 'patrons have')} more than one value of {info.code}: "
            "it stays repeatable until each has one.",
            ["repeatable"],
        )
    ]


async def _shared(session: AsyncSession, info: TypeInfo) -> list[FieldError]:
    """Unique values are compared without case, as the unique key stores them."""
    rows = await session.execute(
        select(col(PatronAttribute.value)).where(col(PatronAttribute.attribute_type_id) == info.id)
    )
    held = Counter(value.lower() for value in rows.scalars())
    shared = sorted(value for value, n in held.items() if n > 1)
    if not shared:
        return []
    return [
        FieldError(
            ErrorCode.CONFLICT,
            f"{many(len(shared), 'value', 'values')} of {info.code} "
            f"{'is' if len(shared) == 1 else 'are'} held more than once (e.g. {shared[0]!r}): "
            "it can become unique once every value is held once.",
            ["unique"],
        )
    ]


async def _set_unique_keys(session: AsyncSession, type_id: int, unique: bool) -> None:
    """The unique key is the value without case for a unique type, else none."""
    if not unique:
        await session.execute(
            update(PatronAttribute)
            .where(col(PatronAttribute.attribute_type_id) == type_id)
            .values(unique_key=None)
        )
        return
    rows = await session.execute(
        select(pk(PatronAttribute.id), col(PatronAttribute.value)).where(
            col(PatronAttribute.attribute_type_id) == type_id
        )
    )
    keys = [{"id": row_id, "unique_key": value.lower()} for row_id, value in rows.all()]
    if keys:
        await session.execute(update(PatronAttribute), keys)
