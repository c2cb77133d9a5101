"""Collaborative network mutations: thin wrappers over app.linking."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DomainError, ErrorCode
from app.graphql.context import Context
from app.graphql.core import mutation
from app.graphql.ids import decode_pk
from app.graphql.linking.inputs import (
    AddRestrictedUserGroupInput,
    CreateLinkedAccountRuleInput,
    DeleteLinkedAccountRuleInput,
    DuplicateLinkedAccountRuleInput,
    LinkAccountInput,
    LookupIdentifierTypeInput,
    RefreshLinkedAccountInput,
    RemoveRestrictedUserGroupInput,
    ReorderLinkedAccountRulesInput,
    SearchableIdentifierTypeInput,
    SetSharedFieldsInput,
    U,
    UnlinkAccountInput,
    UpdateInstitutionSettingsInput,
    UpdateLinkedAccountRuleInput,
)
from app.graphql.linking.types import (
    InstitutionPayload,
    LinkAccountPayload,
    LinkedAccountRule,
    LinkedAccountRulePayload,
    LinkedAccountRulesPayload,
)
from app.graphql.network.types import Institution
from app.graphql.patrons.types import DeletePatronPayload, Patron
from app.linking import rules, service, sharing
from app.linking.models import LinkedAccountRule as RuleRow
from app.linking.rules import RuleSpec
from app.network.models import Institution as InstitutionRow


def _spec(data: Any, creating: bool) -> RuleSpec:
    def given(name: str) -> Any:
        value = getattr(data, name, U)
        return None if value is U else value

    conditions = given("conditions")
    expiry = given("expiry")
    purge = given("purge")
    return RuleSpec(
        name=given("name"),
        description=given("description"),
        description_given=creating or getattr(data, "description", U) is not U,
        conditions=[
            {"parameter": c.parameter.value, "operator": c.operator.value, "values": list(c.values)}
            for c in conditions
        ]
        if conditions is not None
        else None,
        user_group=given("user_group"),
        expiry=(expiry.mode.value, expiry.date, expiry.offset_days) if expiry else None,
        purge=(purge.mode.value, purge.date, purge.offset_days) if purge else None,
        refresh_expiry_date=given("refresh_expiry_date"),
        refresh_purge_date=given("refresh_purge_date"),
        copy_network_blocks=given("copy_network_blocks"),
        resource_sharing_library=given("resource_sharing_library"),
        library_given=creating or getattr(data, "resource_sharing_library", U) is not U,
    )


def _rule_id(value: str) -> int:
    pk = decode_pk(value, "LinkedAccountRule")
    if pk is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, "There is no such rule.", ["id"])
    return pk


def _patron_id(value: str) -> int:
    pk = decode_pk(value, "Patron")
    if pk is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, "There is no such linked account.", ["id"])
    return pk


def _institution_payload(institution: InstitutionRow) -> InstitutionPayload:
    return InstitutionPayload(institution=Institution.of(institution))


def _rule_payload(rule: RuleRow) -> LinkedAccountRulePayload:
    return LinkedAccountRulePayload(rule=LinkedAccountRule.of(rule))


def _rules_payload(remaining: list[RuleRow]) -> LinkedAccountRulesPayload:
    return LinkedAccountRulesPayload(rules=[LinkedAccountRule.of(r) for r in remaining])


def _link_answer(
    ctx: Context, _input: object
) -> Callable[[service.LinkResult], LinkAccountPayload]:
    """The answer of a link or refresh: the request's loaders forget the copy, the payload shows it."""

    def answer(result: service.LinkResult) -> LinkAccountPayload:
        ctx.loaders.forget_patron(result.patron.id)  # type: ignore[arg-type]
        return LinkAccountPayload(linked_account=Patron.of(result.patron), created=result.created)

    return answer


def _unlink_answer(ctx: Context, input: UnlinkAccountInput) -> Callable[[int], DeletePatronPayload]:
    """The answer of an unlink: the request's loaders forget the copy, the payload names it."""

    def answer(unlinked: int) -> DeletePatronPayload:
        ctx.loaders.forget_patron(unlinked)
        return DeletePatronPayload(deleted_id=input.id)

    return answer


def _set_lookup_type(
    listed: bool,
) -> Callable[[AsyncSession, Context, LookupIdentifierTypeInput], Awaitable[InstitutionRow]]:
    """Listing or unlisting an identifier type to look other members' patrons up by."""
    return lambda s, ctx, input: sharing.set_lookup_identifier_type(
        session=s,
        actor=ctx.actor,
        institution_code=input.institution,
        type_code=input.identifier_type,
        listed=listed,
        all_types=input.all_types,
    )


