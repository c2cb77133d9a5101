"""Attribute types, who may see them, and how patron values change.

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
    func,
    not_,
    or_,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes import definitions
from app.attributes.models import (
    AttributeType,
    PatronAttribute,
)
from app.attributes.types import TypeInfo as TypeInfo
from app.attributes.types import is_authorized as is_authorized
from app.attributes.types import load_types as load_types
from app.attributes.types import patron_values as patron_values
from app.attributes.types import type_by_code as type_by_code
from app.attributes.types import visible_changes as visible_changes
from app.audit import service as audit
from app.audit.models import AuditEntry
from app.auth.policy import (
    Actor,
    can_manage_patrons,
    can_read_patrons,
    require_authenticated,
    require_institution_admin,
)
from app.errors import DomainError, ErrorCode, FieldError
from app.network import service as network
from app.patrons.lookups import lookups_of
from app.patrons.models import Patron
from app.patrons.versions import bump_version
from app.sql import pk, saved_id

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


def rows_to_insert(patron_id: int, plan: AttributePlan) -> list[dict[str, Any]]:
    """The rows of a new patron's values (for bulk inserts)."""
    return [
        {
            "patron_id": patron_id,
            "attribute_type_id": type_id,
            "value": value,
            "unique_key": value.lower() if plan.types[type_id].row.unique else None,
        }
        for type_id, values in plan.changes.items()
        for value in values
    ]


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


# ---------------------------------------------------------------- type administration


@dataclass(frozen=True)
class AttributeTypeSpec:
    institution: str
    code: str
    label: str
    authorised_values: list[tuple[str, str]]
    repeatable: bool = False
    unique: bool = False
    mandatory: bool = False
    library_limits: list[str] | None = None
    excluded_user_groups: list[str] | None = None
    rule_libraries: list[str] | None = None
    rule_in_scope_value: str | None = None
    rule_out_of_scope_value: str | None = None
    apply_rule_for_all_sessions: bool = False


async def _removed_codes(session: AsyncSession, institution_id: int) -> set[str]:
    """Codes of the institution's attribute types that were removed (from the audit trail)."""
    rows = await session.execute(
        select(col(AuditEntry.changes)).where(
            col(AuditEntry.institution_id) == institution_id,
            col(AuditEntry.action) == "remove_attribute_type",
            col(AuditEntry.entity_type) == "AttributeType",
        )
    )
    return {
        changes["code"]["before"]
        for (changes,) in rows.all()
        if isinstance(changes, dict) and isinstance(changes.get("code"), dict)
    }


