"""Removing libraries, identifier types and institutions (NETWORK_ADMIN): nothing in use
disappears (see app.network.uses)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes.models import AttributeType
from app.auth.policy import Actor, can_administer_network, require
from app.auth.roles import STAFF_ROLES
from app.db import metadata
from app.errors import DomainError, ErrorCode
from app.linking.models import (
    LinkedAccountRule,
    LookupIdentifierType,
    RestrictedUserGroup,
    SearchableIdentifierType,
    SharedFieldSetting,
)
from app.network.changes import (
    existing_identifier_type,
    existing_institution,
    existing_library,
)
from app.network.models import (
    BlockType,
    Institution,
    Library,
    LibraryGroup,
    PatronValueChoice,
    UserGroup,
)
from app.network.service import (
    BUILTIN_IDENTIFIER_TYPES,
)
from app.network.uses import (
    CODE,
    REPLACE,
    Removal,
    bump_patrons,
    many,
    move_pairs,
    record,
    references,
)
from app.patrons.models import (
    Patron,
    PatronLibraryAccess,
    PatronSystemGroup,
)
from app.sql import saved_id

# --- Removals ------------------------------------------------------------------------------

LIBRARY_USES = {
    "patron.home_library_id": "{n} patrons have {what} as their home library",
    "patron_library_access.library_id": "{n} accounts may log in at {what}",
    "api_client.library_id": "{n} API clients belong to {what}: revoke or move them first",
    "sip_account.library_id": "{n} SIP accounts belong to {what}: delete or move them first",
    "loan.library_id": "{n} loans were made at {what}: a library with loan history stays "
    "(rename it instead)",
    "linked_account_rule.resource_sharing_library_id": "{n} linked account rules use {what} "
    "as their resource sharing library",
    "attribute_type_library_limit.library_id": "{n} attribute types are limited to {what}: "
    "change their libraries first",
    "attribute_type_rule_library.library_id": "{n} attribute types' home-library rules name "
    "{what}: change them first",
}


async def remove_library(
    *, session: AsyncSession, actor: Actor, code: str, replace_with: str | None
) -> str:
    """Remove a library (NETWORK_ADMIN). With a replacement of the same institution, patrons'
    home and login libraries and rules' resource sharing library move to it. Staff login
    rights, API clients, SIP accounts, attribute limits and loan history never move: they
    refuse the removal until someone who holds them decides."""
    require(
        can_administer_network(actor), actor, "Only a network administrator may remove libraries."
    )
    library = await existing_library(session, code)
    library_id = saved_id(library)
    replacement = await _replacement_library(session, library, replace_with)
    removal = Removal(
        f"the library {library.code}", await references(session, "library", library_id)
    )
    staff = (
        await session.execute(
            select(func.count())
            .select_from(PatronLibraryAccess)
            .where(
                col(PatronLibraryAccess.library_id) == library_id,
                col(PatronLibraryAccess.patron_id).in_(
                    select(col(PatronSystemGroup.patron_id)).where(
                        col(PatronSystemGroup.system_group).in_(sorted(STAFF_ROLES))
                    )
                ),
            )
        )
    ).scalar_one()
    if staff:
        removal.take("patron_library_access.library_id")
        removal.refuse(
            f"{many(int(staff), 'staff account', 'staff accounts')} may log in at "
            f"{library.code}: change their login libraries first."
        )
    moved = 0
    if replacement is not None:
        new_id = saved_id(replacement)
        moved = removal.take("patron.home_library_id")
        await bump_patrons(session, col(Patron.home_library_id) == library_id)
        await session.execute(
            update(Patron)
            .where(col(Patron.home_library_id) == library_id)
            .values(home_library_id=new_id)
        )
        if not staff and removal.take("patron_library_access.library_id"):
            await move_pairs(
                session,
                metadata.tables["patron_library_access"],
                "patron_id",
                "library_id",
                library_id,
                new_id,
            )
        if removal.take("linked_account_rule.resource_sharing_library_id"):
            await session.execute(
                update(LinkedAccountRule)
                .where(col(LinkedAccountRule.resource_sharing_library_id) == library_id)
                .values(resource_sharing_library_id=new_id)
            )
    removal.finish(LIBRARY_USES, cascades=["auth_token.library_id"])
    await session.delete(library)
    await record(
        session,
        actor,
        "remove_library",
        "Library",
        library_id,
        library.institution_id,
        {
            "code": {"before": library.code, "after": None},
            **({"replacedBy": replacement.code, "patronsMoved": moved} if replacement else {}),
        },
    )
    await session.commit()
    return library.code


async def _replacement_library(
    session: AsyncSession, library: Library, replace_with: str | None
) -> Library | None:
    if replace_with is None:
        return None
    replacement = await existing_library(session, replace_with, REPLACE)
    if replacement.id == library.id or replacement.institution_id != library.institution_id:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            f"The replacement must be another library of the same institution as {library.code}.",
            REPLACE,
        )
    return replacement


IDENTIFIER_TYPE_USES = {
    "patron_identifier.identifier_type_id": "{n} patron identifiers are of {what}",
}


async def remove_identifier_type(*, session: AsyncSession, actor: Actor, code: str) -> str:
    """Remove an identifier type no patron has a value of (NETWORK_ADMIN). It leaves the
    institutions' searchable and lookup lists, unless it is the last type of such a list:
    an empty list means "every type", so that would widen who finds whom."""
    require(
        can_administer_network(actor),
        actor,
        "Only a network administrator may remove identifier types.",
    )
    identifier_type = await existing_identifier_type(session, code)
    type_id = saved_id(identifier_type)
    if identifier_type.code in BUILTIN_IDENTIFIER_TYPES:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            f"{identifier_type.code} is built in (it is a patron field): it stays.",
            CODE,
        )
    removal = Removal(
        f"the identifier type {identifier_type.code}",
        await references(session, "identifier_type", type_id),
    )
    for model, key, what in (
        (
            SearchableIdentifierType,
            "searchable_identifier_type.identifier_type_id",
            "lets other members find its patrons",
        ),
        (
            LookupIdentifierType,
            "lookup_identifier_type.identifier_type_id",
            "looks up other members' patrons",
        ),
    ):
        removal.take(key)
        for institution in await _last_of_list(session, model, type_id):
            removal.refuse(
                f"{institution} {what} only by {identifier_type.code}: without it that list "
                "would be empty, which means every type. Change the list first."
            )
    removal.finish(IDENTIFIER_TYPE_USES)
    for model in (SearchableIdentifierType, LookupIdentifierType):
        await session.execute(delete(model).where(col(model.identifier_type_id) == type_id))
    await session.delete(identifier_type)
    await record(
        session,
        actor,
        "remove_identifier_type",
        "IdentifierType",
        type_id,
        None,
        {"code": {"before": identifier_type.code, "after": None}},
    )
    await session.commit()
    return identifier_type.code


async def _last_of_list(
    session: AsyncSession,
    model: type[SearchableIdentifierType] | type[LookupIdentifierType],
    type_id: int,
) -> list[str]:
    """Institutions whose list holds only this identifier type."""
    holders = select(col(model.institution_id)).where(col(model.identifier_type_id) == type_id)
    sizes = (
        select(col(model.institution_id), func.count().label("n"))
        .where(col(model.institution_id).in_(holders))
        .group_by(col(model.institution_id))
        .subquery()
    )
    rows = await session.execute(
        select(col(Institution.code))
        .join(sizes, sizes.c.institution_id == col(Institution.id))
        .where(sizes.c.n == 1)
        .order_by(col(Institution.code))
    )
    return list(rows.scalars())


INSTITUTION_USES = {
    "library.institution_id": "{what} has {n} libraries: remove them first",
    "patron.institution_id": "{what} has {n} patron accounts",
    "patron.link_source_institution_id": "{n} linked accounts at other members came from {what}",
    "patron_identifier.institution_id": "{n} patron identifiers belong to {what}",
    "api_client.institution_id": "{what} has {n} API clients",
    "sip_account.institution_id": "{what} has {n} SIP accounts",
    "import_job.institution_id": "{what} has {n} import jobs on record",
    "loan.institution_id": "{what} has {n} loans on record",
}

# The set-up an institution is created with or configures for itself: it goes with it.
INSTITUTION_SETUP: tuple[Any, ...] = (
    RestrictedUserGroup,
    SharedFieldSetting,
    SearchableIdentifierType,
    LookupIdentifierType,
    PatronValueChoice,
    LinkedAccountRule,
    AttributeType,
    LibraryGroup,
    BlockType,
    UserGroup,
)


async def remove_institution(*, session: AsyncSession, actor: Actor, code: str) -> str:
    """Remove a member institution that has no libraries, patrons or credentials left
    (NETWORK_ADMIN); its own set-up (user groups, block types, rules, lists, attribute
    types) goes with it. Other members' rules that name it refuse the removal."""
    require(
        can_administer_network(actor),
        actor,
        "Only a network administrator may remove institutions.",
    )
    institution = await existing_institution(session, code)
    institution_id = saved_id(institution)
    removal = Removal(institution.code, await references(session, "institution", institution_id))
    for model in INSTITUTION_SETUP:
        removal.take(f"{model.__tablename__}.institution_id")
    for rule, owner in await _rules_naming_institution(session, institution):
        removal.refuse(
            f"The linked account rule {rule!r} of {owner} matches source institution "
            f"{institution.code}: change its conditions first."
        )
    removal.finish(
        INSTITUTION_USES,
        cascades=["institution_email_alert.institution_id", "patron_email_flag.institution_id"],
    )
    for model in INSTITUTION_SETUP:
        await session.execute(delete(model).where(col(model.institution_id) == institution_id))
    await session.delete(institution)
    await record(
        session,
        actor,
        "remove_institution",
        "Institution",
        institution_id,
        institution_id,
        {"code": {"before": institution.code, "after": None}},
    )
    await session.commit()
    return institution.code


async def _rules_naming_institution(
    session: AsyncSession, institution: Institution
) -> list[tuple[str, str]]:
    rules = await session.execute(
        select(LinkedAccountRule, col(Institution.code))
        .join(Institution, col(Institution.id) == col(LinkedAccountRule.institution_id))
        .where(col(LinkedAccountRule.institution_id) != institution.id)
    )
    return [
        (rule.name, owner)
        for rule, owner in rules.all()
        if any(
            c["parameter"] == "SOURCE_INSTITUTION" and institution.code in c["values"]
            for c in rule.conditions or []
        )
    ]
