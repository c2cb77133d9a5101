"""Linked account rules of a target institution: ordered, first match wins, default last."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.auth.policy import Actor, can_administer_institution, require_authenticated
from app.errors import DomainError, ErrorCode, FieldError
from app.linking.models import LinkedAccountRule
from app.network import service as network
from app.network.default_rule import ensure_default_rule as ensure_default_rule
from app.network.default_rule import rules_of as rules_of
from app.network.models import Institution, UserGroup

PARAMETERS = ("SOURCE_INSTITUTION", "SOURCE_USER_GROUP")
OPERATORS = ("EQUALS", "NOT_EQUALS", "IN_LIST", "NOT_IN_LIST")
EXPIRY_MODES = ("NONE", "ABSOLUTE", "SAME_AS_SOURCE", "RELATIVE_TO_SOURCE")
PURGE_MODES = ("NONE", "ABSOLUTE", "AFTER_EXPIRY")


@dataclass
class RuleSpec:
    """The editable parts of a rule; None on update means unchanged."""

    name: str | None = None
    description: str | None = None
    conditions: list[dict[str, Any]] | None = None
    user_group: str | None = None
    expiry: tuple[str, date | None, int | None] | None = None
    purge: tuple[str, date | None, int | None] | None = None
    refresh_expiry_date: bool | None = None
    refresh_purge_date: bool | None = None
    resource_sharing_library: str | None = None
    copy_network_blocks: bool | None = None
    description_given: bool = False
    library_given: bool = False


def _renumber(rules: list[LinkedAccountRule]) -> None:
    """Positions 0..n-1 in list order, the default rule last."""
    ordered = [r for r in rules if not r.is_default] + [r for r in rules if r.is_default]
    for position, rule in enumerate(ordered):
        rule.position = position


async def _rule_for_admin(session: AsyncSession, actor: Actor, rule_id: int) -> LinkedAccountRule:
    require_authenticated(actor)
    rule = await session.get(LinkedAccountRule, rule_id)
    if rule is None or not can_administer_institution(actor, rule.institution_id):
        raise DomainError.of(ErrorCode.NOT_FOUND, "There is no such rule.", ["id"])
    return rule


async def _apply_spec(
    session: AsyncSession,
    institution: Institution,
    rule: LinkedAccountRule,
    spec: RuleSpec,
    errors: list[FieldError],
) -> None:
    if spec.name is not None:
        name = spec.name.strip()
        if not name or len(name) > 200:
            errors.append(
                FieldError(
                    ErrorCode.MANDATORY_FIELD,
                    "Give the rule a name (up to 200 characters).",
                    ["name"],
                )
            )
        rule.name = name
    if spec.description_given:
        rule.description = (spec.description or "").strip() or None
    if spec.conditions is not None:
        if rule.is_default and spec.conditions:
            errors.append(
                FieldError(
                    ErrorCode.DEFAULT_RULE_IMMUTABLE,
                    "The default rule has no conditions.",
                    ["conditions"],
                )
            )
        checked = []
        for index, condition in enumerate(spec.conditions):
            path = ["conditions", str(index)]
            values = [v.strip().upper() for v in condition["values"] if v and v.strip()]
            if condition["parameter"] not in PARAMETERS or condition["operator"] not in OPERATORS:
                errors.append(
                    FieldError(ErrorCode.INVALID_INPUT, "Unknown parameter or operator.", path)
                )
                continue
            if not values:
                errors.append(
                    FieldError(
                        ErrorCode.MANDATORY_FIELD, "Give at least one value.", [*path, "values"]
                    )
                )
                continue
            if condition["operator"] in ("EQUALS", "NOT_EQUALS") and len(values) != 1:
                errors.append(
                    FieldError(
                        ErrorCode.INVALID_INPUT,
                        f"{condition['operator']} compares with one value.",
                        [*path, "values"],
                    )
                )
                continue
            if condition["parameter"] == "SOURCE_INSTITUTION":
                for position, code in enumerate(values):
                    if await network.institution_by_code(session, code) is None:
                        errors.append(
                            FieldError(
                                ErrorCode.INVALID_INPUT,
                                f"There is no institution {code!r}.",
                                [*path, "values", str(position)],
                            )
                        )
            checked.append(
                {
                    "parameter": condition["parameter"],
                    "operator": condition["operator"],
                    "values": values,
                }
            )
        await _check_source_groups(session, checked, errors)
        rule.conditions = checked
    if spec.user_group is not None:
        group = await network.user_group_by_code(session, institution.id, spec.user_group)  # type: ignore[arg-type]
        if group is None:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"{spec.user_group!r} is not a user group of {institution.code}.",
                    ["user_group"],
                )
            )
        else:
            rule.user_group_id = group.id  # type: ignore[assignment]
    if spec.expiry is not None:
        mode, when, offset = spec.expiry
        if mode == "ABSOLUTE" and when is None:
            errors.append(
                FieldError(
                    ErrorCode.MANDATORY_FIELD,
                    "An ABSOLUTE expiry needs a date.",
                    ["expiry", "date"],
                )
            )
        if mode == "RELATIVE_TO_SOURCE" and offset is None:
            errors.append(
                FieldError(
                    ErrorCode.MANDATORY_FIELD,
                    "RELATIVE_TO_SOURCE needs offsetDays.",
                    ["expiry", "offset_days"],
                )
            )
        rule.expiry_mode = mode
        rule.expiry_date = when if mode == "ABSOLUTE" else None
        rule.expiry_offset_days = offset if mode == "RELATIVE_TO_SOURCE" else None
    if spec.purge is not None:
        mode, when, offset = spec.purge
        if mode == "ABSOLUTE" and when is None:
            errors.append(
                FieldError(
                    ErrorCode.MANDATORY_FIELD,
                    "An ABSOLUTE purge needs a date.",
                    ["purge", "date"],
                )
            )
        if mode == "AFTER_EXPIRY" and offset is None:
            errors.append(
                FieldError(
                    ErrorCode.MANDATORY_FIELD,
                    "AFTER_EXPIRY needs offsetDays.",
                    ["purge", "offset_days"],
                )
            )
        if offset is not None and offset < 0:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    "offsetDays cannot be negative.",
                    ["purge", "offset_days"],
                )
            )
        rule.purge_mode = mode
        rule.purge_date = when if mode == "ABSOLUTE" else None
        rule.purge_offset_days = offset if mode == "AFTER_EXPIRY" else None
    for name in ("refresh_expiry_date", "refresh_purge_date", "copy_network_blocks"):
        value = getattr(spec, name)
        if value is not None:
            setattr(rule, name, value)
    _check_purge_after_expiry(rule, spec, errors)
    if spec.library_given:
        if spec.resource_sharing_library:
            library = await network.library_by_code(session, spec.resource_sharing_library)
            if library is None or library.institution_id != institution.id:
                errors.append(
                    FieldError(
                        ErrorCode.INVALID_INPUT,
                        f"{spec.resource_sharing_library!r} is not a library of {institution.code}.",
                        ["resource_sharing_library"],
                    )
                )
            else:
                rule.resource_sharing_library_id = library.id
        else:
            rule.resource_sharing_library_id = None


def _snapshot(rule: LinkedAccountRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "description": rule.description,
        "position": rule.position,
        "conditions": rule.conditions,
        "userGroupId": rule.user_group_id,
        "expiry": [
            rule.expiry_mode,
            rule.expiry_date.isoformat() if rule.expiry_date else None,
            rule.expiry_offset_days,
        ],
        "purge": [
            rule.purge_mode,
            rule.purge_date.isoformat() if rule.purge_date else None,
            rule.purge_offset_days,
        ],
        "refreshExpiryDate": rule.refresh_expiry_date,
        "refreshPurgeDate": rule.refresh_purge_date,
        "resourceSharingLibraryId": rule.resource_sharing_library_id,
        "copyNetworkBlocks": rule.copy_network_blocks,
    }


async def create_rule(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    position: int | None,
    spec: RuleSpec,
) -> LinkedAccountRule:
    """Add a rule at a position (default: just before the default rule)."""
    institution = await network.administered_institution(
        session, actor, institution_code, "change its linked account rules"
    )
    assert institution.id is not None
    rules = await rules_of(session, institution.id)
    others = [r for r in rules if not r.is_default]
    errors: list[FieldError] = []
    if position is not None and not 0 <= position <= len(others):
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT,
                f"The position must be between 0 and {len(others)}.",
                ["position"],
            )
        )
    rule = LinkedAccountRule(institution_id=institution.id, name="", position=0, user_group_id=0)
    spec.description_given = True
    spec.library_given = True
    await _apply_spec(session, institution, rule, spec, errors)
    if errors:
        raise DomainError(errors)
    session.add(rule)
    others.insert(len(others) if position is None else position, rule)
    _renumber(others + [r for r in rules if r.is_default])
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="create_linked_account_rule",
        entity_type="LinkedAccountRule",
        entity_id=rule.id,
        institution_id=institution.id,
        changes=audit.diff({}, _snapshot(rule)),
    )
    await session.commit()
    return rule


async def update_rule(
    *, session: AsyncSession, actor: Actor, rule_id: int, spec: RuleSpec
) -> LinkedAccountRule:
    rule = await _rule_for_admin(session, actor, rule_id)
    institution = await session.get(Institution, rule.institution_id)
    assert institution is not None
    before = _snapshot(rule)
    errors: list[FieldError] = []
    await _apply_spec(session, institution, rule, spec, errors)
    if errors:
        raise DomainError(errors)
    changes = audit.diff(before, _snapshot(rule))
    if changes:
        await audit.record(
            session=session,
            actor=actor,
            action="update_linked_account_rule",
            entity_type="LinkedAccountRule",
            entity_id=rule.id,
            institution_id=rule.institution_id,
            changes=changes,
        )
    await session.commit()
    return rule


async def duplicate_rule(*, session: AsyncSession, actor: Actor, rule_id: int) -> LinkedAccountRule:
    """A copy named "Copy of ...", placed right after the original."""
    original = await _rule_for_admin(session, actor, rule_id)
    if original.is_default:
        raise DomainError.of(
            ErrorCode.DEFAULT_RULE_IMMUTABLE,
            "The default rule cannot be duplicated.",
            ["id"],
        )
    rules = await rules_of(session, original.institution_id)
    copy = LinkedAccountRule(
        **{k: v for k, v in original.model_dump().items() if k not in ("id", "name", "position")},
        name=f"Copy of {original.name}"[:200],
        position=0,
    )
    copy.conditions = [dict(c) for c in original.conditions]
    session.add(copy)
    ordered = [r for r in rules if not r.is_default]
    ordered.insert(ordered.index(original) + 1, copy)
    _renumber(ordered + [r for r in rules if r.is_default])
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="duplicate_linked_account_rule",
        entity_type="LinkedAccountRule",
        entity_id=copy.id,
        institution_id=copy.institution_id,
        changes={"copyOf": {"before": None, "after": original.id}},
    )
    await session.commit()
    return copy


async def delete_rule(
    *, session: AsyncSession, actor: Actor, rule_id: int
) -> list[LinkedAccountRule]:
    rule = await _rule_for_admin(session, actor, rule_id)
    if rule.is_default:
        raise DomainError.of(
            ErrorCode.DEFAULT_RULE_IMMUTABLE, "The default rule cannot be deleted.", ["id"]
        )
    institution_id = rule.institution_id
    await session.delete(rule)
    await session.flush()
    rules = await rules_of(session, institution_id)
    _renumber(rules)
    await audit.record(
        session=session,
        actor=actor,
        action="delete_linked_account_rule",
        entity_type="LinkedAccountRule",
        entity_id=rule_id,
        institution_id=institution_id,
        changes={"name": {"before": rule.name, "after": None}},
    )
    await session.commit()
    return rules


async def reorder_rules(
    *, session: AsyncSession, actor: Actor, institution_code: str, rule_ids: list[int | None]
) -> list[LinkedAccountRule]:
    """Put every non-default rule in the given order."""
    institution = await network.administered_institution(
        session, actor, institution_code, "change its linked account rules"
    )
    assert institution.id is not None
    rules = await rules_of(session, institution.id)
    by_id = {r.id: r for r in rules}
    default = [r for r in rules if r.is_default]
    if any(by_id.get(i) is not None and by_id[i].is_default for i in rule_ids):
        raise DomainError.of(
            ErrorCode.DEFAULT_RULE_IMMUTABLE,
            "The default rule always stays last.",
            ["rule_ids"],
        )
    wanted = {r.id for r in rules if not r.is_default}
    if len(rule_ids) != len(set(rule_ids)) or set(rule_ids) != wanted:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            "List every rule except the default rule, each once.",
            ["rule_ids"],
        )
    before = [r.id for r in rules]
    ordered = [by_id[i] for i in rule_ids]
    _renumber(ordered + default)
    await audit.record(
        session=session,
        actor=actor,
        action="reorder_linked_account_rules",
        entity_type="Institution",
        entity_id=institution.id,
        institution_id=institution.id,
        changes={"order": {"before": before, "after": [r.id for r in ordered + default]}},
    )
    await session.flush()
    await session.commit()
    return ordered + default


async def _check_source_groups(
    session: AsyncSession, conditions: list[dict[str, Any]], errors: list[FieldError]
) -> None:
    """A SOURCE_USER_GROUP value must be a user group of a source institution the rule
    can match (those its SOURCE_INSTITUTION conditions name, else any member): a typo
    would make a rule that never matches."""
    named: set[str] | None = None
    for condition in conditions:
        if condition["parameter"] == "SOURCE_INSTITUTION" and condition["operator"] in (
            "EQUALS",
            "IN_LIST",
        ):
            values = set(condition["values"])
            named = values if named is None else named & values
    query = select(col(UserGroup.code), col(Institution.code)).join(
        Institution, col(Institution.id) == col(UserGroup.institution_id)
    )
    if named is not None:
        query = query.where(col(Institution.code).in_(sorted(named)))
    known = {group for group, _ in (await session.execute(query)).all()}
    where = ", ".join(sorted(named)) if named else "any member institution"
    for index, condition in enumerate(conditions):
        if condition["parameter"] != "SOURCE_USER_GROUP":
            continue
        for position, code in enumerate(condition["values"]):
            if code not in known:
                errors.append(
                    FieldError(
                        ErrorCode.INVALID_INPUT,
                        f"There is no user group {code!r} at {where}.",
                        ["conditions", str(index), "values", str(position)],
                    )
                )


def _check_purge_after_expiry(
    rule: LinkedAccountRule, spec: RuleSpec, errors: list[FieldError]
) -> None:
    """A copy is never purged while it is still valid: an ABSOLUTE purge date needs an
    expiry, and not one after it. (Dates from the source are kept in order when a copy
    is made or refreshed: see purge_for.)"""
    if rule.purge_mode != "ABSOLUTE" or rule.purge_date is None:
        return
    field = ["purge", "date"] if spec.purge is not None else ["expiry"]
    if rule.expiry_mode == "NONE":
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT,
                "Accounts linked under this rule never expire, so a purge date would "
                "delete valid accounts: set an expiry, or purge NONE.",
                field,
            )
        )
    elif (
        rule.expiry_mode == "ABSOLUTE"
        and rule.expiry_date is not None
        and rule.purge_date < rule.expiry_date
    ):
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT,
                f"The purge date {rule.purge_date} is before the expiry date "
                f"{rule.expiry_date}: accounts would be deleted while still valid. "
                "Purge on or after the expiry date, or use AFTER_EXPIRY.",
                field,
            )
        )
