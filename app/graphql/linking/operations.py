"""Collaborative network queries and mutations: thin wrappers over app.linking."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, NoReturn

import strawberry
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from app.errors import DomainError, ErrorCode
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import UserError, mutate
from app.graphql.ids import decode_pk
from app.graphql.linking.types import (
    ExpiryMode,
    LinkedAccountRule,
    LinkReason,
    PurgeMode,
    RuleEvaluation,
    RuleOperator,
    RuleParameter,
    SharedField,
)
from app.graphql.network.types import Institution, UserGroup
from app.graphql.patrons.mutations import DeletePatronPayload
from app.graphql.patrons.types import ContactEmail, Patron
from app.graphql.registry import provide
from app.linking import rules, search, service, sharing
from app.linking.models import LinkedAccountRule as RuleRow
from app.linking.rules import RuleSpec
from app.network.models import Institution as InstitutionRow
from app.sql import saved_id


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


@strawberry.type
class LinkedAccountRulePayload:
    rule: LinkedAccountRule | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LinkedAccountRulesPayload:
    rules: list[LinkedAccountRule] | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


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


@strawberry.type
class InstitutionPayload:
    institution: Institution | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


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


@strawberry.type(
    description="A patron of another institution as the searcher may see it: shared fields only."
)
class NetworkPatron:
    match: strawberry.Private[search.NetworkMatch]

    def _shared(self, name: str, column: str) -> str | None:
        if name not in self.match.policy.shared:
            return None
        value: str | None = getattr(self.match.source, column)
        return value

    @typed.field(description="Opaque reference to pass to linkAccount.")
    def ref(self) -> strawberry.ID:
        return strawberry.ID(self.match.ref)

    @strawberry.field
    def institution(self) -> Institution:
        return Institution.of(self.match.policy.institution)

    @strawberry.field
    async def user_group(self, info: Info[Context, None]) -> UserGroup | None:
        if self.match.source.user_group_id is None:
            return None
        return UserGroup.of(
            await info.context.loaders.user_group_by_id.load(self.match.source.user_group_id)
        )

    @strawberry.field
    def given_name(self) -> str | None:
        return self._shared("GIVEN_NAME", "given_name")

    @strawberry.field
    def middle_name(self) -> str | None:
        return self._shared("MIDDLE_NAME", "middle_name")

    @strawberry.field
    def preferred_name(self) -> str | None:
        return self._shared("PREFERRED_NAME", "preferred_name")

    @strawberry.field
    def surname(self) -> str | None:
        return self._shared("SURNAME", "surname")

    @strawberry.field
    def primary_email(self) -> str | None:
        return self._shared("PRIMARY_EMAIL", "primary_email")

    @strawberry.field
    async def contact_emails(self, info: Info[Context, None]) -> list[ContactEmail] | None:
        if "CONTACT_EMAILS" not in self.match.policy.shared:
            return None
        rows = await info.context.loaders.contact_emails_by_patron_id.load(
            saved_id(self.match.source)
        )
        return [ContactEmail(address=r.address, label=r.label) for r in rows]

    @strawberry.field
    def phone(self) -> str | None:
        return self._shared("PHONE", "phone")

    @strawberry.field
    def cohort(self) -> str | None:
        return self._shared("COHORT", "cohort")

    @strawberry.field
    def form_class(self) -> str | None:
        return self._shared("FORM_CLASS", "form_class")

    @strawberry.field
    def expiry_date(self) -> date | None:
        return self.match.source.expiry_date

    @typed.field(description="The searcher's existing linked account for this patron, if any.")
    def linked_account(self) -> Patron | None:
        return Patron.of(self.match.linked_account) if self.match.linked_account else None

    @typed.field(
        description="The searcher's own HOME account of the same person (sharing a "
        "consortial id), if it has one: linking answers with it and makes no copy."
    )
    def local_account(self) -> Patron | None:
        return Patron.of(self.match.local_account) if self.match.local_account else None


@strawberry.type
class NetworkPatronSearchResult:
    matches: list[NetworkPatron] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(default_factory=list)


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


@strawberry.type
class LinkAccountPayload:
    linked_account: Patron | None = None
    created: bool | None = strawberry.field(
        default=None, description="False when an existing linked account was refreshed instead."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


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
        raise DomainError.of(ErrorCode.NOT_FOUND, "There is no such rule.", ["input", "id"])
    return pk


def _patron_id(value: str) -> int:
    pk = decode_pk(value, "Patron")
    if pk is None:
        raise DomainError.of(
            ErrorCode.NOT_FOUND, "There is no such linked account.", ["input", "id"]
        )
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


def _refused(errors: list[UserError]) -> NoReturn:
    """A query's refusal: the first error, as a GraphQL error with its code."""
    raise GraphQLError(errors[0].message, extensions={"code": ErrorCode(errors[0].code).value})


