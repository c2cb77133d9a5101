"""Changing and removing the network's structure and an institution's set-up."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import UserError, mutate
from app.graphql.ids import decode_pk, encode_id
from app.graphql.network.types import (
    BlockType,
    IdentifierType,
    Institution,
    Library,
    LibraryGroup,
    UserGroup,
)
from app.network import changes, removals, setup_removals

REPLACE_WITH = "Move what uses it to this one (same institution) before removing it."


@strawberry.input(description="What to change; fields left out keep their value.")
class UpdateInstitutionInput:
    code: str = strawberry.field(description="The institution; codes never change.")
    name: str | None = None


@strawberry.input(description="What to change; fields left out keep their value.")
class UpdateLibraryInput:
    code: str = strawberry.field(description="The library; codes never change.")
    name: str | None = None


@strawberry.input(description="What to change; fields left out keep their value.")
class UpdateIdentifierTypeInput:
    code: str = strawberry.field(description="The identifier type; codes never change.")
    name: str | None = None
    network_unique: bool | None = None


@strawberry.input(description="What to change; fields left out keep their value.")
class UpdateUserGroupInput:
    institution: str
    code: str = strawberry.field(description="The user group; codes never change.")
    name: str | None = None
    loan_period_days: int | None = None


@strawberry.input(description="What to change; fields left out keep their value.")
class UpdateLibraryGroupInput:
    id: strawberry.ID
    name: str | None = None
    description: str | None = None


@strawberry.input(description="What to change; fields left out keep their value.")
class UpdateBlockTypeInput:
    institution: str
    code: str = strawberry.field(description="The block type; codes never change.")
    description: str | None = None
    network: bool | None = None
    blocks_loans: bool | None = None


@strawberry.input
class RemoveInstitutionInput:
    code: str


@strawberry.input
class RemoveLibraryInput:
    code: str
    replace_with: str | None = strawberry.field(default=None, description=REPLACE_WITH)


@strawberry.input
class RemoveIdentifierTypeInput:
    code: str


@strawberry.input
class RemoveUserGroupInput:
    institution: str
    code: str
    replace_with: str | None = strawberry.field(default=None, description=REPLACE_WITH)


@strawberry.input
class RemoveLibraryGroupInput:
    id: strawberry.ID
    replace_with: strawberry.ID | None = strawberry.field(default=None, description=REPLACE_WITH)


@strawberry.input
class RemoveBlockTypeInput:
    institution: str
    code: str
    replace_with: str | None = strawberry.field(default=None, description=REPLACE_WITH)


@strawberry.type
class UpdateInstitutionPayload:
    institution: Institution | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateLibraryPayload:
    library: Library | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateIdentifierTypePayload:
    identifier_type: IdentifierType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateUserGroupPayload:
    user_group: UserGroup | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateLibraryGroupPayload:
    library_group: LibraryGroup | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateBlockTypePayload:
    block_type: BlockType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="What was removed, or why not (and what still uses it).")
class RemovalPayload:
    removed_code: str | None = strawberry.field(
        default=None, description="The code of what was removed."
    )
    removed_id: strawberry.ID | None = strawberry.field(
        default=None, description="The id of what was removed, where it has one."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


def _removed(code: str) -> RemovalPayload:
    return RemovalPayload(removed_code=code)


@strawberry.type
class NetworkAdminMutations:
    @typed.mutation(description="Rename an institution (NETWORK_ADMIN).")
    async def update_institution(
        self, info: Info[Context, None], input: UpdateInstitutionInput
    ) -> UpdateInstitutionPayload:
        actor = info.context.actor
        return await mutate(
            info,
            lambda s: changes.update_institution(
                session=s, actor=actor, code=input.code, name=input.name
            ),
            lambda r: UpdateInstitutionPayload(institution=Institution.of(r)),
            UpdateInstitutionPayload,
        )

    @typed.mutation(description="Rename a library (NETWORK_ADMIN).")
    async def update_library(
        self, info: Info[Context, None], input: UpdateLibraryInput
    ) -> UpdateLibraryPayload:
        actor = info.context.actor
        return await mutate(
            info,
            lambda s: changes.update_library(
                session=s, actor=actor, code=input.code, name=input.name
            ),
            lambda r: UpdateLibraryPayload(library=Library.of(r)),
            UpdateLibraryPayload,
        )

    @typed.mutation(description="Change an identifier type's name or uniqueness (NETWORK_ADMIN).")
    async def update_identifier_type(
        self, info: Info[Context, None], input: UpdateIdentifierTypeInput
    ) -> UpdateIdentifierTypePayload:
        actor = info.context.actor
        return await mutate(
            info,
            lambda s: changes.update_identifier_type(
                session=s,
                actor=actor,
                code=input.code,
                name=input.name,
                network_unique=input.network_unique,
            ),
            lambda r: UpdateIdentifierTypePayload(identifier_type=IdentifierType(row=r)),
            UpdateIdentifierTypePayload,
        )

    @typed.mutation(description="Change a user group's name or loan period (SYSTEM_ADMIN).")
    async def update_user_group(
        self, info: Info[Context, None], input: UpdateUserGroupInput
    ) -> UpdateUserGroupPayload:
        actor = info.context.actor
        return await mutate(
            info,
            lambda s: changes.update_user_group(
                session=s,
                actor=actor,
                institution_code=input.institution,
                code=input.code,
                name=input.name,
                loan_period_days=input.loan_period_days,
            ),
            lambda r: UpdateUserGroupPayload(user_group=UserGroup.of(r)),
            UpdateUserGroupPayload,
        )

    @typed.mutation(description="Change a library group's name or description (SYSTEM_ADMIN).")
    async def update_library_group(
        self, info: Info[Context, None], input: UpdateLibraryGroupInput
    ) -> UpdateLibraryGroupPayload:
        actor = info.context.actor
        group_id = decode_pk(input.id, "LibraryGroup")
        return await mutate(
            info,
            lambda s: changes.update_library_group(
                session=s,
                actor=actor,
                group_id=group_id,
                name=input.name,
                description=input.description,
            ),
            lambda r: UpdateLibraryGroupPayload(library_group=LibraryGroup.of(r)),
            UpdateLibraryGroupPayload,
        )

    @typed.mutation(description="Change a block type's description or behaviour (SYSTEM_ADMIN).")
    async def update_block_type(
        self, info: Info[Context, None], input: UpdateBlockTypeInput
    ) -> UpdateBlockTypePayload:
        actor = info.context.actor
        return await mutate(
            info,
            lambda s: changes.update_block_type(
                session=s,
                actor=actor,
                institution_code=input.institution,
                code=input.code,
                description=input.description,
                network=input.network,
                blocks_loans=input.blocks_loans,
            ),
            lambda r: UpdateBlockTypePayload(block_type=BlockType(row=r)),
            UpdateBlockTypePayload,
        )

    @typed.mutation(
        description="Remove an institution with no libraries, patrons or credentials left; "
        "its own set-up goes with it (NETWORK_ADMIN)."
    )
    async def remove_institution(
        self, info: Info[Context, None], input: RemoveInstitutionInput
    ) -> RemovalPayload:
        actor = info.context.actor
        return await mutate(
            info,
            lambda s: removals.remove_institution(session=s, actor=actor, code=input.code),
            _removed,
            RemovalPayload,
        )

    @typed.mutation(
        description="Remove a library nothing uses, or move its patrons to replaceWith first "
        "(NETWORK_ADMIN)."
    )
    async def remove_library(
        self, info: Info[Context, None], input: RemoveLibraryInput
    ) -> RemovalPayload:
        actor = info.context.actor
        return await mutate(
            info,
            lambda s: removals.remove_library(
                session=s, actor=actor, code=input.code, replace_with=input.replace_with
            ),
            _removed,
            RemovalPayload,
        )

    @typed.mutation(description="Remove an identifier type no patron has (NETWORK_ADMIN).")
    async def remove_identifier_type(
        self, info: Info[Context, None], input: RemoveIdentifierTypeInput
    ) -> RemovalPayload:
        actor = info.context.actor
        return await mutate(
            info,
            lambda s: removals.remove_identifier_type(session=s, actor=actor, code=input.code),
            _removed,
            RemovalPayload,
        )

    @typed.mutation(
        description="Remove a user group no patron has, or move its patrons to replaceWith "
        "first (SYSTEM_ADMIN)."
    )
    async def remove_user_group(
        self, info: Info[Context, None], input: RemoveUserGroupInput
    ) -> RemovalPayload:
        actor = info.context.actor
        return await mutate(
            info,
            lambda s: setup_removals.remove_user_group(
                session=s,
                actor=actor,
                institution_code=input.institution,
                code=input.code,
                replace_with=input.replace_with,
            ),
            _removed,
            RemovalPayload,
        )

    @typed.mutation(
        description="Remove a library group with no members, or move them to replaceWith "
        "first (SYSTEM_ADMIN)."
    )
    async def remove_library_group(
        self, info: Info[Context, None], input: RemoveLibraryGroupInput
    ) -> RemovalPayload:
        actor = info.context.actor
        group_id = decode_pk(input.id, "LibraryGroup")
        given = input.replace_with is not None
        replacement = decode_pk(input.replace_with, "LibraryGroup") if input.replace_with else None
        return await mutate(
            info,
            lambda s: setup_removals.remove_library_group(
                session=s,
                actor=actor,
                group_id=group_id,
                replace_with=replacement,
                replace_given=given,
            ),
            lambda r: RemovalPayload(removed_id=strawberry.ID(encode_id("LibraryGroup", r))),
            RemovalPayload,
        )

    @typed.mutation(
        description="Remove a block type no block has, or move its blocks to replaceWith "
        "first (SYSTEM_ADMIN)."
    )
    async def remove_block_type(
        self, info: Info[Context, None], input: RemoveBlockTypeInput
    ) -> RemovalPayload:
        actor = info.context.actor
        return await mutate(
            info,
            lambda s: setup_removals.remove_block_type(
                session=s,
                actor=actor,
                institution_code=input.institution,
                code=input.code,
                replace_with=input.replace_with,
            ),
            _removed,
            RemovalPayload,
        )
