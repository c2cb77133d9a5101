"""Checking a patron edit against the registry's rules, all errors at once: one check per
group of fields (app.patrons.field_checks, app.patrons.identifier_checks), then delegation
(app.patrons.delegation) and the attribute values (app.attributes.service)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.attributes import service as attributes
from app.auth.policy import Actor
from app.auth.roles import SystemGroup
from app.errors import DomainError
from app.network.models import IdentifierType, Institution
from app.patrons.delegation import check_delegation
from app.patrons.edits import Edit
from app.patrons.field_checks import (
    check_combinations,
    check_emails,
    check_groups_and_libraries,
    check_home_library_and_group,
    check_login,
    check_mandatory_and_listed,
    check_names_and_flags,
)
from app.patrons.identifier_checks import plan_identifiers
from app.patrons.state import PatronState
from app.settings import Settings


@dataclass
class PatronPlan:
    """The validated result of an edit, before anything is written."""

    state: PatronState
    password_hash: str | None | bool  # False: unchanged
    new_identifiers: dict[str, tuple[IdentifierType, str]]
    attributes: attributes.AttributePlan | None = None


async def validate_changes(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    institution: Institution,
    patron_id: int | None,
    current: PatronState,
    fields: dict[str, Any],
    account_type: str = "HOME",
) -> PatronPlan:
    """Check every provided field and work out the patron's new state (of a stored
    patron of this account type, or a new HOME one); all errors at once, in the order of
    the checks."""
    edit = Edit(session, institution, patron_id, current, fields, account_type)
    check_names_and_flags(edit)
    await check_mandatory_and_listed(edit)
    await check_home_library_and_group(edit)
    password_hash = await check_login(edit, settings)
    check_emails(edit)
    new_identifiers = await plan_identifiers(edit)
    await check_groups_and_libraries(edit, actor)
    await check_combinations(edit)
    if patron_id is not None or edit.state.system_groups != {SystemGroup.LIBRARY_USERS.value}:
        await check_delegation(
            session=session,
            actor=actor,
            institution_id=edit.institution_id,
            patron_id=patron_id,
            before=current,
            after=edit.state,
            fields=fields,
            errors=edit.errors,
        )
    attribute_plan = await _plan_attributes(edit, actor)
    if edit.errors:
        raise DomainError(edit.errors)
    return PatronPlan(
        state=edit.state,
        password_hash=password_hash,
        new_identifiers=new_identifiers,
        attributes=attribute_plan,
    )


async def _plan_attributes(edit: Edit, actor: Actor) -> attributes.AttributePlan | None:
    """Values, rules and mandatory types of the institution's attribute types, once the
    patron has a home library."""
    new_home = edit.scalars.get("home_library_id")
    if new_home is None:
        return None
    plan = await attributes.plan_changes(
        session=edit.session,
        actor=actor,
        institution_id=edit.institution_id,
        patron_id=edit.patron_id,
        current=edit.current.attributes,
        requested=edit.fields.get("attributes"),
        old_home_library_id=edit.current.scalars.get("home_library_id"),
        new_home_library_id=new_home,
        errors=edit.errors,
    )
    for type_id, values in plan.changes.items():
        if values:
            edit.state.attributes[type_id] = values
        else:
            edit.state.attributes.pop(type_id, None)
    return plan
