"""Mutations of the network's structure, an institution's set-up and its lists of allowed values."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.graphql.context import Context
from app.graphql.core import mutation
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
from app.graphql.uploads import reading_file
from app.imports import choices as choice_imports
from app.network import changes, choices, models, removals, service, setup_removals
from app.network.choice_lists import ChoiceKind


@strawberry.type
class NetworkMutations:
    create_institution = mutation(
        "Add a member institution (NETWORK_ADMIN).",
        input=(CreateInstitutionInput, "The institution to add."),
        run=lambda s, ctx, input: service.create_institution(
            session=s, actor=ctx.actor, code=input.code, name=input.name
        ),
        answer=lambda r: CreateInstitutionPayload(institution=Institution.of(r)),
        payload=CreateInstitutionPayload,
    )

    create_library = mutation(
        "Add a library to an institution (NETWORK_ADMIN).",
        input=(CreateLibraryInput, "The library to add."),
        run=lambda s, ctx, input: service.create_library(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            code=input.code,
            name=input.name,
        ),
        answer=lambda r: CreateLibraryPayload(library=Library.of(r)),
        payload=CreateLibraryPayload,
    )

    create_identifier_type = mutation(
        "Add a network-wide identifier type (NETWORK_ADMIN).",
        input=(CreateIdentifierTypeInput, "The identifier type to add."),
        run=lambda s, ctx, input: service.create_identifier_type(
            session=s,
            actor=ctx.actor,
            code=input.code,
            name=input.name,
            network_unique=input.network_unique,
        ),
        answer=lambda r: CreateIdentifierTypePayload(identifier_type=IdentifierType(row=r)),
        payload=CreateIdentifierTypePayload,
    )

    create_user_group = mutation(
        "Add a user group to an institution (SYSTEM_ADMIN).",
        input=(CreateUserGroupInput, "The user group to add."),
        run=lambda s, ctx, input: service.create_user_group(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            code=input.code,
            name=input.name,
            loan_period_days=input.loan_period_days,
        ),
        answer=lambda r: CreateUserGroupPayload(user_group=UserGroup.of(r)),
        payload=CreateUserGroupPayload,
    )

    create_library_group = mutation(
        "Add a library group to an institution (SYSTEM_ADMIN).",
        input=(CreateLibraryGroupInput, "The library group to add."),
        run=lambda s, ctx, input: service.create_library_group(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            name=input.name,
            description=input.description,
        ),
        answer=lambda r: CreateLibraryGroupPayload(library_group=LibraryGroup.of(r)),
        payload=CreateLibraryGroupPayload,
    )

    create_block_type = mutation(
        "Add a block type to an institution (SYSTEM_ADMIN).",
        input=(CreateBlockTypeInput, "The block type to add."),
        run=lambda s, ctx, input: service.create_block_type(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            code=input.code,
            description=input.description,
            network=input.network,
            blocks_loans=input.blocks_loans,
        ),
        answer=lambda r: CreateBlockTypePayload(block_type=BlockType(row=r)),
        payload=CreateBlockTypePayload,
    )


def _imported(result: choice_imports.ChoiceImportResult) -> ImportPatronValueChoicesPayload:
    return ImportPatronValueChoicesPayload(
        added=result.added,
        updated=result.updated,
        unchanged=result.unchanged,
        written=result.written,
        problems=[ImportProblem(where=w, code=c, message=m) for w, c, m in result.problems],
    )


async def _add_choice(
    session: AsyncSession, ctx: Context, input: AddPatronValueChoiceInput
) -> tuple[models.PatronValueChoice, models.Institution]:
    choice = await choices.add_choice(
        session=session,
        actor=ctx.actor,
        institution_code=input.institution,
        kind=ChoiceKind[input.kind.name],
        value=input.value,
        description=input.description,
    )
    institution = await session.get(models.Institution, choice.institution_id)
    assert institution is not None
    return choice, institution


@strawberry.type
class PatronValueChoiceMutations:
    add_patron_value_choice = mutation(
        "Allow a cohort or form class in an institution (SYSTEM_ADMIN). Once a "
        "field has a list, patrons take only listed values there.",
        input=(AddPatronValueChoiceInput, "The value to add."),
        run=_add_choice,
        answer=lambda r: AddPatronValueChoicePayload(
            choice=PatronValueChoice(row=r[0]), institution=Institution.of(r[1])
        ),
        payload=AddPatronValueChoicePayload,
    )

    remove_patron_value_choice = mutation(
        "Remove a cohort or form class from an institution's list (SYSTEM_ADMIN): "
        "refused while patrons hold it, unless replaceWith moves them to another listed value. "
        "An empty list means free text again.",
        input=(RemovePatronValueChoiceInput, "The value to remove, and where its patrons go."),
        run=lambda s, ctx, input: choices.remove_choice(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            kind=ChoiceKind[input.kind.name],
            value=input.value,
            replace_with=input.replace_with,
        ),
        answer=lambda r: RemovePatronValueChoicePayload(
            removed_value=r.value,
            patrons_moved=r.patrons_moved,
            institution=Institution.of(r.institution),
        ),
        payload=RemovePatronValueChoicePayload,
    )

    import_patron_value_choices = mutation(
        "Add cohorts and form classes to an institution's lists from CSV "
        "(SYSTEM_ADMIN); listed values keep their spelling and take a given description.",
        input=(ImportPatronValueChoicesInput, "The institution and the file."),
        run=reading_file(
            lambda s, ctx, input, content: choice_imports.import_choices(
                session=s,
                actor=ctx.actor,
                institution_code=input.institution,
                content=content,
                dry_run=input.dry_run,
            )
        ),
        answer=_imported,
        payload=ImportPatronValueChoicesPayload,
    )


def _removed(code: str) -> RemovalPayload:
    return RemovalPayload(removed_code=code)


@strawberry.type
class NetworkAdminMutations:
    update_institution = mutation(
        "Rename an institution (NETWORK_ADMIN).",
        input=(UpdateInstitutionInput, "The institution and its new name."),
        run=lambda s, ctx, input: changes.update_institution(
            session=s, actor=ctx.actor, code=input.code, name=input.name
        ),
        answer=lambda r: UpdateInstitutionPayload(institution=Institution.of(r)),
        payload=UpdateInstitutionPayload,
    )

    update_library = mutation(
        "Rename a library (NETWORK_ADMIN).",
        input=(UpdateLibraryInput, "The library and its new name."),
        run=lambda s, ctx, input: changes.update_library(
            session=s, actor=ctx.actor, code=input.code, name=input.name
        ),
        answer=lambda r: UpdateLibraryPayload(library=Library.of(r)),
        payload=UpdateLibraryPayload,
    )

    update_identifier_type = mutation(
        "Change an identifier type's name or uniqueness (NETWORK_ADMIN).",
        input=(UpdateIdentifierTypeInput, "The identifier type and what to change."),
        run=lambda s, ctx, input: changes.update_identifier_type(
            session=s,
            actor=ctx.actor,
            code=input.code,
            name=input.name,
            network_unique=input.network_unique,
        ),
        answer=lambda r: UpdateIdentifierTypePayload(identifier_type=IdentifierType(row=r)),
        payload=UpdateIdentifierTypePayload,
    )

    update_user_group = mutation(
        "Change a user group's name or loan period (SYSTEM_ADMIN).",
        input=(UpdateUserGroupInput, "The user group and what to change."),
        run=lambda s, ctx, input: changes.update_user_group(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            code=input.code,
            name=input.name,
            loan_period_days=input.loan_period_days,
        ),
        answer=lambda r: UpdateUserGroupPayload(user_group=UserGroup.of(r)),
        payload=UpdateUserGroupPayload,
    )

    update_library_group = mutation(
        "Change a library group's name or description (SYSTEM_ADMIN).",
        input=(UpdateLibraryGroupInput, "The library group and what to change."),
        run=lambda s, ctx, input: changes.update_library_group(
            session=s,
            actor=ctx.actor,
            group_id=decode_pk(input.id, "LibraryGroup"),
            name=input.name,
            description=input.description,
        ),
        answer=lambda r: UpdateLibraryGroupPayload(library_group=LibraryGroup.of(r)),
        payload=UpdateLibraryGroupPayload,
    )

    update_block_type = mutation(
        "Change a block type's description or behaviour (SYSTEM_ADMIN).",
        input=(UpdateBlockTypeInput, "The block type and what to change."),
        run=lambda s, ctx, input: changes.update_block_type(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            code=input.code,
            description=input.description,
            network=input.network,
            blocks_loans=input.blocks_loans,
        ),
        answer=lambda r: UpdateBlockTypePayload(block_type=BlockType(row=r)),
        payload=UpdateBlockTypePayload,
    )

    remove_institution = mutation(
        "Remove an institution with no libraries, patrons or credentials left; "
        "its own set-up goes with it (NETWORK_ADMIN).",
        input=(RemoveInstitutionInput, "The institution to remove."),
        run=lambda s, ctx, input: removals.remove_institution(
            session=s, actor=ctx.actor, code=input.code
        ),
        answer=_removed,
        payload=RemovalPayload,
    )

    remove_library = mutation(
        "Remove a library nothing uses, or move its patrons to replaceWith first (NETWORK_ADMIN).",
        input=(RemoveLibraryInput, "The library to remove, and where to move its patrons."),
        run=lambda s, ctx, input: removals.remove_library(
            session=s, actor=ctx.actor, code=input.code, replace_with=input.replace_with
        ),
        answer=_removed,
        payload=RemovalPayload,
    )

    remove_identifier_type = mutation(
        "Remove an identifier type no patron has (NETWORK_ADMIN).",
        input=(RemoveIdentifierTypeInput, "The identifier type to remove."),
        run=lambda s, ctx, input: removals.remove_identifier_type(
            session=s, actor=ctx.actor, code=input.code
        ),
        answer=_removed,
        payload=RemovalPayload,
    )

    remove_user_group = mutation(
        "Remove a user group no patron has, or move its patrons to replaceWith "
        "first (SYSTEM_ADMIN).",
        input=(RemoveUserGroupInput, "The user group to remove, and where to move its patrons."),
        run=lambda s, ctx, input: setup_removals.remove_user_group(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            code=input.code,
            replace_with=input.replace_with,
        ),
        answer=_removed,
        payload=RemovalPayload,
    )

    remove_library_group = mutation(
        "Remove a library group with no members, or move them to replaceWith first (SYSTEM_ADMIN).",
        input=(
            RemoveLibraryGroupInput,
            "The library group to remove, and where to move its members.",
        ),
        run=lambda s, ctx, input: setup_removals.remove_library_group(
            session=s,
            actor=ctx.actor,
            group_id=decode_pk(input.id, "LibraryGroup"),
            replace_with=decode_pk(input.replace_with, "LibraryGroup")
            if input.replace_with
            else None,
            replace_given=input.replace_with is not None,
        ),
        answer=lambda r: RemovalPayload(removed_id=strawberry.ID(encode_id("LibraryGroup", r))),
        payload=RemovalPayload,
    )

    remove_block_type = mutation(
        "Remove a block type no block has, or move its blocks to replaceWith first (SYSTEM_ADMIN).",
        input=(RemoveBlockTypeInput, "The block type to remove, and where to move its blocks."),
        run=lambda s, ctx, input: setup_removals.remove_block_type(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            code=input.code,
            replace_with=input.replace_with,
        ),
        answer=_removed,
        payload=RemovalPayload,
    )
