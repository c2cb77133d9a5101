"""Network structure and institution set-up mutations."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import PAYLOAD_ERRORS, UserError, mutate
from app.graphql.network.types import (
    BlockType,
    IdentifierType,
    Institution,
    Library,
    LibraryGroup,
    UserGroup,
)
from app.network import service


@strawberry.input(description="A new member institution.")
class CreateInstitutionInput:
    code: str = strawberry.field(
        description="Network-unique code, e.g. NEKLS (1 to 40 letters, digits, - or _; "
        "stored upper-case); it never changes."
    )
    name: str = strawberry.field(description="Display name.")


@strawberry.input(description="A new library of an institution.")
class CreateLibraryInput:
    institution: str = strawberry.field(description="Code of the institution.")
    code: str = strawberry.field(
        description="Network-unique code, e.g. LANSING (1 to 40 letters, digits, - or _; "
        "stored upper-case); it never changes."
    )
    name: str = strawberry.field(description="Display name.")


@strawberry.input(description="A new network-wide identifier type.")
class CreateIdentifierTypeInput:
    code: str = strawberry.field(
        description="Code, e.g. UNIV_ID (1 to 40 letters, digits, - or _; stored "
        "upper-case); it never changes."
    )
    name: str = strawberry.field(description="Display name.")
    network_unique: bool = strawberry.field(
        default=False,
        description="Values must be unique across the whole network (a consortial ID); "
        "default false.",
    )


@strawberry.input(description="A new user group of an institution.")
class CreateUserGroupInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    code: str = strawberry.field(
        description="Code, unique in the institution, e.g. ADULT (1 to 40 letters, "
        "digits, - or _; stored upper-case)."
    )
    name: str = strawberry.field(description="Display name.")
    loan_period_days: int = strawberry.field(
        default=14, description="Default loan period, in days (1 to 3650); default 14."
    )


@strawberry.input(description="A new library group of an institution.")
class CreateLibraryGroupInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    name: str = strawberry.field(description="Name, unique in the institution, e.g. Teachers.")
    description: str | None = strawberry.field(
        default=None, description="What the group is for; optional."
    )


@strawberry.input(description="A new block type of an institution.")
class CreateBlockTypeInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    code: str = strawberry.field(
        description="Code, unique in the institution (1 to 40 letters, digits, - or _; "
        "stored upper-case)."
    )
    description: str = strawberry.field(description="What the block means.")
    network: bool = strawberry.field(
        default=False,
        description="Copied to linked accounts by rules with copyNetworkBlocks; default false.",
    )
    blocks_loans: bool = strawberry.field(
        default=True, description="Patrons with this block cannot borrow; default true."
    )


@strawberry.type(description="The new institution, or what went wrong.")
class CreateInstitutionPayload:
    institution: Institution | None = strawberry.field(
        default=None, description="The institution as created; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type(description="The new library, or what went wrong.")
class CreateLibraryPayload:
    library: Library | None = strawberry.field(
        default=None, description="The library as created; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type(description="The new identifier type, or what went wrong.")
class CreateIdentifierTypePayload:
    identifier_type: IdentifierType | None = strawberry.field(
        default=None, description="The identifier type as created; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type(description="The new user group, or what went wrong.")
class CreateUserGroupPayload:
    user_group: UserGroup | None = strawberry.field(
        default=None, description="The user group as created; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type(description="The new library group, or what went wrong.")
class CreateLibraryGroupPayload:
    library_group: LibraryGroup | None = strawberry.field(
        default=None, description="The library group as created; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type(description="The new block type, or what went wrong.")
class CreateBlockTypePayload:
    block_type: BlockType | None = strawberry.field(
        default=None, description="The block type as created; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type
class NetworkMutations:
    @typed.mutation(description="Add a member institution (NETWORK_ADMIN).")
    async def create_institution(
        self,
        info: Info[Context, None],
        input: Annotated[
            CreateInstitutionInput, strawberry.argument(description="The institution to add.")
        ],
    ) -> CreateInstitutionPayload:
        actor = info.context.actor
        return await mutate(
            info,
            lambda s: service.create_institution(
                session=s, actor=actor, code=input.code, name=input.name
            ),
            lambda r: CreateInstitutionPayload(institution=Institution.of(r)),
            CreateInstitutionPayload,
        )

    @typed.mutation(description="Add a library to an institution (NETWORK_ADMIN).")
    async def create_library(
        self,
        info: Info[Context, None],
        input: Annotated[
            CreateLibraryInput, strawberry.argument(description="The library to add.")
        ],
    ) -> CreateLibraryPayload:
        actor = info.context.actor
        return await mutate(
            info,
            lambda s: service.create_library(
                session=s,
                actor=actor,
                institution_code=input.institution,
                code=input.code,
                name=input.name,
            ),
            lambda r: CreateLibraryPayload(library=Library.of(r)),
            CreateLibraryPayload,
        )

    @typed.mutation(description="Add a network-wide identifier type (NETWORK_ADMIN).")
    async def create_identifier_type(
        self,
        info: Info[Context, None],
        input: Annotated[
            CreateIdentifierTypeInput,
            strawberry.argument(description="The identifier type to add."),
        ],
    ) -> CreateIdentifierTypePayload:
        actor = info.context.actor
        return await mutate(
            info,
            lambda s: service.create_identifier_type(
                session=s,
                actor=actor,
                code=input.code,
                name=input.name,
                network_unique=input.network_unique,
            ),
            lambda r: CreateIdentifierTypePayload(identifier_type=IdentifierType(row=r)),
            CreateIdentifierTypePayload,
        )

    @typed.mutation(description="Add a user group to an institution (SYSTEM_ADMIN).")
    async def create_user_group(
        self,
        info: Info[Context, None],
        input: Annotated[
            CreateUserGroupInput, strawberry.argument(description="The user group to add.")
        ],
    ) -> CreateUserGroupPayload:
        actor = info.context.actor
        return await mutate(
            info,
            lambda s: service.create_user_group(
                session=s,
                actor=actor,
                institution_code=input.institution,
                code=input.code,
                name=input.name,
                loan_period_days=input.loan_period_days,
            ),
            lambda r: CreateUserGroupPayload(user_group=UserGroup.of(r)),
            CreateUserGroupPayload,
        )

    @typed.mutation(description="Add a library group to an institution (SYSTEM_ADMIN).")
    async def create_library_group(
        self,
        info: Info[Context, None],
        input: Annotated[
            CreateLibraryGroupInput, strawberry.argument(description="The library group to add.")
        ],
    ) -> CreateLibraryGroupPayload:
        actor = info.context.actor
        return await mutate(
            info,
            lambda s: service.create_library_group(
                session=s,
                actor=actor,
                institution_code=input.institution,
                name=input.name,
                description=input.description,
            ),
            lambda r: CreateLibraryGroupPayload(library_group=LibraryGroup.of(r)),
            CreateLibraryGroupPayload,
        )

    @typed.mutation(description="Add a block type to an institution (SYSTEM_ADMIN).")
    async def create_block_type(
        self,
        info: Info[Context, None],
        input: Annotated[
            CreateBlockTypeInput, strawberry.argument(description="The block type to add.")
        ],
    ) -> CreateBlockTypePayload:
        actor = info.context.actor
        return await mutate(
            info,
            lambda s: service.create_block_type(
                session=s,
                actor=actor,
                institution_code=input.institution,
                code=input.code,
                description=input.description,
                network=input.network,
                blocks_loans=input.blocks_loans,
            ),
            lambda r: CreateBlockTypePayload(block_type=BlockType(row=r)),
            CreateBlockTypePayload,
        )