@strawberry.type
class LinkingQueries:
    @typed.field(description="Find patrons of other members to link (shared fields only; audited).")
    async def network_patron_search(
        self, info: Info[Context, None], input: NetworkPatronSearchInput
    ) -> NetworkPatronSearchResult:
        ctx = info.context
        return await mutate(
            info,
            lambda s: search.network_search(
                session=s,
                settings=ctx.settings,
                actor=ctx.actor,
                identifier=input.identifier,
                identifier_type=input.identifier_type,
                name=input.name,
                institutions=input.institutions,
            ),
            lambda result: NetworkPatronSearchResult(
                matches=[NetworkPatron(match=m) for m in result.matches],
                errors=[
                    UserError(code=e.code, message=e.message, field=e.field) for e in result.errors
                ],
            ),
            NetworkPatronSearchResult,
        )

    @typed.field(
        description="Which rule would apply to a source patron and the dates it would give."
    )
    async def evaluate_linked_account_rules(
        self,
        info: Info[Context, None],
        institution: str,
        source_institution: str,
        source_user_group: str | None = None,
        source_expiry_date: date | None = None,
    ) -> RuleEvaluation:
        ctx = info.context
        result = await mutate(
            info,
            lambda s: rules.evaluate_for_admin(
                session=s,
                actor=ctx.actor,
                institution_code=institution,
                source_institution=source_institution,
                source_user_group=source_user_group,
                source_expiry=source_expiry_date,
            ),
            lambda evaluation: evaluation,
            _refused,
        )
        if result is None:
            raise GraphQLError(
                "This institution has no user groups, so it has no rules yet.",
                extensions={"code": "NOT_FOUND"},
            )
        group = await ctx.loaders.user_group_by_id.load(result.user_group_id)
        return RuleEvaluation(
            rule=LinkedAccountRule.of(result.rule),
            user_group=UserGroup.of(group),
            expiry_date=result.expiry_date,
            purge_date=result.purge_date,
        )


@strawberry.type
class LinkingMutations:
    @typed.mutation(description="Create (or refresh) the linked account of a network search match.")
    async def link_account(
        self, info: Info[Context, None], input: LinkAccountInput
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
        self, info: Info[Context, None], input: RefreshLinkedAccountInput
    ) -> LinkAccountPayload:
        ctx = info.context

        async def action(s: AsyncSession) -> service.LinkResult:
            return await service.refresh_linked_account(
                session=s, actor=ctx.actor, copy_id=_patron_id(input.id)
            )

        return await mutate(info, action, _link_answer(info), LinkAccountPayload)

    @typed.mutation(description="Delete a linked account.")
    async def unlink_account(
        self, info: Info[Context, None], input: UnlinkAccountInput
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
        self, info: Info[Context, None], input: CreateLinkedAccountRuleInput
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
        self, info: Info[Context, None], input: UpdateLinkedAccountRuleInput
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
        self, info: Info[Context, None], input: DuplicateLinkedAccountRuleInput
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
        self, info: Info[Context, None], input: DeleteLinkedAccountRuleInput
    ) -> LinkedAccountRulesPayload:
        ctx = info.context

        async def action(s: AsyncSession) -> list[RuleRow]:
            return await rules.delete_rule(session=s, actor=ctx.actor, rule_id=_rule_id(input.id))

        return await mutate(info, action, _rules_payload, LinkedAccountRulesPayload)

    @typed.mutation(description="Put every non-default rule in a new order.")
    async def reorder_linked_account_rules(
        self, info: Info[Context, None], input: ReorderLinkedAccountRulesInput
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
        self, info: Info[Context, None], input: AddRestrictedUserGroupInput
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

    @strawberry.mutation
    async def remove_restricted_user_group(
        self, info: Info[Context, None], input: RemoveRestrictedUserGroupInput
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
        self, info: Info[Context, None], input: SetSharedFieldsInput
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
        description="Let others find your patrons by this identifier type (only such types, once any is listed)."
    )
    async def add_searchable_identifier_type(
        self, info: Info[Context, None], input: SearchableIdentifierTypeInput
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

    @strawberry.mutation
    async def remove_searchable_identifier_type(
        self, info: Info[Context, None], input: SearchableIdentifierTypeInput
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
        self, info: Info[Context, None], input: LookupIdentifierTypeInput
    ) -> InstitutionPayload:
        return await _set_lookup_type(info, input, listed=True)

    @typed.mutation(description="Stop looking others' patrons up by this identifier type.")
    async def remove_lookup_identifier_type(
        self, info: Info[Context, None], input: LookupIdentifierTypeInput
    ) -> InstitutionPayload:
        return await _set_lookup_type(info, input, listed=False)

    @typed.mutation(description="Change an institution's network settings (SYSTEM_ADMIN).")
    async def update_institution_settings(
        self, info: Info[Context, None], input: UpdateInstitutionSettingsInput
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


provide("NetworkPatron", NetworkPatron)