async def create_attribute_type(
    *, session: AsyncSession, actor: Actor, spec: AttributeTypeSpec
) -> TypeInfo:
    """Define an attribute type of an institution (SYSTEM_ADMIN)."""
    require_authenticated(actor)
    institution = await network.require_institution(session, spec.institution, ["institution"])
    assert institution.id is not None
    require_institution_admin(actor, institution.id, "define attribute types", institution.code)
    errors: list[FieldError] = []
    code = network.normalize_code(spec.code)
    # ASCII only, like every other code: attribute:<CODE> scopes are written with it.
    if not code or len(code) > 40 or not set(code) <= network.CODE_CHARACTERS:
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT,
                "Codes are 1 to 40 letters, digits, '-' or '_'.",
                ["code"],
            )
        )
    elif await type_by_code(session, institution.id, code) is not None:
        errors.append(
            FieldError(
                ErrorCode.CONFLICT,
                f"{institution.code} already has an attribute type {code}.",
                ["code"],
            )
        )
    elif code in await _removed_codes(session, institution.id):
        # Patrons' audit trails keep a removed type's values under its code: a new type
        # of that code would show them to whoever its own limits let in.
        errors.append(
            FieldError(
                ErrorCode.CONFLICT,
                f"{institution.code} had an attribute type {code}, since removed; its history "
                "stays under that code. Choose another code.",
                ["code"],
            )
        )
    label = definitions.check_label(spec.label, errors)
    authorised = definitions.check_authorised_values(spec.authorised_values, errors)
    value_codes = [c for c, _ in authorised]
    limits = await definitions.library_ids(
        session, institution.id, spec.library_limits or [], ["library_limits"], errors
    )
    excluded = await definitions.user_group_ids(
        session, institution.id, institution.code, spec.excluded_user_groups or [], errors
    )
    has_rule = (
        spec.rule_libraries is not None
        or bool(spec.rule_in_scope_value)
        or bool(spec.rule_out_of_scope_value)
    )
    rule = definitions.CheckedRule([], "", "")
    if has_rule:
        rule = await definitions.check_rule(
            session,
            institution.id,
            spec.rule_libraries,
            spec.rule_in_scope_value,
            spec.rule_out_of_scope_value,
            value_codes,
            errors,
        )
    scope, in_value, out_value = rule.libraries, rule.in_scope_value, rule.out_of_scope_value
    if errors:
        raise DomainError(errors)
    row = AttributeType(
        institution_id=institution.id,
        code=code,
        label=label,
        repeatable=spec.repeatable,
        unique=spec.unique,
        mandatory=spec.mandatory,
        rule_in_scope_value=in_value if has_rule else None,
        rule_out_of_scope_value=out_value if has_rule else None,
        apply_rule_for_all_sessions=has_rule and spec.apply_rule_for_all_sessions,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent twin won the race
        await session.rollback()
        raise DomainError.of(
            ErrorCode.CONFLICT,
            f"{institution.code} already has an attribute type {code}.",
            ["code"],
        ) from exc
    await definitions.write_settings(
        session,
        saved_id(row),
        authorised=authorised,
        limits=limits,
        rule_libraries=scope,
        excluded_groups=excluded,
    )
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="create_attribute_type",
        entity_type="AttributeType",
        entity_id=row.id,
        institution_id=institution.id,
        changes={
            "code": {"before": None, "after": code},
            "label": {"before": None, "after": label},
        },
    )
    await session.commit()
    info = await type_by_code(session, institution.id, code)
    assert info is not None
    return info


async def visible_types(session: AsyncSession, actor: Actor) -> list[TypeInfo]:
    """The attribute types of the actor's institution that its session may see."""
    if actor.institution_id is None:
        return []
    types = await load_types(session, [actor.institution_id])
    return [t for t in types.values() if is_authorized(actor, t)]


# ---------------------------------------------------------------- reports and fixes


def _discrepancy_clauses(info: TypeInfo, kind: str) -> list[Any]:
    in_value = info.row.rule_in_scope_value
    has_in_value = exists().where(
        col(PatronAttribute.patron_id) == col(Patron.id),
        col(PatronAttribute.attribute_type_id) == info.id,
        col(PatronAttribute.value) == in_value,
    )
    clauses: list[Any] = [
        col(Patron.institution_id) == info.row.institution_id,
        col(Patron.account_type) == "HOME",
    ]
    if kind == "MISSING_IN_SCOPE":
        clauses += [col(Patron.home_library_id).in_(info.rule_scope), not_(has_in_value)]
        if info.excluded_groups:
            clauses.append(
                or_(
                    col(Patron.user_group_id).is_(None),
                    col(Patron.user_group_id).not_in(info.excluded_groups),
                )
            )
    else:
        clauses += [col(Patron.home_library_id).not_in(info.rule_scope), has_in_value]
    return clauses


async def _report_type(session: AsyncSession, actor: Actor, type_code: str) -> TypeInfo | None:
    require_authenticated(actor)
    if actor.institution_id is None:
        return None
    info = await type_by_code(session, actor.institution_id, type_code)
    if info is None or not info.has_rule or not is_authorized(actor, info):
        return None
    # Reports are librarians' work (API clients need the type's scope and patron_read).
    if actor.kind == "client":
        allowed = can_read_patrons(actor, info.row.institution_id)
    else:
        allowed = can_manage_patrons(actor, info.row.institution_id)
    return info if allowed else None


