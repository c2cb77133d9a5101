"""Resolvers of the network configuration shown on Institution."""

from __future__ import annotations

from strawberry.types import Info

from app.auth.policy import belongs_to, can_administer_institution
from app.graphql.context import Context
from app.graphql.linking.types import (
    LinkedAccountRule,
    RestrictedUserGroup,
    SharedField,
    SharedFieldPolicy,
)
from app.graphql.network.types import UserGroup
from app.graphql.registry import provide
from app.linking import policies, rules, sharing
from app.network.models import Institution
from app.sql import saved_id


async def institution_rules(
    info: Info[Context, None], institution: Institution
) -> list[LinkedAccountRule]:
    """A target's rules are its own business: shown to its system administrators."""
    if not can_administer_institution(info.context.actor, institution.id):  # type: ignore[arg-type]
        return []
    async with info.context.db.use() as session:
        rows = await rules.rules_of(session, institution.id)  # type: ignore[arg-type]
    return [LinkedAccountRule.of(r) for r in rows]


async def restricted_groups(
    info: Info[Context, None], institution: Institution
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
    info: Info[Context, None], institution: Institution
) -> list[SharedFieldPolicy]:
    async with info.context.db.use() as session:
        shared = await sharing.shared_fields(session, institution.id)  # type: ignore[arg-type]
    return [
        SharedFieldPolicy(field=SharedField(f), shared=f in shared) for f in sharing.SHARED_FIELDS
    ]


provide("Institution.linkedAccountRules", institution_rules)
provide("Institution.restrictedUserGroups", restricted_groups)
provide("Institution.sharedFields", shared_field_policies)
