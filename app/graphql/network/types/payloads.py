"""Payloads of the mutations that create, change and remove the network's structure and an
institution's set-up."""

from __future__ import annotations

import strawberry

from app.graphql.core import PAYLOAD_ERRORS, UserError
from app.graphql.network.types.structure import (
    BlockType,
    IdentifierType,
    Institution,
    Library,
    LibraryGroup,
    UserGroup,
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
