"""Changing and removing the network's structure and an institution's set-up."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import PAYLOAD_ERRORS, UserError, mutate
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
    name: str | None = strawberry.field(default=None, description="New display name.")


@strawberry.input(description="What to change; fields left out keep their value.")
class UpdateLibraryInput:
    code: str = strawberry.field(description="The library; codes never change.")
    name: str | None = strawberry.field(default=None, description="New display name.")


@strawberry.input(description="What to change; fields left out keep their value.")
class UpdateIdentifierTypeInput:
    code: str = strawberry.field(description="The identifier type; codes never change.")
    name: str | None = strawberry.field(default=None, description="New display name.")
    network_unique: bool | None = strawberry.field(
        default=None,
        description="Values must be unique across the whole network (a consortial ID).",
    )


@strawberry.input(description="What to change; fields left out keep their value.")
class UpdateUserGroupInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    code: str = strawberry.field(description="The user group; codes never change.")
    name: str | None = strawberry.field(default=None, description="New display name.")
    loan_period_days: int | None = strawberry.field(
        default=None, description="New default loan period, in days (1 to 3650)."
    )


@strawberry.input(description="What to change; fields left out keep their value.")
class UpdateLibraryGroupInput:
    id: strawberry.ID = strawberry.field(description="Id of the library group.")
    name: str | None = strawberry.field(
        default=None, description="New name, unique in the institution."
    )
    description: str | None = strawberry.field(
        default=None, description="What the group is for; an empty string clears it."
    )


@strawberry.input(description="What to change; fields left out keep their value.")
class UpdateBlockTypeInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    code: str = strawberry.field(description="The block type; codes never change.")
    description: str | None = strawberry.field(default=None, description="What the block means.")
    network: bool | None = strawberry.field(
        default=None, description="Copied to linked accounts by rules with copyNetworkBlocks."
    )
    blocks_loans: bool | None = strawberry.field(
        default=None, description="Patrons with this block cannot borrow."
    )


@strawberry.input(description="An institution to remove.")
class RemoveInstitutionInput:
    code: str = strawberry.field(description="Code of the institution.")


@strawberry.input(description="A library to remove.")
class RemoveLibraryInput:
    code: str = strawberry.field(description="Code of the library.")
    replace_with: str | None = strawberry.field(default=None, description=REPLACE_WITH)


@strawberry.input(description="An identifier type to remove.")
class RemoveIdentifierTypeInput:
    code: str = strawberry.field(description="Code of the identifier type.")


@strawberry.input(description="A user group to remove.")
class RemoveUserGroupInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    code: str = strawberry.field(description="Code of the user group.")
    replace_with: str | None = strawberry.field(default=None, description=REPLACE_WITH)


@strawberry.input(description="A library group to remove.")
class RemoveLibraryGroupInput:
    id: strawberry.ID = strawberry.field(description="Id of the library group.")
    replace_with: strawberry.ID | None = strawberry.field(default=None, description=REPLACE_WITH)


@strawberry.input(description="A block type to remove.")
class RemoveBlockTypeInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    code: str = strawberry.field(description="Code of the block type.")
    replace_with: str | None = strawberry.field(default=None, description=REPLACE_WITH)


@strawberry.type(description="The institution after the change, or what went wrong.")
class UpdateInstitutionPayload:
    institution: Institution | None = strawberry.field(
        default=None, description="The institution as saved; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type(description="The library after the change, or what went wrong.")
class UpdateLibraryPayload:
    library: Library | None = strawberry.field(
        default=None, description="The library as saved; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type(description="The identifier type after the change, or what went wrong.")
class UpdateIdentifierTypePayload:
    identifier_type: IdentifierType | None = strawberry.field(
        default=None, description="The identifier type as saved; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type(description="The user group after the change, or what went wrong.")
class UpdateUserGroupPayload:
    user_group: UserGroup | None = strawberry.field(
        default=None, description="The user group as saved; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type(description="The library group after the change, or what went wrong.")
class UpdateLibraryGroupPayload:
    library_group: LibraryGroup | None = strawberry.field(
        default=None, description="The library group as saved; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type(description="The block type after the change, or what went wrong.")
class UpdateBlockTypePayload:
    block_type: BlockType | None = strawberry.field(
        default=None, description="The block type as saved; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type(description="What was removed, or why not (and what still uses it).")
class RemovalPayload:
    removed_code: str | None = strawberry.field(
        default=None, description="The code of what was removed."
    )
    removed_id: strawberry.ID | None = strawberry.field(
        default=None, description="The id of what was removed, where it has one."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


def _removed(code: str) -> RemovalPayload:
    return RemovalPayload(removed_code=code)


@strawberry.type
class NetworkAdminMutations:
    @typed.mutation(description="Rename an institution (NETWORK_ADMIN).")
    async def update_institution(
        self,
        info: Info[Context, None],
        input: Annotated[
            UpdateInstitutionInput,
            strawberry.argument(description="The institution and its new name."),
        ],
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
        self,
        info: Info[Context, None],
        input: Annotated[
            UpdateLibraryInput, strawberry.argument(description="The library and its new name.")
        ],
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
        self,
        info: Info[Context, None],
        input: Annotated[
            UpdateIdentifierTypeInput,
            strawberry.argument(description="The identifier type and what to change."),
        ],
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
        self,
        info: Info[Context, None],
        input: Annotated[
            UpdateUserGroupInput,
            strawberry.argument(description="The user group and what to change."),
        ],
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
        self,
        info: Info[Context, None],
        input: Annotated[
            UpdateLibraryGroupInput,
            strawberry.argument(description="The library group and what to change."),
        ],
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
        self,
        info: Info[Context, None],
        input: Annotated[
            UpdateBlockTypeInput,
            strawberry.argument(description="The block type and what to change."),
        ],
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
        self,
        info: Info[Context, None],
        input: Annotated[
            RemoveInstitutionInput, strawberry.argument(description="The institution to remove.")
        ],
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
        self,
        info: Info[Context, None],
        input: Annotated[
            RemoveLibraryInput,
            strawberry.argument(
                description="The library to remove, and where to move its patrons."
            ),
        ],
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
        self,
        info: Info[Context, None],
        input: Annotated[
            RemoveIdentifierTypeInput,
            strawberry.argument(description="The identifier type to remove."),
        ],
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
        self,
        info: Info[Context, None],
        input: Annotated[
            RemoveUserGroupInput,
            strawberry.argument(
                description="The user group to remove, and where to move its patrons."
            ),
        ],
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
        self,
        info: Info[Context, None],
        input: Annotated[
            RemoveLibraryGroupInput,
            strawberry.argument(
                description="The library group to remove, and where to move its members."
            ),
        ],
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
        self,
        info: Info[Context, None],
        input: Annotated[
            RemoveBlockTypeInput,
            strawberry.argument(
                description="The block type to remove, and where to move its blocks."
            ),
        ],
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
