"""GraphQL types of branch-limited attributes."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from app.attributes.service import TypeInfo
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import PAYLOAD_ERRORS, Node, UserError
from app.graphql.ids import encode_id
from app.graphql.network.types import Library, UserGroup
from app.graphql.registry import provide

if TYPE_CHECKING:
    from app.graphql.patrons.types import Patron

LazyPatron = Annotated["Patron", strawberry.lazy("app.graphql.patrons.types")]


@strawberry.type(description="An allowed value of an attribute type.")
class AuthorisedValue:
    code: str = strawberry.field(description="Stored code, e.g. ALLOWED.")
    label: str = strawberry.field(
        description="What staff see, e.g. 'Allowed (Lansing Community Library)'."
    )


@strawberry.type(description="The home-library rule of an attribute type.")
class AttributeRule:
    info: strawberry.Private[TypeInfo]

    @typed.field(description="Libraries in scope, by code: their patrons get the in-scope value.")
    async def libraries(self, info: Info[Context, None]) -> list[Library]:
        rows = await info.context.loaders.library_by_id.load_many(list(self.info.rule_scope))
        return [Library.of(r) for r in sorted(rows, key=lambda r: r.code)]

    @typed.field(description="Value for patrons whose home library is in scope.")
    def in_scope_value(self) -> str:
        return self.info.row.rule_in_scope_value or ""

    @typed.field(description="Value for everyone else.")
    def out_of_scope_value(self) -> str:
        return self.info.row.rule_out_of_scope_value or ""

    @typed.field(
        description="The server applies the rule on every creation and home-library "
        "change, whoever makes it."
    )
    def apply_for_all_sessions(self) -> bool:
        return self.info.row.apply_rule_for_all_sessions


def _attribute_type_id(root: AttributeType) -> strawberry.ID:
    return strawberry.ID(encode_id("AttributeType", root.info.id))


@strawberry.type(description="A kind of patron attribute of an institution.")
class AttributeType(Node):
    info: strawberry.Private[TypeInfo]

    # Resolved, not passed in: the type is built from its row alone.
    id: strawberry.ID = strawberry.field(
        resolver=_attribute_type_id, description="Opaque global id."
    )

    @typed.field(
        description="Code, unique in the institution, e.g. KANOPY; the key in CSV columns "
        ""
        "(attribute:<CODE>) and scopes."
    )
    def code(self) -> str:
        return self.info.code

    @typed.field(description="Display name, e.g. Kanopy (LANSING).")
    def label(self) -> str:
        return self.info.row.label

    @typed.field(description="Allowed values; empty means free text.")
    def authorised_values(self) -> list[AuthorisedValue]:
        return [AuthorisedValue(code=v.code, label=v.label) for v in self.info.authorised]

    @typed.field(description="A patron may hold several values.")
    def repeatable(self) -> bool:
        return self.info.row.repeatable

    @typed.field(description="A value may belong to one patron only.")
    def unique(self) -> bool:
        return self.info.row.unique

    @typed.field(description="Required (enforced for sessions allowed to see the type).")
    def mandatory(self) -> bool:
        return self.info.row.mandatory

    @typed.field(
        description="Libraries whose sessions may see and change values, by code; empty means all."
    )
    async def library_limits(self, info: Info[Context, None]) -> list[Library]:
        rows = await info.context.loaders.library_by_id.load_many(list(self.info.limits))
        return [Library.of(r) for r in sorted(rows, key=lambda r: r.code)]

    @typed.field(description="User groups the discrepancy reports leave out, by code.")
    async def excluded_user_groups(self, info: Info[Context, None]) -> list[UserGroup]:
        loader = info.context.loaders.user_group_by_id
        rows = await loader.load_many(list(self.info.excluded_groups))
        return [UserGroup.of(r) for r in sorted(rows, key=lambda r: r.code)]

    @typed.field(description="The home-library rule, if the type has one.")
    def rule(self) -> AttributeRule | None:
        return AttributeRule(info=self.info) if self.info.has_rule else None


@strawberry.type(description="An attribute of a patron, with its values.")
class PatronAttribute:
    type: AttributeType = strawberry.field(description="The attribute type.")
    values: list[str] = strawberry.field(
        description="Authorised value codes, or the free text; several only for repeatable types."
    )


@strawberry.enum(description="How a patron's value disagrees with the type's home-library rule.")
class AttributeDiscrepancyKind(Enum):
    MISSING_IN_SCOPE = strawberry.enum_value(
        "MISSING_IN_SCOPE",
        description="Home library in the rule's scope, but the value is not the in-scope value.",
    )
    PRESENT_OUT_OF_SCOPE = strawberry.enum_value(
        "PRESENT_OUT_OF_SCOPE",
        description="Home library outside the rule's scope, but the value is the in-scope value.",
    )


provide("AttributeType", AttributeType)


@strawberry.type(description="The patrons changed, or what went wrong.")
class ApplyAttributeRulePayload:
    updated: list[LazyPatron] = strawberry.field(
        default_factory=list,
        description="The patrons whose value changed; patrons already in line are left out.",
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
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
