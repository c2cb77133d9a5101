"""Source-side configuration: what an institution exposes to the other members."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.auth.policy import Actor, require
from app.errors import DomainError, ErrorCode
from app.linking import propagation as linking
from app.linking.models import (
    LookupIdentifierType,
    RestrictedUserGroup,
    SearchableIdentifierType,
    SharedFieldSetting,
)
from app.linking.policies import SHARED_FIELDS as SHARED_FIELDS
from app.linking.policies import shared_fields as shared_fields
from app.network import service as network
from app.network.models import IdentifierType, Institution, UserGroup
from app.queue import run_pending
from app.sql import saved_id


async def _user_group(session: AsyncSession, institution: Institution, code: str) -> UserGroup:
    group = await network.user_group_by_code(session, institution.id, code)  # type: ignore[arg-type]
    if group is None:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            f"{code!r} is not a user group of {institution.code}.",
            ["user_group"],
        )
    return group


async def add_restricted_group(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    group_code: str,
    description: str | None,
) -> Institution:
    """Hide a user group's patrons from the other members (at once, on every path)."""
    institution = await network.administered_institution(
        session, actor, institution_code, "change its network settings"
    )
    group = await _user_group(session, institution, group_code)
    existing = await session.get(RestrictedUserGroup, (institution.id, group.id))
    if existing is None:
        session.add(
            RestrictedUserGroup(
                institution_id=institution.id,  # type: ignore[arg-type]
                user_group_id=group.id,  # type: ignore[arg-type]
                description=(description or "").strip() or None,
            )
        )
    else:
        existing.description = (description or "").strip() or None
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="add_restricted_user_group",
        entity_type="Institution",
        entity_id=institution.id,
        institution_id=institution.id,
        changes={"restrictedUserGroups": {"before": None, "after": group.code}},
    )
    await linking.refresh_institution_copies_later(
        session=session, actor=actor, institution_id=saved_id(institution)
    )
    await session.commit()
    await run_pending(session)
    return institution


async def remove_restricted_group(
    *, session: AsyncSession, actor: Actor, institution_code: str, group_code: str
) -> Institution:
    institution = await network.administered_institution(
        session, actor, institution_code, "change its network settings"
    )
    group = await _user_group(session, institution, group_code)
    result = await session.execute(
        delete(RestrictedUserGroup).where(
            col(RestrictedUserGroup.institution_id) == institution.id,
            col(RestrictedUserGroup.user_group_id) == group.id,
        )
    )
    if result.rowcount:  # type: ignore[attr-defined]
        await audit.record(
            session=session,
            actor=actor,
            action="remove_restricted_user_group",
            entity_type="Institution",
            entity_id=institution.id,
            institution_id=institution.id,
            changes={"restrictedUserGroups": {"before": group.code, "after": None}},
        )
        await linking.refresh_institution_copies_later(
            session=session, actor=actor, institution_id=saved_id(institution)
        )
    await session.commit()
    await run_pending(session)
    return institution


async def set_shared_fields(
    *, session: AsyncSession, actor: Actor, institution_code: str, fields: list[tuple[str, bool]]
) -> Institution:
    """Share or stop sharing fields; existing copies follow at their next refresh."""
    institution = await network.administered_institution(
        session, actor, institution_code, "change its network settings"
    )
    assert institution.id is not None
    before = await shared_fields(session, institution.id)
    for index, (name, shared) in enumerate(fields):
        if name not in SHARED_FIELDS:
            raise DomainError.of(
                ErrorCode.INVALID_INPUT,
                f"Unknown field {name!r}.",
                ["fields", str(index), "field"],
            )
        row = await session.get(SharedFieldSetting, (institution.id, name))
        if row is None:
            session.add(
                SharedFieldSetting(institution_id=institution.id, field=name, shared=shared)
            )
        else:
            row.shared = shared
    await session.flush()
    after = await shared_fields(session, institution.id)
    if after != before:
        await audit.record(
            session=session,
            actor=actor,
            action="set_shared_fields",
            entity_type="Institution",
            entity_id=institution.id,
            institution_id=institution.id,
            changes={"sharedFields": {"before": sorted(before), "after": sorted(after)}},
        )
        await linking.refresh_institution_copies_later(
            session=session, actor=actor, institution_id=institution.id
        )
    await session.commit()
    await run_pending(session)
    return institution


async def _identifier_type(session: AsyncSession, code: str) -> IdentifierType:
    identifier_type = await network.identifier_type_by_code(session, code)
    if identifier_type is None:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            f"There is no identifier type {code!r}.",
            ["identifier_type"],
        )
    return identifier_type


