"""Changing and removing attribute types (SYSTEM_ADMIN of the institution, from a session
that may see the type)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.attributes import admin, removal
from app.graphql import typed
from app.graphql.attributes.operations import AttributeRuleInput, AuthorisedValueInput
from app.graphql.attributes.types import AttributeType
from app.graphql.context import Context
from app.graphql.core import PAYLOAD_ERRORS, UserError, mutate
from app.graphql.ids import decode_pk, encode_id

TARGET = (
    "Name the type by id, or by institution and code (codes never change: they are keys in "
    "CSV files, attribute:<CODE> scopes and SIP field policies)."
)


@strawberry.input(description=f"What to change; fields left out keep their value. {TARGET}")
class UpdateAttributeTypeInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="Id of the type.")
    institution: str | None = strawberry.field(
        default=None, description="Code of the type's institution, with `code`."
    )
    code: str | None = strawberry.field(
        default=None, description="Code of the type, with `institution`."
    )
    label: str | None = strawberry.field(default=None, description="New display name.")
    authorised_values: list[AuthorisedValueInput] | None = strawberry.field(
        default=None,
        description="Replaces the list; a value patrons hold (or the rule gives) must stay. "
        "Empty: free text.",
    )
    repeatable: bool | None = strawberry.field(
        default=None, description="A patron may hold several values."
    )
    unique: bool | None = strawberry.field(
        default=None, description="A value may belong to one patron only."
    )
    mandatory: bool | None = strawberry.field(
        default=None,
        description="Every patron must have a value (enforced for sessions allowed to see "
        ""
        "the type).",
    )
    library_limits: list[str] | None = strawberry.field(
        default=None,
        description="Replaces the limits (library codes). Refused while API clients or SIP "
        "accounts of a library left out carry the type. An empty list is refused: use "
        "allLibraries.",
    )
    all_libraries: bool = strawberry.field(
        default=False,
        description="Remove the limits: every library of the institution may see and change "
        "values (wider access, so only on this explicit request).",
    )
    excluded_user_groups: list[str] | None = strawberry.field(
        default=None, description="Replaces the user groups the reports leave out."
    )
    rule: AttributeRuleInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces the home-library rule; null removes it, left out keeps it.",
    )


@strawberry.input(description=f"The attribute type to remove. {TARGET}")
class RemoveAttributeTypeInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="Id of the type.")
    institution: str | None = strawberry.field(
        default=None, description="Code of the type's institution, with `code`."
    )
    code: str | None = strawberry.field(
        default=None, description="Code of the type, with `institution`."
    )
    delete_values: bool = strawberry.field(
        default=False,
        description="Delete the patrons' values with the type (audited on each patron); "
        "without it, a type patrons have values for stays.",
    )


@strawberry.type(description="The attribute type after the change, or what went wrong.")
class UpdateAttributeTypePayload:
    attribute_type: AttributeType | None = strawberry.field(
        default=None, description="The type as saved; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type(description="What was removed, or why not (and what still uses it).")
class RemoveAttributeTypePayload:
    removed_code: str | None = strawberry.field(
        default=None, description="The code of the removed type."
    )
    removed_id: strawberry.ID | None = strawberry.field(
        default=None, description="The id the removed type had."
    )
    values_deleted: int = strawberry.field(
        default=0, description="Patron values deleted with it (deleteValues)."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
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
