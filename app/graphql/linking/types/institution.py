"""What an institution shares and hides from the other members, and the Institution fields that
show its network configuration."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.types import Info

from app.auth.policy import belongs_to, can_administer_institution
from app.graphql.context import Context
from app.graphql.core import PAYLOAD_ERRORS, UserError, described_enum
from app.graphql.linking.types.rules import LinkedAccountRule
from app.graphql.network.types import Institution, UserGroup
from app.graphql.registry import provide
from app.linking import policies, rules, sharing
from app.network.models import Institution as InstitutionRow
from app.sql import saved_id


@strawberry.type(description="A user group whose patrons other members can neither find nor link.")
class RestrictedUserGroup:
    user_group: UserGroup = strawberry.field(description="The restricted group.")
    description: str | None = strawberry.field(description="Why the group is restricted.")


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


described_enum(
    SharedField,
    name="SharedField",
    description="A patron field a source institution may share with other members.",
    values={
        SharedField.GIVEN_NAME: "Given name.",
        SharedField.MIDDLE_NAME: "Middle name.",
        SharedField.PREFERRED_NAME: "Preferred name.",
        SharedField.SURNAME: "Surname.",
        SharedField.PRIMARY_EMAIL: "The patron's own email address.",
        SharedField.CONTACT_EMAILS: "Extra addresses for notices (parents, guardians).",
        SharedField.PHONE: "Phone number.",
        SharedField.COHORT: "Cohort, e.g. graduation year.",
        SharedField.FORM_CLASS: "Form class.",
        SharedField.PHOTO: "The patron's photo.",
    },
)


@strawberry.type(description="Whether an institution shares one patron field with other members.")
class SharedFieldPolicy:
    field: SharedField = strawberry.field(description="The patron field.")
    shared: bool = strawberry.field(
        description="True: copied to linked accounts and shown in network search; false: "
        "they get it blank."
    )


@strawberry.type(description="The institution after the change, or what went wrong.")
class InstitutionPayload:
    institution: Institution | None = strawberry.field(
        default=None, description="The institution as saved; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


async def institution_rules(
    info: Info[Context, None], institution: InstitutionRow
) -> list[LinkedAccountRule]:
    """A target's rules are its own business: shown to its system administrators."""
    if not can_administer_institution(info.context.actor, institution.id):  # type: ignore[arg-type]
        return []
    async with info.context.db.use() as session:
        rows = await rules.rules_of(session, institution.id)  # type: ignore[arg-type]
    return [LinkedAccountRule.of(r) for r in rows]


async def restricted_groups(
    info: Info[Context, None], institution: InstitutionRow
) -> list[RestrictedUserGroup]:
    if not belongs_to(info.context.actor, saved_id(institution)):
        return []
    async with info.context.db.use() as session:
        rows = await policies.restricted_groups(session, saved_id(institution))
    out = []
    for group_id, description in rows:
        group = await info.context.loaders.user_group_by_id.load(group_id)
        out.append(RestrictedUserGroup(user_group=UserGroup.of(group), description=description))
    return sorted(out, key=lambda r: r.user_group.row.code)


async def shared_field_policies(
    info: Info[Context, None], institution: InstitutionRow
) -> list[SharedFieldPolicy]:
    async with info.context.db.use() as session:
        shared = await sharing.shared_fields(session, institution.id)  # type: ignore[arg-type]
    return [
        SharedFieldPolicy(field=SharedField(f), shared=f in shared) for f in sharing.SHARED_FIELDS
    ]


provide("Institution.linkedAccountRules", institution_rules)


provide("Institution.restrictedUserGroups", restricted_groups)


provide("Institution.sharedFields", shared_field_policies)
