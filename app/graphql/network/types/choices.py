"""An institution's lists of allowed cohorts and form classes: the types, their Institution
fields and the payloads of their mutations."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import UserError
from app.graphql.imports.types import ImportProblem
from app.graphql.network.types.structure import Institution
from app.graphql.registry import provide
from app.network import models
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