async def _set_type(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    type_code: str,
    listed: bool,
    model: type[SearchableIdentifierType] | type[LookupIdentifierType],
    field: str,
    description: str | None = None,
    all_types: bool = False,
) -> Institution:
    """Add (or remove) an identifier type to one of the institution's lists; audited."""
    institution = await network.administered_institution(
        session, actor, institution_code, "change its network settings"
    )
    identifier_type = await _identifier_type(session, type_code)
    row = await session.get(model, (institution.id, identifier_type.id))
    changed = (row is None) == listed
    if listed and row is None:
        row = model(
            institution_id=institution.id,  # type: ignore[arg-type]
            identifier_type_id=identifier_type.id,  # type: ignore[arg-type]
        )
        session.add(row)
    elif not listed and row is not None:
        await _not_last(session, model, institution, identifier_type.code, all_types)
        await session.delete(row)
    if listed and isinstance(row, SearchableIdentifierType):
        row.description = (description or "").strip() or None
    if changed:
        before, after = (None, identifier_type.code) if listed else (identifier_type.code, None)
        await audit.record(
            session=session,
            actor=actor,
            action=f"{'add' if listed else 'remove'}_{model.__tablename__}",
            entity_type="Institution",
            entity_id=institution.id,
            institution_id=institution.id,
            changes={field: {"before": before, "after": after}},
        )
    await session.commit()
    return institution


async def _not_last(
    session: AsyncSession,
    model: type[SearchableIdentifierType] | type[LookupIdentifierType],
    institution: Institution,
    code: str,
    all_types: bool,
) -> None:
    """An empty list means every type: emptying it widens access, so it must be asked for
    (allTypes), never be the side effect of removing one type."""
    if all_types:
        return
    listed = (
        await session.execute(
            select(func.count())
            .select_from(model)
            .where(col(model.institution_id) == institution.id)
        )
    ).scalar_one()
    if listed == 1:
        what = (
            f"other members may find {institution.code}'s patrons"
            if model is SearchableIdentifierType
            else f"{institution.code} looks up other members' patrons"
        )
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            f"{code} is the only identifier type by which {what}: without it the list is "
            "empty, which means every type. Add another type first, or pass allTypes: true "
            "to mean every type.",
            ["all_types"],
        )


async def add_searchable_identifier_type(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    type_code: str,
    description: str | None,
) -> Institution:
    """Let other members find the institution's patrons by this identifier type (only)."""
    return await _set_type(
        session=session,
        actor=actor,
        institution_code=institution_code,
        type_code=type_code,
        listed=True,
        model=SearchableIdentifierType,
        field="searchableIdentifierTypes",
        description=description,
    )


async def remove_searchable_identifier_type(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    type_code: str,
    all_types: bool = False,
) -> Institution:
    return await _set_type(
        session=session,
        actor=actor,
        institution_code=institution_code,
        type_code=type_code,
        listed=False,
        model=SearchableIdentifierType,
        field="searchableIdentifierTypes",
        all_types=all_types,
    )


async def set_lookup_identifier_type(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    type_code: str,
    listed: bool,
    all_types: bool = False,
) -> Institution:
    """Look up other members' patrons by this identifier type (only such types, once any
    is listed), or no longer; the target side of what network search and linking use."""
    return await _set_type(
        session=session,
        actor=actor,
        institution_code=institution_code,
        type_code=type_code,
        listed=listed,
        model=LookupIdentifierType,
        field="lookupIdentifierTypes",
        all_types=all_types,
    )


SETTINGS = {
    "network_search_by_name": "networkSearchByName",
    "network_search_by_username": "networkSearchByUsername",
    "network_search_by_email": "networkSearchByEmail",
    "email_service_enabled": "emailServiceEnabled",
}


async def update_settings(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    network_search_by_name: bool | None,
    email_service_enabled: bool | None,
    network_search_by_username: bool | None = None,
    network_search_by_email: bool | None = None,
) -> Institution:
    """Change an institution's network settings (those given); audited."""
    institution = await network.administered_institution(
        session, actor, institution_code, "change its network settings"
    )
    given = {
        "network_search_by_name": network_search_by_name,
        "network_search_by_username": network_search_by_username,
        "network_search_by_email": network_search_by_email,
        "email_service_enabled": email_service_enabled,
    }
    changes = {}
    for name, value in given.items():
        before = getattr(institution, name)
        if value is not None and value != before:
            changes[SETTINGS[name]] = {"before": before, "after": value}
            setattr(institution, name, value)
    if changes:
        await audit.record(
            session=session,
            actor=actor,
            action="update_institution_settings",
            entity_type="Institution",
            entity_id=institution.id,
            institution_id=institution.id,
            changes=changes,
        )
    await session.commit()
    return institution


PROPAGATION_MODES = ("LIVE", "ON_INTERACTION")


async def set_propagation_mode(*, session: AsyncSession, actor: Actor, mode: str | None) -> str:
    """The network's propagation mode, changed when `mode` is given (operators only)."""
    from app.auth.policy import can_administer_network

    net = await network.get_network(session)
    if net is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, "The network is not set up yet.")
    if mode is None:
        return net.propagation_mode
    wanted = mode.strip().upper()
    require(can_administer_network(actor), actor, "Only network administrators change this.")
    if wanted not in PROPAGATION_MODES:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, f"Use {' or '.join(PROPAGATION_MODES)}, not {mode!r}."
        )
    if wanted != net.propagation_mode:
        await audit.record(
            session=session,
            actor=actor,
            action="set_propagation_mode",
            entity_type="Network",
            entity_id=net.id,
            institution_id=None,
            changes={"propagationMode": {"before": net.propagation_mode, "after": wanted}},
        )
        net.propagation_mode = wanted
    await session.commit()
    return net.propagation_mode
