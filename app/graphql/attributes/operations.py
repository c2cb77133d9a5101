"""Attribute queries and mutations: reports, rule application, type definitions."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry
from strawberry.types import Info

from app.attributes import discrepancies, type_creation
from app.graphql import typed
from app.graphql.attributes.types import AttributeDiscrepancyKind, AttributeType
from app.graphql.context import Context
from app.graphql.core import PAYLOAD_ERRORS, PageInfo, UserError, mutate, page_size
from app.graphql.ids import cursors, decode_pk
from app.graphql.patrons.types import Patron, PatronConnection, PatronEdge
from app.patrons.models import Patron as PatronRow


@strawberry.input(description="Patrons to bring in line with a type's home-library rule.")
class ApplyAttributeRuleInput:
    attribute_type: str = strawberry.field(
        description="Code of an attribute type with a home-library rule, which your "
        "session may change."
    )
    patron_ids: list[strawberry.ID] = strawberry.field(
        description="Ids of the patrons (e.g. from attributeDiscrepancies)."
    )


@strawberry.type(description="The patrons changed, or what went wrong.")
class ApplyAttributeRulePayload:
    updated: list[Patron] = strawberry.field(
        default_factory=list,
        description="The patrons whose value changed; patrons already in line are left out.",
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.input(description="An allowed value of a new attribute type.")
class AuthorisedValueInput:
    code: str = strawberry.field(description="Code stored on patrons, e.g. ALLOWED.")
    label: str = strawberry.field(description="Display label, e.g. Allowed.")


@strawberry.input(description="The home-library rule of a new attribute type.")
class AttributeRuleInput:
    libraries: list[str] = strawberry.field(description="Library codes in scope, e.g. [LANSING].")
    in_scope_value: str = strawberry.field(
        description="Value code for patrons whose home library is in scope, e.g. ALLOWED."
    )
    out_of_scope_value: str = strawberry.field(
        description="Value code for the other patrons, e.g. NOT_ALLOWED."
    )
    apply_for_all_sessions: bool = strawberry.field(
        default=False,
        description="Apply the rule on every creation and home-library change, whoever "
        "makes it; otherwise only sessions allowed to see the type do (the "
        "rest show up in the discrepancy report).",
    )


@strawberry.input(description="A new attribute type (SYSTEM_ADMIN of the institution).")
class CreateAttributeTypeInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    code: str = strawberry.field(
        description="Code, unique in the institution, e.g. KANOPY; it never changes."
    )
    label: str = strawberry.field(description="Display name, e.g. Kanopy (LANSING).")
    authorised_values: list[AuthorisedValueInput] = strawberry.field(
        default_factory=list, description="Allowed values; empty: free text."
    )
    repeatable: bool = strawberry.field(
        default=False, description="A patron may hold several values."
    )
    unique: bool = strawberry.field(
        default=False, description="A value may belong to one patron only."
    )
    mandatory: bool = strawberry.field(
        default=False,
        description="Every patron must have a value (enforced for sessions allowed to see "
        ""
        "the type).",
    )
    library_limits: list[str] = strawberry.field(
        default_factory=list,
        description="Codes of the libraries whose sessions may see and change values; "
        "empty: every library of the institution.",
    )
    excluded_user_groups: list[str] = strawberry.field(
        default_factory=list,
        description="Codes of user groups the discrepancy reports leave out, e.g. STAFF.",
    )
    rule: AttributeRuleInput | None = strawberry.field(
        default=None, description="The home-library rule; omitted: none."
    )


@strawberry.type(description="The attribute type, or what went wrong.")
class AttributeTypePayload:
    attribute_type: AttributeType | None = strawberry.field(
        default=None, description="The type as saved; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type
class AttributeQueries:
    @typed.field(
        description="Patrons whose value disagrees with the type's home-library rule, by id; "
        "for sessions allowed to see the type."
    )
    async def attribute_discrepancies(
        self,
        info: Info[Context, None],
        attribute_type: Annotated[
            str,
            strawberry.argument(description="Code of an attribute type with a home-library rule."),
        ],
        kind: Annotated[
            AttributeDiscrepancyKind, strawberry.argument(description="Which disagreement to list.")
        ],
        first: Annotated[
            int | None, strawberry.argument(description="Page size: default 20, at most 100.")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> PatronConnection:
        ctx = info.context
        # strawberry replaces the enum_value() definitions by their values
        kind_value = cast(str, kind.value)
        size = page_size(first, 20, ctx.settings.max_page_size)
        sealed = await cursors(info, "attributeDiscrepancies", attribute_type.upper(), kind_value)
        found = sealed.position(after, int)
        after_id = int(found[0]) if found else None
        async with ctx.db.use() as session:
            rows, has_next = await discrepancies.discrepancies(
                session=session,
                actor=ctx.actor,
                type_code=attribute_type,
                kind=kind_value,
                first=size,
                after_id=after_id,
            )

        async def count() -> int:
            async with ctx.db.use() as session:
                return await discrepancies.count_discrepancies(
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
        self,
        info: Info[Context, None],
        input: Annotated[
            ApplyAttributeRuleInput,
            strawberry.argument(description="The attribute type and the patrons."),
        ],
    ) -> ApplyAttributeRulePayload:
        ctx = info.context
        ids = [decode_pk(i, "Patron") for i in input.patron_ids]

        def answer(updated: list[PatronRow]) -> ApplyAttributeRulePayload:
            for patron in updated:
                ctx.loaders.forget_patron(patron.id)  # type: ignore[arg-type]
            return ApplyAttributeRulePayload(updated=[Patron.of(p) for p in updated])

        return await mutate(
            info,
            lambda session: discrepancies.apply_rule(
                session=session, actor=ctx.actor, type_code=input.attribute_type, patron_ids=ids
            ),
            answer,
            ApplyAttributeRulePayload,
        )

    @typed.mutation(description="Define an attribute type (SYSTEM_ADMIN of the institution).")
    async def create_attribute_type(
        self,
        info: Info[Context, None],
        input: Annotated[
            CreateAttributeTypeInput,
            strawberry.argument(description="The attribute type to define."),
        ],
    ) -> AttributeTypePayload:
        ctx = info.context
        spec = type_creation.AttributeTypeSpec(
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
            lambda session: type_creation.create_attribute_type(
                session=session, actor=ctx.actor, spec=spec
            ),
            lambda created: AttributeTypePayload(attribute_type=AttributeType(info=created)),
            AttributeTypePayload,
        )
