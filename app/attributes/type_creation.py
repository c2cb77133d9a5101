"""Creating an attribute type of an institution (SYSTEM_ADMIN): its code, label, authorised
values, library limits and home-library rule, checked all at once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes import definitions
from app.attributes.models import AttributeType
from app.attributes.types import TypeInfo, type_by_code
from app.audit import service as audit
from app.audit.models import AuditEntry
from app.auth.policy import (
    Actor,
    require_authenticated,
    require_institution_admin,
)
from app.errors import DomainError, ErrorCode, FieldError
from app.network import service as network
from app.sql import saved_id

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
