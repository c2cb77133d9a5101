"""Which linked account rule applies to a patron of another member, and the dates it
gives a copy (expiry, purge)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.policy import Actor
from app.errors import DomainError, ErrorCode
from app.linking.models import LinkedAccountRule
from app.network import service as network
from app.network.default_rule import ensure_default_rule as ensure_default_rule
from app.network.default_rule import rules_of as rules_of


def condition_holds(
    condition: dict[str, Any], source_institution: str, source_group: str | None
) -> bool:
    value = (
        source_institution
        if condition["parameter"] == "SOURCE_INSTITUTION"
        else (source_group or "")
    )
    values: list[str] = condition["values"]
    operator = condition["operator"]
    if operator == "EQUALS":
        return value == values[0]
    if operator == "NOT_EQUALS":
        return value != values[0]
    if operator == "IN_LIST":
        return value in values
    return value not in values


@dataclass(frozen=True)
class Evaluation:
    rule: LinkedAccountRule
    user_group_id: int
    expiry_date: date | None
    purge_date: date | None


def expiry_for(rule: LinkedAccountRule, source_expiry: date | None) -> date | None:
    if rule.expiry_mode == "ABSOLUTE":
        return rule.expiry_date
    if rule.expiry_mode == "SAME_AS_SOURCE":
        return source_expiry
    if rule.expiry_mode == "RELATIVE_TO_SOURCE" and source_expiry is not None:
        return source_expiry + timedelta(days=rule.expiry_offset_days or 0)
    return None


def purge_for(rule: LinkedAccountRule, linked_expiry: date | None) -> date | None:
    """The purge date of a copy that expires on `linked_expiry`: never before it, and
    none for a copy that never expires."""
    if linked_expiry is None:
        return None
    if rule.purge_mode == "ABSOLUTE" and rule.purge_date is not None:
        return max(rule.purge_date, linked_expiry)
    if rule.purge_mode == "AFTER_EXPIRY" and linked_expiry is not None:
        return linked_expiry + timedelta(days=rule.purge_offset_days or 0)
    return None


async def evaluate(
    session: AsyncSession,
    target_institution_id: int,
    source_institution: str,
    source_group: str | None,
    source_expiry: date | None,
) -> Evaluation | None:
    """The first rule whose conditions all hold (else the default) and the dates it gives."""
    rules = await rules_of(session, target_institution_id)
    if not any(r.is_default for r in rules):
        default = await ensure_default_rule(session, target_institution_id)
        if default is None:
            return None
        rules.append(default)
    source_institution = source_institution.upper()
    group = source_group.upper() if source_group else None
    for rule in rules:
        if all(condition_holds(c, source_institution, group) for c in rule.conditions):
            expiry = expiry_for(rule, source_expiry)
            return Evaluation(
                rule=rule,
                user_group_id=rule.user_group_id,
                expiry_date=expiry,
                purge_date=purge_for(rule, expiry),
            )
    raise AssertionError("the default rule always matches")


async def evaluate_for_admin(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    source_institution: str,
    source_user_group: str | None,
    source_expiry: date | None,
) -> Evaluation | None:
    """Explain which rule applies and the dates it gives (SYSTEM_ADMIN)."""
    institution = await network.administered_institution(
        session, actor, institution_code, "change its linked account rules"
    )
    assert institution.id is not None
    if await network.institution_by_code(session, source_institution) is None:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            f"There is no institution {source_institution!r}.",
            ["source_institution"],
        )
    return await evaluate(
        session,
        institution.id,
        source_institution,
        source_user_group,
        source_expiry,
    )
