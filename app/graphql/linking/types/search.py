"""Other members' patrons as network search shows them, and the payload of linking one."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types import Info

from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import PAYLOAD_ERRORS, UserError
from app.graphql.network.types import Institution, UserGroup
from app.graphql.patrons.types import ContactEmail, Patron
from app.graphql.registry import provide
from app.linking import search
from app.sql import saved_id


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

    @typed.field(description="The patron's (source) institution.")
    def institution(self) -> Institution:
        return Institution.of(self.match.policy.institution)

    @typed.field(description="The patron's user group in its institution.")
    async def user_group(self, info: Info[Context, None]) -> UserGroup | None:
        if self.match.source.user_group_id is None:
            return None
        return UserGroup.of(
            await info.context.loaders.user_group_by_id.load(self.match.source.user_group_id)
        )

    @typed.field(description="Null unless the source institution shares GIVEN_NAME.")
    def given_name(self) -> str | None:
        return self._shared("GIVEN_NAME", "given_name")

    @typed.field(description="Null unless the source institution shares MIDDLE_NAME.")
    def middle_name(self) -> str | None:
        return self._shared("MIDDLE_NAME", "middle_name")

    @typed.field(description="Null unless the source institution shares PREFERRED_NAME.")
    def preferred_name(self) -> str | None:
        return self._shared("PREFERRED_NAME", "preferred_name")

    @typed.field(description="Null unless the source institution shares SURNAME.")
    def surname(self) -> str | None:
        return self._shared("SURNAME", "surname")

    @typed.field(description="Null unless the source institution shares PRIMARY_EMAIL.")
    def primary_email(self) -> str | None:
        return self._shared("PRIMARY_EMAIL", "primary_email")

    @typed.field(description="Null unless the source institution shares CONTACT_EMAILS.")
    async def contact_emails(self, info: Info[Context, None]) -> list[ContactEmail] | None:
        if "CONTACT_EMAILS" not in self.match.policy.shared:
            return None
        rows = await info.context.loaders.contact_emails_by_patron_id.load(
            saved_id(self.match.source)
        )
        return [ContactEmail(address=r.address, label=r.label) for r in rows]

    @typed.field(description="Null unless the source institution shares PHONE.")
    def phone(self) -> str | None:
        return self._shared("PHONE", "phone")

    @typed.field(description="Null unless the source institution shares COHORT.")
    def cohort(self) -> str | None:
        return self._shared("COHORT", "cohort")

    @typed.field(description="Null unless the source institution shares FORM_CLASS.")
    def form_class(self) -> str | None:
        return self._shared("FORM_CLASS", "form_class")

    @typed.field(description="Last day the source account is valid; null: it never expires.")
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


@strawberry.type(
    description="Matches from the source institutions searched, and why some could not answer."
)
class NetworkPatronSearchResult:
    matches: list[NetworkPatron] = strawberry.field(
        default_factory=list,
        description="Patrons found; restricted, linked, disabled and expired accounts are "
        ""
        "never listed.",
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description="Refusals of single sources (e.g. AMBIGUOUS_IDENTIFIER, "
        "NAME_SEARCH_NOT_ALLOWED); matches from other sources are still "
        "listed.",
    )


@strawberry.type(description="The linked account, or what went wrong.")
class LinkAccountPayload:
    linked_account: Patron | None = strawberry.field(
        default=None,
        description="The linked account as created or refreshed (or your own HOME account "
        ""
        "of the same person); null when `errors` is not empty.",
    )
    created: bool | None = strawberry.field(
        default=None, description="False when an existing linked account was refreshed instead."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


provide("NetworkPatron", NetworkPatron)
