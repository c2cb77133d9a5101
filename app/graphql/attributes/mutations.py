"""Attribute mutations: rule application, defining, changing and removing types (SYSTEM_ADMIN of
the institution, from a session that may see the type)."""

from __future__ import annotations

from collections.abc import Callable

import strawberry

from app.attributes import admin, discrepancies, removal, type_creation
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
from app.graphql.core import mutation
from app.graphql.ids import decode_pk, encode_id
from app.graphql.patrons.types import Patron
from app.patrons.models import Patron as PatronRow


def _spec(input: CreateAttributeTypeInput) -> type_creation.AttributeTypeSpec:
    rule = input.rule
    return type_creation.AttributeTypeSpec(
        institution=input.institution,
        code=input.code,
        label=input.label,
        authorised_values=[(v.code, v.label) for v in input.authorised_values],
        repeatable=input.repeatable,
        unique=input.unique,
        mandatory=input.mandatory,
        library_limits=list(input.library_limits),
        excluded_user_groups=list(input.excluded_user_groups),
        rule_libraries=list(rule.libraries) if rule else None,
        rule_in_scope_value=rule.in_scope_value if rule else None,
        rule_out_of_scope_value=rule.out_of_scope_value if rule else None,
        apply_rule_for_all_sessions=rule.apply_for_all_sessions if rule else False,
    )


def _applied(
    ctx: Context, _input: ApplyAttributeRuleInput
) -> Callable[[list[PatronRow]], ApplyAttributeRulePayload]:
    """The answer of applying a rule: the request's loaders forget the patrons changed."""

    def answer(updated: list[PatronRow]) -> ApplyAttributeRulePayload:
        for patron in updated:
            ctx.loaders.forget_patron(patron.id)  # type: ignore[arg-type]
        return ApplyAttributeRulePayload(updated=[Patron.of(p) for p in updated])

    return answer


@strawberry.type
class AttributeMutations:
    apply_attribute_rule = mutation(
        "Set the rule's value on the listed patrons, in one transaction (audited).",
        input=(ApplyAttributeRuleInput, "The attribute type and the patrons."),
        run=lambda s, ctx, input: discrepancies.apply_rule(
            session=s,
            actor=ctx.actor,
            type_code=input.attribute_type,
            patron_ids=[decode_pk(i, "Patron") for i in input.patron_ids],
        ),
        answer_for=_applied,
        payload=ApplyAttributeRulePayload,
    )

    create_attribute_type = mutation(
        "Define an attribute type (SYSTEM_ADMIN of the institution).",
        input=(CreateAttributeTypeInput, "The attribute type to define."),
        run=lambda s, ctx, input: type_creation.create_attribute_type(
            session=s, actor=ctx.actor, spec=_spec(input)
        ),
        answer=lambda created: AttributeTypePayload(attribute_type=AttributeType(info=created)),
        payload=AttributeTypePayload,
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


def _change(input: UpdateAttributeTypeInput) -> admin.AttributeTypeChange:
    rule = input.rule
    return admin.AttributeTypeChange(
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


@strawberry.type
class AttributeTypeAdminMutations:
    update_attribute_type = mutation(
        "Change an attribute type's label and settings; its code stays "
        "(SYSTEM_ADMIN of the institution, logged in where the type may be seen; audited).",
        input=(UpdateAttributeTypeInput, "The attribute type and what to change."),
        run=lambda s, ctx, input: admin.update_attribute_type(
            session=s,
            actor=ctx.actor,
            target=_target(input.id, input.institution, input.code),
            change=_change(input),
        ),
        answer=lambda r: UpdateAttributeTypePayload(attribute_type=AttributeType(info=r)),
        payload=UpdateAttributeTypePayload,
    )

    remove_attribute_type = mutation(
        "Remove an attribute type no API client scope or SIP account names; "
        "patrons' values go only with deleteValues (SYSTEM_ADMIN of the institution, logged "
        "in where the type may be seen; audited).",
        input=(RemoveAttributeTypeInput, "The attribute type to remove."),
        run=lambda s, ctx, input: removal.remove_attribute_type(
            session=s,
            actor=ctx.actor,
            target=_target(input.id, input.institution, input.code),
            delete_values=input.delete_values,
        ),
        answer=_removed,
        payload=RemoveAttributeTypePayload,
    )
