"""Discrepancy reports of attribute types with a home-library rule: the patrons whose value
is not the one the rule gives, and applying the rule to them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    exists,
    func,
    not_,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes.models import PatronAttribute
from app.attributes.service import AttributePlan, write_changes
from app.attributes.types import TypeInfo, is_authorized, patron_values, type_by_code
from app.audit import service as audit
from app.auth.policy import (
    Actor,
    can_manage_patrons,
    can_read_patrons,
    require_authenticated,
)
from app.errors import DomainError, ErrorCode, FieldError
from app.patrons.models import Patron
from app.patrons.versions import bump_version
from app.sql import pk

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
