"""Network structure and institution set-up mutations."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import UserError, mutate
from app.graphql.network.types import (
    BlockType,
    IdentifierType,
    Institution,
    Library,
    LibraryGroup,
    UserGroup,
)
from app.network import service


@strawberry.input
class CreateInstitutionInput:
    code: str
    name: str


@strawberry.input
class CreateLibraryInput:
    institution: str
    code: str
    name: str


@strawberry.input
class CreateIdentifierTypeInput:
    code: str
    name: str
    network_unique: bool = False


@strawberry.input
class CreateUserGroupInput:
    institution: str
    code: str
    name: str
    loan_period_days: int = 14


@strawberry.input
class CreateLibraryGroupInput:
    institution: str
    name: str
    description: str | None = None


@strawberry.input
class CreateBlockTypeInput:
    institution: str
    code: str
    description: str
    network: bool = False
    blocks_loans: bool = True


@strawberry.type
class CreateInstitutionPayload:
    institution: Institution | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CreateLibraryPayload:
    library: Library | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CreateIdentifierTypePayload:
    identifier_type: IdentifierType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CreateUserGroupPayload:
    user_group: UserGroup | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CreateLibraryGroupPayload:
    library_group: LibraryGroup | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CreateBlockTypePayload:
    block_type: BlockType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class NetworkMutations:
    @typed.mutation(description="Add a member institution (NETWORK_ADMIN).")
    async def create_institution(
        self, info: Info[Context, None], input: CreateInstitutionInput
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
        self, info: Info[Context, None], input: CreateLibraryInput
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
        self, info: Info[Context, None], input: CreateIdentifierTypeInput
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
        self, info: Info[Context, None], input: CreateUserGroupInput
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
        self, info: Info[Context, None], input: CreateLibraryGroupInput
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
        self, info: Info[Context, None], input: CreateBlockTypeInput
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
