"""Attribute queries and mutations: reports, rule application, type definitions."""

from __future__ import annotations

from typing import cast

import strawberry
from strawberry.types import Info

from app.attributes import service
from app.graphql import typed
from app.graphql.attributes.types import AttributeDiscrepancyKind, AttributeType
from app.graphql.context import Context
from app.graphql.core import PageInfo, UserError, mutate, page_size
from app.graphql.ids import cursors, decode_pk
from app.graphql.patrons.types import Patron, PatronConnection, PatronEdge
from app.patrons.models import Patron as PatronRow


@strawberry.input
class ApplyAttributeRuleInput:
    attribute_type: str
    patron_ids: list[strawberry.ID]


@strawberry.type
class ApplyAttributeRulePayload:
    updated: list[Patron] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(description="An allowed value of a new attribute type.")
class AuthorisedValueInput:
    code: str
    label: str


@strawberry.input(description="The home-library rule of a new attribute type.")
class AttributeRuleInput:
    libraries: list[str] = strawberry.field(description="Library codes in scope, e.g. [LANSING].")
    in_scope_value: str
    out_of_scope_value: str
    apply_for_all_sessions: bool = False


@strawberry.input(description="A new attribute type (SYSTEM_ADMIN of the institution).")
class CreateAttributeTypeInput:
    institution: str
    code: str
    label: str
    authorised_values: list[AuthorisedValueInput] = strawberry.field(default_factory=list)
    repeatable: bool = False
    unique: bool = False
    mandatory: bool = False
    library_limits: list[str] = strawberry.field(default_factory=list)
    excluded_user_groups: list[str] = strawberry.field(default_factory=list)
    rule: AttributeRuleInput | None = None


@strawberry.type
class AttributeTypePayload:
    attribute_type: AttributeType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AttributeQueries:
    @typed.field(
        description="Patrons whose value disagrees with the type's home-library rule, by id; "
        "for sessions allowed to see the type."
    )
    async def attribute_discrepancies(
        self,
        info: Info[Context, None],
        attribute_type: str,
        kind: AttributeDiscrepancyKind,
        first: int | None = None,
        after: str | None = None,
    ) -> PatronConnection:
        ctx = info.context
        # strawberry replaces the enum_value() definitions by their values
        kind_value = cast(str, kind.value)
        size = page_size(first, 20, ctx.settings.max_page_size)
        sealed = await cursors(info, "attributeDiscrepancies", attribute_type.upper(), kind_value)
        found = sealed.position(after, int)
        after_id = int(found[0]) if found else None
        async with ctx.db.use() as session:
            rows, has_next = await service.discrepancies(
                session=session,
                actor=ctx.actor,
                type_code=attribute_type,
                kind=kind_value,
                first=size,
                after_id=after_id,
            )

        async def count() -> int:
            async with ctx.db.use() as session:
                return await service.count_discrepancies(
                    session=session, actor=ctx.actor, type_code=attribute_type, kind=kind_value
                )

        edges = [PatronEdge(cursor=sealed.encode(r.id), node=Patron.of(r)) for r in rows]
        return PatronConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next,
                has_previous_page=after_id is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            count=count,
        )


@strawberry.type
class AttributeMutations:
    @typed.mutation(
        description="Set the rule's value on the listed patrons, in one transaction (audited)."
    )
    async def apply_attribute_rule(
        self, info: Info[Context, None], input: ApplyAttributeRuleInput
    ) -> ApplyAttributeRulePayload:
        ctx = info.context
        ids = [decode_pk(i, "Patron") for i in input.patron_ids]

        def answer(updated: list[PatronRow]) -> ApplyAttributeRulePayload:
            for patron in updated:
                ctx.loaders.forget_patron(patron.id)  # type: ignore[arg-type]
            return ApplyAttributeRulePayload(updated=[Patron.of(p) for p in updated])

        return await mutate(
            info,
            lambda session: service.apply_rule(
                session=session, actor=ctx.actor, type_code=input.attribute_type, patron_ids=ids
            ),
            answer,
            ApplyAttributeRulePayload,
        )

    @typed.mutation(description="Define an attribute type (SYSTEM_ADMIN of the institution).")
    async def create_attribute_type(
        self, info: Info[Context, None], input: CreateAttributeTypeInput
    ) -> AttributeTypePayload:
        ctx = info.context
        spec = service.AttributeTypeSpec(
            institution=input.institution,
            code=input.code,
            label=input.label,
            authorised_values=[(v.code, v.label) for v in input.authorised_values],
            repeatable=input.repeatable,
            unique=input.unique,
            mandatory=input.mandatory,
            library_limits=list(input.library_limits),
            excluded_user_groups=list(input.excluded_user_groups),
            rule_libraries=list(input.rule.libraries) if input.rule else None,
            rule_in_scope_value=input.rule.in_scope_value if input.rule else None,
            rule_out_of_scope_value=input.rule.out_of_scope_value if input.rule else None,
            apply_rule_for_all_sessions=input.rule.apply_for_all_sessions if input.rule else False,
        )
        return await mutate(
            info,
            lambda session: service.create_attribute_type(
                session=session, actor=ctx.actor, spec=spec
            ),
            lambda created: AttributeTypePayload(attribute_type=AttributeType(info=created)),
            AttributeTypePayload,
        )
