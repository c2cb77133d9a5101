"""Attribute mutations: rule application, defining, changing and removing types (SYSTEM_ADMIN of the institution, from a session that may see the type)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.attributes import admin, discrepancies, removal, type_creation
from app.graphql import typed
from app.graphql.attributes.inputs import (
    ApplyAttributeRuleInput,
    CreateAttributeTypeInput,
    RemoveAttributeTypeInput,
    UpdateAttributeTypeInput,
)
from app.graphql.attributes.types import (
    ApplyAttributeRulePayload,
    AttributeType,
    AttributeTypePayload,
    RemoveAttributeTypePayload,
    UpdateAttributeTypePayload,
)
from app.graphql.context import Context
from app.graphql.core import mutate
from app.graphql.ids import decode_pk, encode_id
from app.graphql.patrons.types import Patron
from app.patrons.models import Patron as PatronRow


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


def _target(
    type_id: strawberry.ID | None, institution: str | None, code: str | None
) -> admin.TypeTarget:
    return admin.TypeTarget(
        id_given=type_id is not None,
        type_id=decode_pk(type_id, "AttributeType") if type_id is not None else None,
        institution=institution,
        code=code,
    )


def _removed(result: removal.RemovedType) -> RemoveAttributeTypePayload:
    return RemoveAttributeTypePayload(
        removed_code=result.code,
        removed_id=strawberry.ID(encode_id("AttributeType", result.type_id)),
        values_deleted=result.values_deleted,
    )


@strawberry.type
class AttributeTypeAdminMutations:
    @typed.mutation(
        description="Change an attribute type's label and settings; its code stays "
        "(SYSTEM_ADMIN of the institution, logged in where the type may be seen; audited)."
    )
    async def update_attribute_type(
        self,
        info: Info[Context, None],
        input: Annotated[
            UpdateAttributeTypeInput,
            strawberry.argument(description="The attribute type and what to change."),
        ],
    ) -> UpdateAttributeTypePayload:
        actor = info.context.actor
        rule = input.rule
        change = admin.AttributeTypeChange(
            label=input.label,
            authorised_values=(
                [(v.code, v.label) for v in input.authorised_values]
                if input.authorised_values is not None
                else None
            ),
            repeatable=input.repeatable,
            unique=input.unique,
            mandatory=input.mandatory,
            library_limits=list(input.library_limits) if input.library_limits is not None else None,
            all_libraries=input.all_libraries,
            excluded_user_groups=(
                list(input.excluded_user_groups) if input.excluded_user_groups is not None else None
            ),
            rule=(
                admin.RuleChange(
                    list(rule.libraries),
                    rule.in_scope_value,
                    rule.out_of_scope_value,
                    rule.apply_for_all_sessions,
                )
                if rule
                else None
            ),
            remove_rule=rule is None,
        )
        target = _target(input.id, input.institution, input.code)
        return await mutate(
            info,
            lambda s: admin.update_attribute_type(
                session=s, actor=actor, target=target, change=change
            ),
            lambda r: UpdateAttributeTypePayload(attribute_type=AttributeType(info=r)),
            UpdateAttributeTypePayload,
        )

    @typed.mutation(
        description="Remove an attribute type no API client scope or SIP account names; "
        "patrons' values go only with deleteValues (SYSTEM_ADMIN of the institution, logged "
        "in where the type may be seen; audited)."
    )
    async def remove_attribute_type(
        self,
        info: Info[Context, None],
        input: Annotated[
            RemoveAttributeTypeInput,
            strawberry.argument(description="The attribute type to remove."),
        ],
    ) -> RemoveAttributeTypePayload:
        actor = info.context.actor
        target = _target(input.id, input.institution, input.code)
        return await mutate(
            info,
            lambda s: removal.remove_attribute_type(
                session=s, actor=actor, target=target, delete_values=input.delete_values
            ),
            _removed,
            RemoveAttributeTypePayload,
        )
