"""Collaborative network mutations: thin wrappers over app.linking."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from app.errors import DomainError, ErrorCode
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import mutate
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


async def _set_lookup_type(
    info: Info[Context, None], input: LookupIdentifierTypeInput, *, listed: bool
) -> InstitutionPayload:
    ctx = info.context
    return await mutate(
        info,
        lambda s: sharing.set_lookup_identifier_type(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            type_code=input.identifier_type,
            listed=listed,
            all_types=input.all_types,
        ),
        _institution_payload,
        InstitutionPayload,
    )


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


def _link_answer(info: Info[Context, None]) -> Callable[[service.LinkResult], LinkAccountPayload]:
    """The answer of a link or refresh: the request's loaders forget the copy, the payload shows it."""

    def answer(result: service.LinkResult) -> LinkAccountPayload:
        info.context.loaders.forget_patron(result.patron.id)  # type: ignore[arg-type]
        return LinkAccountPayload(linked_account=Patron.of(result.patron), created=result.created)

    return answer


@strawberry.type
class LinkingMutations:
    @typed.mutation(description="Create (or refresh) the linked account of a network search match.")
    async def link_account(
        self,
        info: Info[Context, None],
        input: Annotated[
            LinkAccountInput,
            strawberry.argument(description="The search match (ref) and why it is linked."),
        ],
    ) -> LinkAccountPayload:
        ctx = info.context
        return await mutate(
            info,
            lambda s: service.link_account(
                session=s,
                settings=ctx.settings,
                actor=ctx.actor,
                ref=input.source_patron,
                reason=input.reason.value,
            ),
            _link_answer(info),
            LinkAccountPayload,
        )

    @typed.mutation(description="Refresh a linked account from its source now.")
    async def refresh_linked_account(
        self,
        info: Info[Context, None],
        input: Annotated[
            RefreshLinkedAccountInput,
            strawberry.argument(description="The linked account to refresh."),
        ],
    ) -> LinkAccountPayload:
        ctx = info.context

        async def action(s: AsyncSession) -> service.LinkResult:
            return await service.refresh_linked_account(
                session=s, actor=ctx.actor, copy_id=_patron_id(input.id)
            )

        return await mutate(info, action, _link_answer(info), LinkAccountPayload)

    @typed.mutation(description="Delete a linked account.")
    async def unlink_account(
        self,
        info: Info[Context, None],
        input: Annotated[
            UnlinkAccountInput, strawberry.argument(description="The linked account to delete.")
        ],
    ) -> DeletePatronPayload:
        ctx = info.context

        async def action(s: AsyncSession) -> int:
            return await service.unlink_account(
                session=s, actor=ctx.actor, copy_id=_patron_id(input.id)
            )

        def answer(unlinked: int) -> DeletePatronPayload:
            ctx.loaders.forget_patron(unlinked)
            return DeletePatronPayload(deleted_id=input.id)

        return await mutate(info, action, answer, DeletePatronPayload)

    @typed.mutation(description="Add a linked account rule (SYSTEM_ADMIN).")
    async def create_linked_account_rule(
        self,
        info: Info[Context, None],
        input: Annotated[
            CreateLinkedAccountRuleInput,
            strawberry.argument(description="The rule and where to put it."),
        ],
    ) -> LinkedAccountRulePayload:
        ctx = info.context
        return await mutate(
            info,
            lambda s: rules.create_rule(
                session=s,
                actor=ctx.actor,
                institution_code=input.institution,
                position=input.position,
                spec=_spec(input, creating=True),
            ),
            _rule_payload,
            LinkedAccountRulePayload,
        )

    @typed.mutation(description="Change a rule (the default rule too, except its conditions).")
    async def update_linked_account_rule(
        self,
        info: Info[Context, None],
        input: Annotated[
            UpdateLinkedAccountRuleInput,
            strawberry.argument(description="The rule and the fields to change."),
        ],
    ) -> LinkedAccountRulePayload:
        ctx = info.context

        async def action(s: AsyncSession) -> RuleRow:
            return await rules.update_rule(
                session=s,
                actor=ctx.actor,
                rule_id=_rule_id(input.id),
                spec=_spec(input, creating=False),
            )

        return await mutate(info, action, _rule_payload, LinkedAccountRulePayload)

    @typed.mutation(description='Copy a rule right after itself, named "Copy of ...".')
    async def duplicate_linked_account_rule(
        self,
        info: Info[Context, None],
        input: Annotated[
            DuplicateLinkedAccountRuleInput, strawberry.argument(description="The rule to copy.")
        ],
    ) -> LinkedAccountRulePayload:
        ctx = info.context

        async def action(s: AsyncSession) -> RuleRow:
            return await rules.duplicate_rule(
                session=s, actor=ctx.actor, rule_id=_rule_id(input.id)
            )

        return await mutate(info, action, _rule_payload, LinkedAccountRulePayload)

    @typed.mutation(
        description="Delete a rule (never the default rule); returns the remaining rules."
    )
    async def delete_linked_account_rule(
        self,
        info: Info[Context, None],
        input: Annotated[
            DeleteLinkedAccountRuleInput, strawberry.argument(description="The rule to delete.")
        ],
    ) -> LinkedAccountRulesPayload:
        ctx = info.context

        async def action(s: AsyncSession) -> list[RuleRow]:
            return await rules.delete_rule(session=s, actor=ctx.actor, rule_id=_rule_id(input.id))

        return await mutate(info, action, _rules_payload, LinkedAccountRulesPayload)

    @typed.mutation(description="Put every non-default rule in a new order.")
    async def reorder_linked_account_rules(
        self,
        info: Info[Context, None],
        input: Annotated[
            ReorderLinkedAccountRulesInput,
            strawberry.argument(
                description="The institution and its non-default rules in the new order."
            ),
        ],
    ) -> LinkedAccountRulesPayload:
        ctx = info.context
        ids = [decode_pk(i, "LinkedAccountRule") for i in input.rule_ids]
        return await mutate(
            info,
            lambda s: rules.reorder_rules(
                session=s, actor=ctx.actor, institution_code=input.institution, rule_ids=ids
            ),
            _rules_payload,
            LinkedAccountRulesPayload,
        )

    @typed.mutation(description="Hide a user group's patrons from the other members.")
    async def add_restricted_user_group(
        self,
        info: Info[Context, None],
        input: Annotated[
            AddRestrictedUserGroupInput,
            strawberry.argument(description="The institution and the user group to hide."),
        ],
    ) -> InstitutionPayload:
        ctx = info.context
        return await mutate(
            info,
            lambda s: sharing.add_restricted_group(
                session=s,
                actor=ctx.actor,
                institution_code=input.institution,
                group_code=input.user_group,
                description=input.description,
            ),
            _institution_payload,
            InstitutionPayload,
        )

    @typed.mutation(
        description="Make a restricted user group's patrons visible to the other members "
        "again (SYSTEM_ADMIN)."
    )
    async def remove_restricted_user_group(
        self,
        info: Info[Context, None],
        input: Annotated[
            RemoveRestrictedUserGroupInput,
            strawberry.argument(
                description="The institution and the user group to make visible again."
            ),
        ],
    ) -> InstitutionPayload:
        ctx = info.context
        return await mutate(
            info,
            lambda s: sharing.remove_restricted_group(
                session=s,
                actor=ctx.actor,
                institution_code=input.institution,
                group_code=input.user_group,
            ),
            _institution_payload,
            InstitutionPayload,
        )

    @typed.mutation(
        description="Share or stop sharing fields with linked copies and network search."
    )
    async def set_shared_fields(
        self,
        info: Info[Context, None],
        input: Annotated[
            SetSharedFieldsInput,
            strawberry.argument(
                description="The institution and the fields to share or stop sharing."
            ),
        ],
    ) -> InstitutionPayload:
        ctx = info.context
        return await mutate(
            info,
            lambda s: sharing.set_shared_fields(
                session=s,
                actor=ctx.actor,
                institution_code=input.institution,
                fields=[(f.field.value, f.shared) for f in input.fields],
            ),
            _institution_payload,
            InstitutionPayload,
        )

    @typed.mutation(
        description="Let others find your patrons by this identifier type (only such "
        "types, once any is listed)."
    )
    async def add_searchable_identifier_type(
        self,
        info: Info[Context, None],
        input: Annotated[
            SearchableIdentifierTypeInput,
            strawberry.argument(description="The institution and the identifier type to list."),
        ],
    ) -> InstitutionPayload:
        ctx = info.context
        return await mutate(
            info,
            lambda s: sharing.add_searchable_identifier_type(
                session=s,
                actor=ctx.actor,
                institution_code=input.institution,
                type_code=input.identifier_type,
                description=input.description,
            ),
            _institution_payload,
            InstitutionPayload,
        )

    @typed.mutation(
        description="Take an identifier type off the searchable list; the last one goes "
        "only with allTypes (SYSTEM_ADMIN)."
    )
    async def remove_searchable_identifier_type(
        self,
        info: Info[Context, None],
        input: Annotated[
            SearchableIdentifierTypeInput,
            strawberry.argument(
                description="The institution and the identifier type to take off the list."
            ),
        ],
    ) -> InstitutionPayload:
        ctx = info.context
        return await mutate(
            info,
            lambda s: sharing.remove_searchable_identifier_type(
                session=s,
                actor=ctx.actor,
                institution_code=input.institution,
                type_code=input.identifier_type,
                all_types=input.all_types,
            ),
            _institution_payload,
            InstitutionPayload,
        )

    @typed.mutation(
        description="Look up other members' patrons by this identifier type (only such "
        "types, once any is listed), in network search and linking (SYSTEM_ADMIN)."
    )
    async def add_lookup_identifier_type(
        self,
        info: Info[Context, None],
        input: Annotated[
            LookupIdentifierTypeInput,
            strawberry.argument(description="The institution and the identifier type to list."),
        ],
    ) -> InstitutionPayload:
        return await _set_lookup_type(info, input, listed=True)

    @typed.mutation(description="Stop looking others' patrons up by this identifier type.")
    async def remove_lookup_identifier_type(
        self,
        info: Info[Context, None],
        input: Annotated[
            LookupIdentifierTypeInput,
            strawberry.argument(
                description="The institution and the identifier type to take off the list."
            ),
        ],
    ) -> InstitutionPayload:
        return await _set_lookup_type(info, input, listed=False)

    @typed.mutation(description="Change an institution's network settings (SYSTEM_ADMIN).")
    async def update_institution_settings(
        self,
        info: Info[Context, None],
        input: Annotated[
            UpdateInstitutionSettingsInput,
            strawberry.argument(description="The institution and the settings to change."),
        ],
    ) -> InstitutionPayload:
        ctx = info.context
        return await mutate(
            info,
            lambda s: sharing.update_settings(
                session=s,
                actor=ctx.actor,
                institution_code=input.institution,
                network_search_by_name=input.network_search_by_name,
                email_service_enabled=input.email_service_enabled,
                network_search_by_username=input.network_search_by_username,
                network_search_by_email=input.network_search_by_email,
            ),
            _institution_payload,
            InstitutionPayload,
        )