async def _custom_plans(session: AsyncSession) -> None:
    """Plan report queries for the actual scope: a generic plan of a prepared statement
    cannot see how many patrons a library has and reads them all (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


async def discrepancies(
    *,
    session: AsyncSession,
    actor: Actor,
    type_code: str,
    kind: str,
    first: int,
    after_id: int | None,
) -> tuple[list[Patron], bool]:
    """Patrons whose value disagrees with the type's rule, by id; empty for unauthorized sessions."""
    info = await _report_type(session, actor, type_code)
    if info is None:
        return [], False
    await _custom_plans(session)
    # Find the discrepancies first (index-only scans of the scope), then order and
    # page them: `ORDER BY id LIMIT n` over the filtered table walks the whole primary
    # key when discrepancies are rare, which is the normal state of a worked report.
    ids = select(pk(Patron.id)).where(*_discrepancy_clauses(info, kind))
    if after_id is not None:
        ids = ids.where(col(Patron.id) > after_id)
    found = ids.cte("discrepancy").prefix_with("MATERIALIZED")
    page = (
        select(found.c.id)
        .order_by(found.c.id)
        .limit(first + 1)
        .cte("page")
        .prefix_with("MATERIALIZED")
    )
    query = select(Patron).join(page, page.c.id == col(Patron.id)).order_by(col(Patron.id))
    rows = list((await session.execute(query)).scalars())
    return rows[:first], len(rows) > first


async def count_discrepancies(
    *, session: AsyncSession, actor: Actor, type_code: str, kind: str
) -> int:
    info = await _report_type(session, actor, type_code)
    if info is None:
        return 0
    await _custom_plans(session)
    return int(
        await session.scalar(
            select(func.count()).select_from(Patron).where(*_discrepancy_clauses(info, kind))
        )
        or 0
    )


async def apply_rule(
    *, session: AsyncSession, actor: Actor, type_code: str, patron_ids: list[int | None]
) -> list[Patron]:
    """Set the rule's value on each listed patron, all in one transaction; returns those changed."""
    require_authenticated(actor)
    info = await type_by_code(session, actor.institution_id or -1, type_code)
    if info is None or not info.has_rule:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            f"There is no attribute type {type_code!r} with a home-library rule.",
            ["attribute_type"],
        )
    if not is_authorized(actor, info):
        raise DomainError.of(
            ErrorCode.ATTRIBUTE_FORBIDDEN, info.forbidden_message(), ["attribute_type"]
        )
    if not can_manage_patrons(actor, info.row.institution_id):
        raise DomainError.of(ErrorCode.FORBIDDEN, "Only librarians may apply attribute rules.")
    errors: list[FieldError] = []
    patrons: list[Patron] = []
    wanted = [pid for pid in patron_ids if pid is not None]
    found = {
        p.id: p
        for p in (await session.execute(select(Patron).where(col(Patron.id).in_(wanted)))).scalars()
        if p.institution_id == info.row.institution_id
    }
    for index, patron_id in enumerate(patron_ids):
        patron = found.get(patron_id) if patron_id is not None else None
        if patron is None:
            errors.append(
                FieldError(
                    ErrorCode.NOT_FOUND,
                    "There is no such patron.",
                    ["patron_ids", str(index)],
                )
            )
        else:
            patrons.append(patron)
    if errors:
        raise DomainError(errors)
    changed: list[Patron] = []
    # Each patron once, in the order given (table models are not hashable).
    for patron in {p.id: p for p in patrons}.values():
        assert patron.id is not None
        current = (await patron_values(session, patron.id)).get(info.id, [])
        value = info.rule_value(patron.home_library_id)
        if current == [value]:
            continue
        plan = AttributePlan(changes={info.id: [value]}, types={info.id: info})
        await write_changes(session, patron.id, plan)
        patron.version = await bump_version(session, patron.id)
        await audit.record(
            session=session,
            actor=actor,
            action="apply_attribute_rule",
            entity_type="Patron",
            entity_id=patron.id,
            institution_id=patron.institution_id,
            changes={
                f"attribute:{info.code}": {"before": sorted(current) or None, "after": [value]}
            },
        )
        changed.append(patron)
    await session.commit()
    for patron in changed:
        await session.refresh(patron)
    return changed


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
