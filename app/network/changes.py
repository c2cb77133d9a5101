"""Changing the network's structure (NETWORK_ADMIN) and an institution's set-up
(SYSTEM_ADMIN). Codes never change: they are keys in CSV files, API client scopes and SIP
settings. Names, descriptions and settings do; every change is audited.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth.policy import Actor, can_administer_network, require, require_institution_admin
from app.errors import DomainError, ErrorCode, FieldError
from app.network.models import (
    BlockType,
    IdentifierType,
    Institution,
    Library,
    LibraryGroup,
    UserGroup,
)
from app.network.service import (
    BUILTIN_IDENTIFIER_TYPES,
    CONSORTIAL_BLOCK,
    _check_description,
    administered_institution,
    block_type_by_code,
    identifier_type_by_code,
    institution_by_code,
    library_by_code,
    user_group_by_code,
)
from app.network.uses import (
    CODE,
    name_change,
    save,
)
from app.sql import pk, saved_id

# --- Changes -------------------------------------------------------------------------------


async def existing_institution(
    session: AsyncSession, code: str, where: list[str] = CODE
) -> Institution:
    institution = await institution_by_code(session, code)
    if institution is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, f"There is no institution {code!r}.", where)
    return institution


async def update_institution(
    *, session: AsyncSession, actor: Actor, code: str, name: str | None
) -> Institution:
    """Rename a member institution (NETWORK_ADMIN); its settings have their own mutation."""
    require(
        can_administer_network(actor),
        actor,
        "Only a network administrator may change institutions.",
    )
    institution = await existing_institution(session, code)
    errors: list[FieldError] = []
    values = name_change(name, errors)
    if errors:
        raise DomainError(errors)
    await save(session, actor, institution, values, "update_institution", institution.id, {})
    return institution


async def existing_library(session: AsyncSession, code: str, where: list[str] = CODE) -> Library:
    library = await library_by_code(session, code)
    if library is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, f"There is no library {code!r}.", where)
    return library


async def update_library(
    *, session: AsyncSession, actor: Actor, code: str, name: str | None
) -> Library:
    require(
        can_administer_network(actor), actor, "Only a network administrator may change libraries."
    )
    library = await existing_library(session, code)
    errors: list[FieldError] = []
    values = name_change(name, errors)
    if errors:
        raise DomainError(errors)
    await save(session, actor, library, values, "update_library", library.institution_id, {})
    return library


async def existing_identifier_type(session: AsyncSession, code: str) -> IdentifierType:
    identifier_type = await identifier_type_by_code(session, code)
    if identifier_type is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, f"There is no identifier type {code!r}.", CODE)
    return identifier_type


async def update_identifier_type(
    *,
    session: AsyncSession,
    actor: Actor,
    code: str,
    name: str | None,
    network_unique: bool | None,
) -> IdentifierType:
    require(
        can_administer_network(actor),
        actor,
        "Only a network administrator may change identifier types.",
    )
    identifier_type = await existing_identifier_type(session, code)
    errors: list[FieldError] = []
    values = name_change(name, errors)
    if network_unique is not None:
        if identifier_type.code in BUILTIN_IDENTIFIER_TYPES and network_unique:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"{identifier_type.code} is each institution's own: it cannot name one "
                    "person across the network.",
                    ["network_unique"],
                )
            )
        values["network_unique"] = network_unique
    if errors:
        raise DomainError(errors)
    await save(
        session,
        actor,
        identifier_type,
        values,
        "update_identifier_type",
        None,
        {"network_unique": "networkUnique"},
    )
    return identifier_type


async def existing_user_group(
    session: AsyncSession, institution_id: int, code: str, where: list[str] = CODE
) -> UserGroup:
    group = await user_group_by_code(session, institution_id, code)
    if group is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, f"There is no user group {code!r}.", where)
    return group


async def update_user_group(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    code: str,
    name: str | None,
    loan_period_days: int | None,
) -> UserGroup:
    institution_id = saved_id(
        await administered_institution(session, actor, institution_code, "change its user groups")
    )
    group = await existing_user_group(session, institution_id, code)
    errors: list[FieldError] = []
    values = name_change(name, errors)
    if loan_period_days is not None:
        if not 1 <= loan_period_days <= 3650:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    "The loan period is 1 to 3650 days.",
                    ["loan_period_days"],
                )
            )
        values["loan_period_days"] = loan_period_days
    if errors:
        raise DomainError(errors)
    names = {"loan_period_days": "loanPeriodDays"}
    await save(session, actor, group, values, "update_user_group", institution_id, names)
    return group


async def administered_library_group(
    session: AsyncSession, actor: Actor, group_id: int | None, where: list[str]
) -> LibraryGroup:
    group = None if group_id is None else await session.get(LibraryGroup, group_id)
    if group is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, "There is no such library group.", where)
    require_institution_admin(actor, group.institution_id, "change its library groups")
    return group


async def update_library_group(
    *,
    session: AsyncSession,
    actor: Actor,
    group_id: int | None,
    name: str | None,
    description: str | None,
) -> LibraryGroup:
    group = await administered_library_group(session, actor, group_id, ["id"])
    errors: list[FieldError] = []
    values = name_change(name, errors)
    if description is not None:
        values["description"] = _check_description(
            description, 1000, ["description"], errors, required=False
        )
    if "name" in values and values["name"] != group.name:
        twin = (
            await session.execute(
                select(pk(LibraryGroup.id)).where(
                    col(LibraryGroup.institution_id) == group.institution_id,
                    col(LibraryGroup.name) == values["name"],
                )
            )
        ).first()
        if twin is not None:
            errors.append(
                FieldError(
                    ErrorCode.CONFLICT,
                    f"The institution already has a library group {values['name']!r}.",
                    ["name"],
                )
            )
    if errors:
        raise DomainError(errors)
    await save(session, actor, group, values, "update_library_group", group.institution_id, {})
    return group


async def existing_block_type(
    session: AsyncSession, institution_id: int, code: str, where: list[str] = CODE
) -> BlockType:
    block_type = await block_type_by_code(session, institution_id, code)
    if block_type is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, f"There is no block type {code!r}.", where)
    return block_type


async def update_block_type(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    code: str,
    description: str | None,
    network: bool | None,
    blocks_loans: bool | None,
) -> BlockType:
    institution_id = saved_id(
        await administered_institution(session, actor, institution_code, "change its block types")
    )
    block_type = await existing_block_type(session, institution_id, code)
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    if description is not None:
        values["description"] = _check_description(
            description, 500, ["description"], errors, required=True
        )
    if network is not None:
        if block_type.code == CONSORTIAL_BLOCK and not network:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"{CONSORTIAL_BLOCK} carries blocks copied between members: it stays a "
                    "network block.",
                    ["network"],
                )
            )
        values["network"] = network
    if blocks_loans is not None:
        values["blocks_loans"] = blocks_loans
    if errors:
        raise DomainError(errors)
    await save(
        session,
        actor,
        block_type,
        values,
        "update_block_type",
        institution_id,
        {"blocks_loans": "blocksLoans"},
    )
    return block_type
