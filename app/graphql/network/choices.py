"""An institution's lists of allowed cohorts and form classes: reading, changing, importing."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.file_uploads import Upload
from strawberry.types import Info

from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import UserError, mutate
from app.graphql.imports.extras import ImportProblem, _read
from app.graphql.network.types import Institution
from app.graphql.registry import provide
from app.imports import choices as choice_imports
from app.network import choices, models
from app.network.choice_lists import ChoiceKind, in_order
from app.sql import saved_id


@strawberry.enum(
    name="PatronValueKind",
    description="The patron fields an institution may restrict to a list of values.",
)
class PatronValueKind(Enum):
    COHORT = strawberry.enum_value(
        ChoiceKind.COHORT.value, description="Patron.cohort, e.g. the graduation year."
    )
    FORM_CLASS = strawberry.enum_value(
        ChoiceKind.FORM_CLASS.value, description="Patron.formClass, e.g. 7A."
    )


@strawberry.type(
    description="A value an institution allows in a patron field (cohort or form class)."
)
class PatronValueChoice:
    row: strawberry.Private[models.PatronValueChoice]

    @typed.field(description="Which field the value is allowed in.")
    def kind(self) -> PatronValueKind:
        return PatronValueKind(self.row.kind)

    @typed.field(
        description="The value as listed, and as stored on patrons (given values are "
        "matched case-insensitively and take this spelling)."
    )
    def value(self) -> str:
        return self.row.value

    @typed.field(description="What the value means, e.g. 'Year 7, tutor group A'.")
    def description(self) -> str | None:
        return self.row.description


async def _listed(
    info: Info[Context, None], institution: models.Institution, kind: ChoiceKind
) -> list[PatronValueChoice]:
    rows = await info.context.loaders.value_choices_by_institution_id.load(saved_id(institution))
    return [PatronValueChoice(row=r) for r in in_order(r for r in rows if r.kind == kind)]


async def _cohorts(
    info: Info[Context, None], institution: models.Institution
) -> list[PatronValueChoice]:
    return await _listed(info, institution, ChoiceKind.COHORT)


async def _form_classes(
    info: Info[Context, None], institution: models.Institution
) -> list[PatronValueChoice]:
    return await _listed(info, institution, ChoiceKind.FORM_CLASS)


provide("Institution.cohorts", _cohorts)
provide("Institution.formClasses", _form_classes)


@strawberry.input(description="A value to add to one of an institution's lists.")
class AddPatronValueChoiceInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    kind: PatronValueKind = strawberry.field(description="The list: cohorts or form classes.")
    value: str = strawberry.field(
        description="At most 50 characters, e.g. 2027 or 7A; unique in the list whatever its case."
    )
    description: str | None = strawberry.field(
        default=None, description="What the value means; at most 200 characters."
    )


@strawberry.input(description="A value to remove from one of an institution's lists.")
class RemovePatronValueChoiceInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    kind: PatronValueKind = strawberry.field(description="The list: cohorts or form classes.")
    value: str = strawberry.field(description="The listed value (in any case).")
    replace_with: str | None = strawberry.field(
        default=None,
        description="Another listed value of the same kind: the patrons that hold the "
        "removed one get it, in the same transaction. Without it, a value patrons hold is "
        "not removed.",
    )


@strawberry.input(
    description="A CSV with the columns kind (COHORT or FORM_CLASS), value and, optionally, "
    "description."
)
class ImportPatronValueChoicesInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    file: Upload = strawberry.field(description="The CSV, as a multipart upload.")
    dry_run: bool = strawberry.field(description="Check every line without writing anything.")


@strawberry.type(description="The value added, or why not.")
class AddPatronValueChoicePayload:
    choice: PatronValueChoice | None = strawberry.field(
        default=None, description="The value as listed; null when refused."
    )
    institution: Institution | None = strawberry.field(
        default=None, description="The institution, to read its lists again; null when refused."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was written; empty on success."
    )


@strawberry.type(description="The value removed, or why not (how many patrons hold it).")
class RemovePatronValueChoicePayload:
    removed_value: str | None = strawberry.field(
        default=None, description="The value removed, as it was listed; null when refused."
    )
    patrons_moved: int = strawberry.field(
        default=0, description="Patrons given the replacement value."
    )
    institution: Institution | None = strawberry.field(
        default=None, description="The institution, to read its lists again; null when refused."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was written; empty on success."
    )


@strawberry.type(description="What an import of cohorts and form classes did (all or nothing).")
class ImportPatronValueChoicesPayload:
    added: int = strawberry.field(
        default=0,
        description="Values added (or, when nothing was written, that would have been).",
    )
    updated: int = strawberry.field(default=0, description="Listed values given a new description.")
    unchanged: int = strawberry.field(default=0, description="Rows already listed as they are.")
    written: bool = strawberry.field(
        default=False, description="False for dry runs and when anything failed."
    )
    problems: list[ImportProblem] = strawberry.field(
        default_factory=list,
        description="Every problem of the file, by line and column; any problem writes nothing.",
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description="Why the file was not read at all (access, format, columns).",
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
            content = await _read(input.file, ctx.settings.max_upload_bytes)
            return await choice_imports.import_choices(
                session=session,
                actor=ctx.actor,
                institution_code=input.institution,
                content=content,
                dry_run=input.dry_run,
            )

        return await mutate(info, action, _imported, ImportPatronValueChoicesPayload)
