"""Linked account rules: conditions, the dates they give, evaluation, and the payloads of the
rule mutations."""

from __future__ import annotations

from datetime import date
from enum import Enum

import strawberry
from strawberry.types import Info

from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import PAYLOAD_ERRORS, Node, UserError
from app.graphql.ids import encode_id
from app.graphql.network.types import Library, UserGroup
from app.linking import models


@strawberry.enum(description="What a rule condition looks at.")
class RuleParameter(Enum):
    SOURCE_INSTITUTION = strawberry.enum_value(
        "SOURCE_INSTITUTION", description="The code of the source patron's institution."
    )
    SOURCE_USER_GROUP = strawberry.enum_value(
        "SOURCE_USER_GROUP",
        description="The code of the source patron's user group in its institution.",
    )


@strawberry.enum(description="How a condition compares.")
class RuleOperator(Enum):
    EQUALS = strawberry.enum_value("EQUALS", description="Equals the one value.")
    NOT_EQUALS = strawberry.enum_value("NOT_EQUALS", description="Differs from the one value.")
    IN_LIST = strawberry.enum_value("IN_LIST", description="Is one of the values.")
    NOT_IN_LIST = strawberry.enum_value("NOT_IN_LIST", description="Is none of the values.")


@strawberry.enum(description="How a linked account's expiry date is set.")
class ExpiryMode(Enum):
    NONE = strawberry.enum_value("NONE", description="No expiry date.")
    ABSOLUTE = strawberry.enum_value("ABSOLUTE", description="A fixed date (`date`).")
    SAME_AS_SOURCE = strawberry.enum_value(
        "SAME_AS_SOURCE", description="Copy the source account's expiry date."
    )
    RELATIVE_TO_SOURCE = strawberry.enum_value(
        "RELATIVE_TO_SOURCE", description="Source expiry date shifted by offsetDays."
    )


@strawberry.enum(description="How a linked account's purge date is set.")
class PurgeMode(Enum):
    NONE = strawberry.enum_value("NONE", description="No purge date: never purged.")
    ABSOLUTE = strawberry.enum_value("ABSOLUTE", description="A fixed date (`date`).")
    AFTER_EXPIRY = strawberry.enum_value(
        "AFTER_EXPIRY", description="The linked account's expiry date plus offsetDays."
    )


@strawberry.type(description="One condition of a rule; all of a rule's conditions must hold.")
class RuleCondition:
    parameter: RuleParameter = strawberry.field(description="What the condition looks at.")
    operator: RuleOperator = strawberry.field(description="How it compares.")
    values: list[str] = strawberry.field(
        description="Institution or user group codes compared with."
    )


@strawberry.type(description="How a rule sets a linked account's expiry date.")
class ExpiryOutput:
    mode: ExpiryMode = strawberry.field(description="How the date is set.")
    date: date | None = strawberry.field(description="The date, for ABSOLUTE; null otherwise.")
    offset_days: int | None = strawberry.field(
        description="Days added to the source's expiry date, for RELATIVE_TO_SOURCE; null "
        ""
        "otherwise."
    )


@strawberry.type(description="How a rule sets a linked account's purge date.")
class PurgeOutput:
    mode: PurgeMode = strawberry.field(description="How the date is set.")
    date: date | None = strawberry.field(description="The date, for ABSOLUTE; null otherwise.")
    offset_days: int | None = strawberry.field(
        description="Days after the linked account's expiry date, for AFTER_EXPIRY; null otherwise."
    )


@strawberry.type(description="A target institution's rule for accounts copied from other members.")
class LinkedAccountRule(Node):
    row: strawberry.Private[models.LinkedAccountRule]

    @classmethod
    def of(cls, row: models.LinkedAccountRule) -> LinkedAccountRule:
        return cls(id=strawberry.ID(encode_id("LinkedAccountRule", row.id)), row=row)  # type: ignore[arg-type]

    @typed.field(description="Name shown to administrators.")
    def name(self) -> str:
        return self.row.name

    @typed.field(description="What the rule is for.")
    def description(self) -> str | None:
        return self.row.description

    @typed.field(description="0-based evaluation order.")
    def position(self) -> int:
        return self.row.position

    @typed.field(
        description="The rule applied when no other holds: always last, no conditions, "
        "never deleted or moved."
    )
    def is_default(self) -> bool:
        return self.row.is_default

    @typed.field(description="All must hold (AND). The default rule has none.")
    def conditions(self) -> list[RuleCondition]:
        return [
            RuleCondition(
                parameter=RuleParameter(c["parameter"]),
                operator=RuleOperator(c["operator"]),
                values=list(c["values"]),
            )
            for c in self.row.conditions
        ]

    @typed.field(description="Group given to new (or expired) linked accounts.")
    async def user_group(self, info: Info[Context, None]) -> UserGroup:
        return UserGroup.of(
            await info.context.loaders.user_group_by_id.load(self.row.user_group_id)
        )

    @typed.field(description="How the linked account's expiry date is set.")
    def expiry(self) -> ExpiryOutput:
        return ExpiryOutput(
            mode=ExpiryMode(self.row.expiry_mode),
            date=self.row.expiry_date,
            offset_days=self.row.expiry_offset_days,
        )

    @typed.field(description="How its purge date is set.")
    def purge(self) -> PurgeOutput:
        return PurgeOutput(
            mode=PurgeMode(self.row.purge_mode),
            date=self.row.purge_date,
            offset_days=self.row.purge_offset_days,
        )

    @typed.field(description="Recompute the expiry date on every refresh.")
    def refresh_expiry_date(self) -> bool:
        return self.row.refresh_expiry_date

    @typed.field(description="Recompute the purge date on every refresh.")
    def refresh_purge_date(self) -> bool:
        return self.row.refresh_purge_date

    @typed.field(description="Home library of new linked accounts made under this rule.")
    async def resource_sharing_library(self, info: Info[Context, None]) -> Library | None:
        if self.row.resource_sharing_library_id is None:
            return None
        return Library.of(
            await info.context.loaders.library_by_id.load(self.row.resource_sharing_library_id)
        )

    @typed.field(description="Copy the source's network blocks (replaced on every refresh).")
    def copy_network_blocks(self) -> bool:
        return self.row.copy_network_blocks


@strawberry.type(description="What a rule evaluation gives.")
class RuleEvaluation:
    rule: LinkedAccountRule = strawberry.field(
        description="The first rule whose conditions hold, or the default rule."
    )
    user_group: UserGroup = strawberry.field(
        description="The user group the linked account would get."
    )
    expiry_date: date | None = strawberry.field(
        description="The expiry date it would get; null: none."
    )
    purge_date: date | None = strawberry.field(
        description="The purge date it would get; null: none."
    )


@strawberry.type(description="The rule after the change, or what went wrong.")
class LinkedAccountRulePayload:
    rule: LinkedAccountRule | None = strawberry.field(
        default=None, description="The rule as saved; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type(description="The institution's rules after the change, or what went wrong.")
class LinkedAccountRulesPayload:
    rules: list[LinkedAccountRule] | None = strawberry.field(
        default=None,
        description="The institution's rules in evaluation order, the default last; null "
        "when `errors` is not empty.",
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )
