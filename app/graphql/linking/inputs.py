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


@strawberry.input(description="One condition of a linked account rule.")
class RuleConditionInput:
    parameter: RuleParameter = strawberry.field(description="What the condition looks at.")
    operator: RuleOperator = strawberry.field(
        description="How it compares; EQUALS and NOT_EQUALS take exactly one value."
    )
    values: list[str] = strawberry.field(
        description="Institution codes (SOURCE_INSTITUTION) or user group codes of the "
        "source (SOURCE_USER_GROUP)."
    )


@strawberry.input(description="How a rule sets a linked account's expiry date.")
class ExpiryOutputInput:
    mode: ExpiryMode = strawberry.field(description="How the date is set.")
    date: date | None = strawberry.field(default=None, description="The date, for ABSOLUTE.")
    offset_days: int | None = strawberry.field(
        default=None,
        description="Days added to the source's expiry date, for RELATIVE_TO_SOURCE (may "
        "be negative).",
    )


@strawberry.input(description="How a rule sets a linked account's purge date.")
class PurgeOutputInput:
    mode: PurgeMode = strawberry.field(description="How the date is set.")
    date: date | None = strawberry.field(default=None, description="The date, for ABSOLUTE.")
    offset_days: int | None = strawberry.field(
        default=None,
        description="Days (0 or more) after the linked account's expiry date, for AFTER_EXPIRY.",
    )


INSTITUTION_TO_CONFIGURE = (
    "Code of the institution whose network configuration to change (SYSTEM_ADMIN there)."
)

# What the fields of CreateLinkedAccountRuleInput and UpdateLinkedAccountRuleInput mean.
RULE_FIELDS = {
    "name": "Name shown to administrators.",
    "description": "What the rule is for; optional.",
    "conditions": "All must hold for the rule to apply.",
    "user_group": "Code of the target's user group given to accounts linked under the rule.",
    "expiry": "How the linked account's expiry date is set.",
    "purge": "How the linked account's purge date is set.",
    "refresh_expiry_date": (
        "Recompute the expiry date on every refresh (otherwise only once the account has expired)."
    ),
    "refresh_purge_date": (
        "Recompute the purge date on every refresh (otherwise only once the account has expired)."
    ),
    "copy_network_blocks": (
        "Copy the source's network blocks to the linked account, replacing them at each refresh."
    ),
    "resource_sharing_library": (
        "Code of a library of the institution: home library of accounts "
        "linked under the rule; omitted: the session's library."
    ),
}


@strawberry.input(description="A new linked account rule.")
class CreateLinkedAccountRuleInput:
    institution: str = strawberry.field(
        description="Code of the institution the rule belongs to (SYSTEM_ADMIN there)."
    )
    name: str = strawberry.field(description=RULE_FIELDS["name"])
    conditions: list[RuleConditionInput] = strawberry.field(
        description=RULE_FIELDS["conditions"] + " At least one (only the default rule has none)."
    )
    user_group: str = strawberry.field(description=RULE_FIELDS["user_group"])
    expiry: ExpiryOutputInput = strawberry.field(description=RULE_FIELDS["expiry"])
    purge: PurgeOutputInput = strawberry.field(description=RULE_FIELDS["purge"])
    refresh_expiry_date: bool = strawberry.field(description=RULE_FIELDS["refresh_expiry_date"])
    refresh_purge_date: bool = strawberry.field(description=RULE_FIELDS["refresh_purge_date"])
    copy_network_blocks: bool = strawberry.field(description=RULE_FIELDS["copy_network_blocks"])
    description: str | None = strawberry.field(default=None, description=RULE_FIELDS["description"])
    position: int | None = strawberry.field(
        default=None,
        description="Insert before this position; omitted means just before the default rule.",
    )
    resource_sharing_library: str | None = strawberry.field(
        default=None, description=RULE_FIELDS["resource_sharing_library"]
    )


U = strawberry.UNSET


@strawberry.input(description="Fields left out are left unchanged.")
class UpdateLinkedAccountRuleInput:
    id: strawberry.ID = strawberry.field(
        description="Id of the rule; the default rule can be edited too."
    )
    name: str | None = strawberry.field(default=U, description=RULE_FIELDS["name"])
    description: str | None = strawberry.field(default=U, description=RULE_FIELDS["description"])
    conditions: list[RuleConditionInput] | None = strawberry.field(
        default=U,
        description=RULE_FIELDS["conditions"] + " Replaces the list (the default rule has none).",
    )
    user_group: str | None = strawberry.field(default=U, description=RULE_FIELDS["user_group"])
    expiry: ExpiryOutputInput | None = strawberry.field(
        default=U, description=RULE_FIELDS["expiry"]
    )
    purge: PurgeOutputInput | None = strawberry.field(default=U, description=RULE_FIELDS["purge"])
    refresh_expiry_date: bool | None = strawberry.field(
        default=U, description=RULE_FIELDS["refresh_expiry_date"]
    )
    refresh_purge_date: bool | None = strawberry.field(
        default=U, description=RULE_FIELDS["refresh_purge_date"]
    )
    resource_sharing_library: str | None = strawberry.field(
        default=U, description=RULE_FIELDS["resource_sharing_library"]
    )
    copy_network_blocks: bool | None = strawberry.field(
        default=U, description=RULE_FIELDS["copy_network_blocks"]
    )


@strawberry.input(description="A rule to copy.")
class DuplicateLinkedAccountRuleInput:
    id: strawberry.ID = strawberry.field(description="Id of a non-default rule.")


@strawberry.input(description="A rule to delete.")
class DeleteLinkedAccountRuleInput:
    id: strawberry.ID = strawberry.field(description="Id of a non-default rule.")


@strawberry.input(description="A new evaluation order of an institution's rules.")
class ReorderLinkedAccountRulesInput:
    institution: str = strawberry.field(description=INSTITUTION_TO_CONFIGURE)
    rule_ids: list[strawberry.ID] = strawberry.field(
        description="Every non-default rule id, in the new order."
    )


@strawberry.input(description="A user group to hide from other members.")
class AddRestrictedUserGroupInput:
    institution: str = strawberry.field(description=INSTITUTION_TO_CONFIGURE)
    user_group: str = strawberry.field(description="Code of one of the institution's user groups.")
    description: str | None = strawberry.field(
        default=None, description="Why the group is restricted; optional."
    )


@strawberry.input(description="A restricted user group to make visible again.")
class RemoveRestrictedUserGroupInput:
    institution: str = strawberry.field(description=INSTITUTION_TO_CONFIGURE)
    user_group: str = strawberry.field(description="Code of the restricted user group.")


@strawberry.input(description="Whether one patron field is shared.")
class SharedFieldPolicyInput:
    field: SharedField = strawberry.field(description="The patron field.")
    shared: bool = strawberry.field(
        description="True: copied to linked accounts and shown in network search."
    )


@strawberry.input(description="Sharing settings to change; fields not listed keep theirs.")
class SetSharedFieldsInput:
    institution: str = strawberry.field(description=INSTITUTION_TO_CONFIGURE)
    fields: list[SharedFieldPolicyInput] = strawberry.field(
        description="The fields to share or stop sharing."
    )


@strawberry.input(description="An identifier type others may find the institution's patrons by.")
class SearchableIdentifierTypeInput:
    institution: str = strawberry.field(description=INSTITUTION_TO_CONFIGURE)
    identifier_type: str = strawberry.field(
        description="Code of a network identifier type, e.g. UNIV_ID."
    )
    description: str | None = strawberry.field(
        default=None, description="Why the type is listed; adding only, optional."
    )
    all_types: bool = strawberry.field(
        default=False,
        description="Removing only: true empties the list on purpose (an empty list means "
        "every type); without it the last type is not removed.",
    )


@strawberry.input(
    description="An identifier type the institution looks other members' patrons up by."
)
class LookupIdentifierTypeInput:
    institution: str = strawberry.field(description=INSTITUTION_TO_CONFIGURE)
    identifier_type: str = strawberry.field(
        description="Code of a network identifier type, e.g. UNIV_ID."
    )
    all_types: bool = strawberry.field(
        default=False,
        description="Removing only: true empties the list on purpose (an empty list means "
        "every type); without it the last type is not removed.",
    )


@strawberry.input(description="Network settings to change; omitted or null ones keep their value.")
class UpdateInstitutionSettingsInput:
    institution: str = strawberry.field(description=INSTITUTION_TO_CONFIGURE)
    network_search_by_name: bool | None = strawberry.field(
        default=None, description="Let other members find the institution's patrons by name."
    )
    email_service_enabled: bool | None = strawberry.field(
        default=None, description="Send notices by email for the institution."
    )
    network_search_by_username: bool | None = strawberry.field(
        default=None,
        description="Let other members find a patron by its username (an SSO subject).",
    )
    network_search_by_email: bool | None = strawberry.field(
        default=None,
        description="Let other members find a patron by its primary email, where "
        "PRIMARY_EMAIL is shared.",
    )


@strawberry.input(description="Give an identifier or a name.")
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


@strawberry.input(
    description="A patron of another member to link (or refresh) in your institution."
)
class LinkAccountInput:
    source_patron: strawberry.ID = strawberry.field(
        description="NetworkPatron.ref from networkPatronSearch."
    )
    reason: LinkReason = strawberry.field(
        description="Why the account is linked; recorded on the copy."
    )


@strawberry.input(description="A linked account to refresh from its source.")
class RefreshLinkedAccountInput:
    id: strawberry.ID = strawberry.field(description="Id of a LINKED patron of your institution.")


@strawberry.input(description="A linked account to delete.")
class UnlinkAccountInput:
    id: strawberry.ID = strawberry.field(
        description="Id of a LINKED patron of your institution; refused while it has "
        "loans outstanding."
    )
