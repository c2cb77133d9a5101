"""GraphQL types of the collaborative network."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import Node
from app.graphql.ids import encode_id
from app.graphql.network.types import Institution, Library, UserGroup
from app.linking import models


@strawberry.enum(description="What a rule condition looks at.")
class RuleParameter(Enum):
    SOURCE_INSTITUTION = "SOURCE_INSTITUTION"
    SOURCE_USER_GROUP = "SOURCE_USER_GROUP"


@strawberry.enum(description="How a condition compares.")
class RuleOperator(Enum):
    EQUALS = "EQUALS"
    NOT_EQUALS = "NOT_EQUALS"
    IN_LIST = "IN_LIST"
    NOT_IN_LIST = "NOT_IN_LIST"


@strawberry.enum(description="How a linked account's expiry date is set.")
class ExpiryMode(Enum):
    NONE = strawberry.enum_value("NONE", description="No expiry date.")
    ABSOLUTE = "ABSOLUTE"
    SAME_AS_SOURCE = strawberry.enum_value(
        "SAME_AS_SOURCE", description="Copy the source account's expiry date."
    )
    RELATIVE_TO_SOURCE = strawberry.enum_value(
        "RELATIVE_TO_SOURCE", description="Source expiry date shifted by offsetDays."
    )


@strawberry.enum(description="How a linked account's purge date is set.")
class PurgeMode(Enum):
    NONE = "NONE"
    ABSOLUTE = "ABSOLUTE"
    AFTER_EXPIRY = strawberry.enum_value(
        "AFTER_EXPIRY", description="The linked account's expiry date plus offsetDays."
    )


@strawberry.type(description="One condition of a rule; all of a rule's conditions must hold.")
class RuleCondition:
    parameter: RuleParameter
    operator: RuleOperator
    values: list[str]


@strawberry.type
class ExpiryOutput:
    mode: ExpiryMode
    date: date | None
    offset_days: int | None


@strawberry.type
class PurgeOutput:
    mode: PurgeMode
    date: date | None
    offset_days: int | None


@strawberry.type(description="A target institution's rule for accounts copied from other members.")
class LinkedAccountRule(Node):
    row: strawberry.Private[models.LinkedAccountRule]

    @classmethod
    def of(cls, row: models.LinkedAccountRule) -> LinkedAccountRule:
        return cls(id=strawberry.ID(encode_id("LinkedAccountRule", row.id)), row=row)  # type: ignore[arg-type]

    @strawberry.field
    def name(self) -> str:
        return self.row.name

    @strawberry.field
    def description(self) -> str | None:
        return self.row.description

    @typed.field(description="0-based evaluation order.")
    def position(self) -> int:
        return self.row.position

    @strawberry.field
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

    @strawberry.field
    def expiry(self) -> ExpiryOutput:
        return ExpiryOutput(
            mode=ExpiryMode(self.row.expiry_mode),
            date=self.row.expiry_date,
            offset_days=self.row.expiry_offset_days,
        )

    @strawberry.field
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
    user_group: UserGroup
    expiry_date: date | None
    purge_date: date | None


@strawberry.type(description="A user group whose patrons other members can neither find nor link.")
class RestrictedUserGroup:
    user_group: UserGroup
    description: str | None


@strawberry.enum(description="A patron field a source institution may share with other members.")
class SharedField(Enum):
    GIVEN_NAME = "GIVEN_NAME"
    MIDDLE_NAME = "MIDDLE_NAME"
    PREFERRED_NAME = "PREFERRED_NAME"
    SURNAME = "SURNAME"
    PRIMARY_EMAIL = "PRIMARY_EMAIL"
    CONTACT_EMAILS = "CONTACT_EMAILS"
    PHONE = "PHONE"
    COHORT = "COHORT"
    FORM_CLASS = "FORM_CLASS"
    PHOTO = "PHOTO"


@strawberry.type
class SharedFieldPolicy:
    field: SharedField
    shared: bool


@strawberry.enum(description="Why a linked account was made.")
class LinkReason(Enum):
    WALK_IN = "WALK_IN"
    DISCOVERY_REQUEST = "DISCOVERY_REQUEST"
    MANUAL = "MANUAL"


@strawberry.enum(description="State of a linked account's source.")
class LinkStatus(Enum):
    ACTIVE = "ACTIVE"
    SOURCE_UNAVAILABLE = "SOURCE_UNAVAILABLE"
    SOURCE_DELETED = "SOURCE_DELETED"


@strawberry.type(description="Where a LINKED account was copied from.")
class LinkSource:
    institution: Institution
    ref: strawberry.ID = strawberry.field(description="Opaque reference to the source account.")
    rule: LinkedAccountRule | None
    linked_at: datetime
    refreshed_at: datetime | None
    status: LinkStatus


@strawberry.type(description="A copy of a HOME account in another institution.")
class LinkedAccountSummary:
    institution: Institution
    linked_at: datetime
