"""Mutations of the network's structure, an institution's set-up and its lists of allowed values."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import mutate
from app.graphql.ids import decode_pk, encode_id
from app.graphql.imports.types import ImportProblem
from app.graphql.network.inputs import (
    AddPatronValueChoiceInput,
    CreateBlockTypeInput,
    CreateIdentifierTypeInput,
    CreateInstitutionInput,
    CreateLibraryGroupInput,
    CreateLibraryInput,
    CreateUserGroupInput,
    ImportPatronValueChoicesInput,
    RemoveBlockTypeInput,
    RemoveIdentifierTypeInput,
    RemoveInstitutionInput,
    RemoveLibraryGroupInput,
    RemoveLibraryInput,
    RemovePatronValueChoiceInput,
    RemoveUserGroupInput,
    UpdateBlockTypeInput,
    UpdateIdentifierTypeInput,
    UpdateInstitutionInput,
    UpdateLibraryGroupInput,
    UpdateLibraryInput,
    UpdateUserGroupInput,
)
from app.graphql.network.types import (
    AddPatronValueChoicePayload,
    BlockType,
    CreateBlockTypePayload,
    CreateIdentifierTypePayload,
    CreateInstitutionPayload,
    CreateLibraryGroupPayload,
    CreateLibraryPayload,
    CreateUserGroupPayload,
    IdentifierType,
    ImportPatronValueChoicesPayload,
    Institution,
    Library,
    LibraryGroup,
    PatronValueChoice,
    RemovalPayload,
    RemovePatronValueChoicePayload,
    UpdateBlockTypePayload,
    UpdateIdentifierTypePayload,
    UpdateInstitutionPayload,
    UpdateLibraryGroupPayload,
    UpdateLibraryPayload,
    UpdateUserGroupPayload,
    UserGroup,
)
from app.graphql.uploads import read_upload
from app.imports import choices as choice_imports
from app.network import changes, choices, models, removals, service, setup_removals
from app.network.choice_lists import ChoiceKind


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


def _imported(result: choice_imports.ChoiceImportResult) -> ImportPatronValueChoicesPayload:
    return ImportPatronValueChoicesPayload(
        added=result.added,
        updated=result.updated,
        unchanged=result.unchanged,
        written=result.written,
        problems=[ImportProblem(where=w, code=c, message=m) for w, c, m in result.problems],
    )


@strawberry.type
class PatronValueChoiceMutations:
    @typed.mutation(
        description="Allow a cohort or form class in an institution (SYSTEM_ADMIN). Once a "
        "field has a list, patrons take only listed values there."
    )
    async def add_patron_value_choice(
        self,
        info: Info[Context, None],
        input: Annotated[
            AddPatronValueChoiceInput, strawberry.argument(description="The value to add.")
        ],
    ) -> AddPatronValueChoicePayload:
        actor = info.context.actor

        async def action(
            session: AsyncSession,
        ) -> tuple[models.PatronValueChoice, models.Institution]:
            choice = await choices.add_choice(
                session=session,
                actor=actor,
                institution_code=input.institution,
                kind=ChoiceKind[input.kind.name],
                value=input.value,
                description=input.description,
            )
            institution = await session.get(models.Institution, choice.institution_id)
            assert institution is not None
            return choice, institution

        return await mutate(
            info,
            action,
            lambda r: AddPatronValueChoicePayload(
                choice=PatronValueChoice(row=r[0]), institution=Institution.of(r[1])
            ),
            AddPatronValueChoicePayload,
        )

    @typed.mutation(
        description="Remove a cohort or form class from an institution's list (SYSTEM_ADMIN): "
        "refused while patrons hold it, unless replaceWith moves them to another listed value. "
        "An empty list means free text again."
    )
    async def remove_patron_value_choice(
        self,
        info: Info[Context, None],
        input: Annotated[
            RemovePatronValueChoiceInput,
            strawberry.argument(description="The value to remove, and where its patrons go."),
        ],
    ) -> RemovePatronValueChoicePayload:
        actor = info.context.actor
        return await mutate(
            info,
            lambda s: choices.remove_choice(
                session=s,
                actor=actor,
                institution_code=input.institution,
                kind=ChoiceKind[input.kind.name],
                value=input.value,
                replace_with=input.replace_with,
            ),
            lambda r: RemovePatronValueChoicePayload(
                removed_value=r.value,
                patrons_moved=r.patrons_moved,
                institution=Institution.of(r.institution),
            ),
            RemovePatronValueChoicePayload,
        )

    @typed.mutation(
        description="Add cohorts and form classes to an institution's lists from CSV "
        "(SYSTEM_ADMIN); listed values keep their spelling and take a given description."
    )
    async def import_patron_value_choices(
        self,
        info: Info[Context, None],
        input: Annotated[
            ImportPatronValueChoicesInput,
            strawberry.argument(description="The institution and the file."),
        ],
    ) -> ImportPatronValueChoicesPayload:
        ctx = info.context

        async def action(session: AsyncSession) -> choice_imports.ChoiceImportResult:
            content = await read_upload(input.file, ctx.settings.max_upload_bytes)
            return await choice_imports.import_choices(
                session=session,
                actor=ctx.actor,
                institution_code=input.institution,
                content=content,
                dry_run=input.dry_run,
            )

        return await mutate(info, action, _imported, ImportPatronValueChoicesPayload)


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
