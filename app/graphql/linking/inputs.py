"""Inputs of the collaborative network's operations."""

from __future__ import annotations

from datetime import date

import strawberry

from app.graphql.linking.types import (
    ExpiryMode,
    LinkReason,
    PurgeMode,
    RuleOperator,
    RuleParameter,
    SharedField,
)


@strawberry.input
class RuleConditionInput:
    parameter: RuleParameter
    operator: RuleOperator
    values: list[str]


@strawberry.input
class ExpiryOutputInput:
    mode: ExpiryMode
    date: date | None = None
    offset_days: int | None = None


@strawberry.input
class PurgeOutputInput:
    mode: PurgeMode
    date: date | None = None
    offset_days: int | None = None


@strawberry.input
class CreateLinkedAccountRuleInput:
    institution: str
    name: str
    conditions: list[RuleConditionInput]
    user_group: str
    expiry: ExpiryOutputInput
    purge: PurgeOutputInput
    refresh_expiry_date: bool
    refresh_purge_date: bool
    copy_network_blocks: bool
    description: str | None = None
    position: int | None = strawberry.field(
        default=None,
        description="Insert before this position; omitted means just before the default rule.",
    )
    resource_sharing_library: str | None = None


U = strawberry.UNSET


@strawberry.input(description="Fields left out are left unchanged.")
class UpdateLinkedAccountRuleInput:
    id: strawberry.ID
    name: str | None = U
    description: str | None = U
    conditions: list[RuleConditionInput] | None = U
    user_group: str | None = U
    expiry: ExpiryOutputInput | None = U
    purge: PurgeOutputInput | None = U
    refresh_expiry_date: bool | None = U
    refresh_purge_date: bool | None = U
    resource_sharing_library: str | None = U
    copy_network_blocks: bool | None = U


@strawberry.input
class DuplicateLinkedAccountRuleInput:
    id: strawberry.ID


@strawberry.input
class DeleteLinkedAccountRuleInput:
    id: strawberry.ID


@strawberry.input
class ReorderLinkedAccountRulesInput:
    institution: str
    rule_ids: list[strawberry.ID] = strawberry.field(
        description="Every non-default rule id, in the new order."
    )


@strawberry.input
class AddRestrictedUserGroupInput:
    institution: str
    user_group: str
    description: str | None = None


@strawberry.input
class RemoveRestrictedUserGroupInput:
    institution: str
    user_group: str


@strawberry.input
class SharedFieldPolicyInput:
    field: SharedField
    shared: bool


@strawberry.input
class SetSharedFieldsInput:
    institution: str
    fields: list[SharedFieldPolicyInput]


@strawberry.input
class SearchableIdentifierTypeInput:
    institution: str
    identifier_type: str
    description: str | None = None
    all_types: bool = strawberry.field(
        default=False,
        description="Removing only: true empties the list on purpose (an empty list means "
        "every type); without it the last type is not removed.",
    )


@strawberry.input
class LookupIdentifierTypeInput:
    institution: str
    identifier_type: str
    all_types: bool = strawberry.field(
        default=False,
        description="Removing only: true empties the list on purpose (an empty list means "
        "every type); without it the last type is not removed.",
    )


@strawberry.input
class UpdateInstitutionSettingsInput:
    institution: str
    network_search_by_name: bool | None = None
    email_service_enabled: bool | None = None
    network_search_by_username: bool | None = None
    network_search_by_email: bool | None = None


@strawberry.input
class NetworkPatronSearchInput:
    identifier: str | None = strawberry.field(
        default=None, description="An identifier value (barcode, university ID, ...)."
    )
    identifier_type: str | None = strawberry.field(
        default=None, description="Restrict the match to one identifier type."
    )
    name: str | None = strawberry.field(
        default=None,
        description="Name search; allowed only against institutions with networkSearchByName.",
    )
    institutions: list[str] | None = strawberry.field(
        default=None, description="Source institutions to search; omitted means every other member."
    )


@strawberry.input
class LinkAccountInput:
    source_patron: strawberry.ID = strawberry.field(
        description="NetworkPatron.ref from networkPatronSearch."
    )
    reason: LinkReason


@strawberry.input
class RefreshLinkedAccountInput:
    id: strawberry.ID


@strawberry.input
class UnlinkAccountInput:
    id: strawberry.ID