@strawberry.type
class LinkingMutations:
    link_account = mutation(
        "Create (or refresh) the linked account of a network search match.",
        input=(LinkAccountInput, "The search match (ref) and why it is linked."),
        run=lambda s, ctx, input: service.link_account(
            session=s,
            settings=ctx.settings,
            actor=ctx.actor,
            ref=input.source_patron,
            reason=input.reason.value,
        ),
        answer_for=_link_answer,
        payload=LinkAccountPayload,
    )

    refresh_linked_account = mutation(
        "Refresh a linked account from its source now.",
        input=(RefreshLinkedAccountInput, "The linked account to refresh."),
        run=lambda s, ctx, input: service.refresh_linked_account(
            session=s, actor=ctx.actor, copy_id=_patron_id(input.id)
        ),
        answer_for=_link_answer,
        payload=LinkAccountPayload,
    )

    unlink_account = mutation(
        "Delete a linked account.",
        input=(UnlinkAccountInput, "The linked account to delete."),
        run=lambda s, ctx, input: service.unlink_account(
            session=s, actor=ctx.actor, copy_id=_patron_id(input.id)
        ),
        answer_for=_unlink_answer,
        payload=DeletePatronPayload,
    )

    create_linked_account_rule = mutation(
        "Add a linked account rule (SYSTEM_ADMIN).",
        input=(CreateLinkedAccountRuleInput, "The rule and where to put it."),
        run=lambda s, ctx, input: rules.create_rule(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            position=input.position,
            spec=_spec(input, creating=True),
        ),
        answer=_rule_payload,
        payload=LinkedAccountRulePayload,
    )

    update_linked_account_rule = mutation(
        "Change a rule (the default rule too, except its conditions).",
        input=(UpdateLinkedAccountRuleInput, "The rule and the fields to change."),
        run=lambda s, ctx, input: rules.update_rule(
            session=s,
            actor=ctx.actor,
            rule_id=_rule_id(input.id),
            spec=_spec(input, creating=False),
        ),
        answer=_rule_payload,
        payload=LinkedAccountRulePayload,
    )

    duplicate_linked_account_rule = mutation(
        'Copy a rule right after itself, named "Copy of ...".',
        input=(DuplicateLinkedAccountRuleInput, "The rule to copy."),
        run=lambda s, ctx, input: rules.duplicate_rule(
            session=s, actor=ctx.actor, rule_id=_rule_id(input.id)
        ),
        answer=_rule_payload,
        payload=LinkedAccountRulePayload,
    )

    delete_linked_account_rule = mutation(
        "Delete a rule (never the default rule); returns the remaining rules.",
        input=(DeleteLinkedAccountRuleInput, "The rule to delete."),
        run=lambda s, ctx, input: rules.delete_rule(
            session=s, actor=ctx.actor, rule_id=_rule_id(input.id)
        ),
        answer=_rules_payload,
        payload=LinkedAccountRulesPayload,
    )

    reorder_linked_account_rules = mutation(
        "Put every non-default rule in a new order.",
        input=(
            ReorderLinkedAccountRulesInput,
            "The institution and its non-default rules in the new order.",
        ),
        run=lambda s, ctx, input: rules.reorder_rules(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            rule_ids=[decode_pk(i, "LinkedAccountRule") for i in input.rule_ids],
        ),
        answer=_rules_payload,
        payload=LinkedAccountRulesPayload,
    )

    add_restricted_user_group = mutation(
        "Hide a user group's patrons from the other members.",
        input=(AddRestrictedUserGroupInput, "The institution and the user group to hide."),
        run=lambda s, ctx, input: sharing.add_restricted_group(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            group_code=input.user_group,
            description=input.description,
        ),
        answer=_institution_payload,
        payload=InstitutionPayload,
    )

    remove_restricted_user_group = mutation(
        "Make a restricted user group's patrons visible to the other members again (SYSTEM_ADMIN).",
        input=(
            RemoveRestrictedUserGroupInput,
            "The institution and the user group to make visible again.",
        ),
        run=lambda s, ctx, input: sharing.remove_restricted_group(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            group_code=input.user_group,
        ),
        answer=_institution_payload,
        payload=InstitutionPayload,
    )

    set_shared_fields = mutation(
        "Share or stop sharing fields with linked copies and network search.",
        input=(SetSharedFieldsInput, "The institution and the fields to share or stop sharing."),
        run=lambda s, ctx, input: sharing.set_shared_fields(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            fields=[(f.field.value, f.shared) for f in input.fields],
        ),
        answer=_institution_payload,
        payload=InstitutionPayload,
    )

    add_searchable_identifier_type = mutation(
        "Let others find your patrons by this identifier type (only such "
        "types, once any is listed).",
        input=(SearchableIdentifierTypeInput, "The institution and the identifier type to list."),
        run=lambda s, ctx, input: sharing.add_searchable_identifier_type(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            type_code=input.identifier_type,
            description=input.description,
        ),
        answer=_institution_payload,
        payload=InstitutionPayload,
    )

    remove_searchable_identifier_type = mutation(
        "Take an identifier type off the searchable list; the last one goes "
        "only with allTypes (SYSTEM_ADMIN).",
        input=(
            SearchableIdentifierTypeInput,
            "The institution and the identifier type to take off the list.",
        ),
        run=lambda s, ctx, input: sharing.remove_searchable_identifier_type(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            type_code=input.identifier_type,
            all_types=input.all_types,
        ),
        answer=_institution_payload,
        payload=InstitutionPayload,
    )

    add_lookup_identifier_type = mutation(
        "Look up other members' patrons by this identifier type (only such "
        "types, once any is listed), in network search and linking (SYSTEM_ADMIN).",
        input=(LookupIdentifierTypeInput, "The institution and the identifier type to list."),
        run=_set_lookup_type(listed=True),
        answer=_institution_payload,
        payload=InstitutionPayload,
    )

    remove_lookup_identifier_type = mutation(
        "Stop looking others' patrons up by this identifier type.",
        input=(
            LookupIdentifierTypeInput,
            "The institution and the identifier type to take off the list.",
        ),
        run=_set_lookup_type(listed=False),
        answer=_institution_payload,
        payload=InstitutionPayload,
    )

    update_institution_settings = mutation(
        "Change an institution's network settings (SYSTEM_ADMIN).",
        input=(UpdateInstitutionSettingsInput, "The institution and the settings to change."),
        run=lambda s, ctx, input: sharing.update_settings(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            network_search_by_name=input.network_search_by_name,
            email_service_enabled=input.email_service_enabled,
            network_search_by_username=input.network_search_by_username,
            network_search_by_email=input.network_search_by_email,
        ),
        answer=_institution_payload,
        payload=InstitutionPayload,
    )
