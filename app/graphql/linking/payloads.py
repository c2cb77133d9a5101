"""What the collaborative network's operations answer: payloads, and other members'
patrons as network search shows them."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types import Info

from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import UserError
from app.graphql.linking.types import (
    LinkedAccountRule,
)
from app.graphql.network.types import Institution, UserGroup
from app.graphql.patrons.types import ContactEmail, Patron
from app.graphql.registry import provide
from app.linking import search
from app.sql import saved_id


@strawberry.type
class LinkedAccountRulePayload:
    rule: LinkedAccountRule | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LinkedAccountRulesPayload:
    rules: list[LinkedAccountRule] | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class InstitutionPayload:
    institution: Institution | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


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


@strawberry.type
class LinkAccountPayload:
    linked_account: Patron | None = None
    created: bool | None = strawberry.field(
        default=None, description="False when an existing linked account was refreshed instead."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


provide("NetworkPatron", NetworkPatron)
