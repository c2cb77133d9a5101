"""Bounce intake (the mail provider's webhook) and taking addresses off the blacklist."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.emails import service
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import UserError, mutate
from app.graphql.emails.types import BlacklistedEmail, EmailBounceKind


@strawberry.input(description="An address the mail provider could not deliver to.")
class ReportEmailBounceInput:
    address: str = strawberry.field(description="The recipient address that bounced.")
    kind: EmailBounceKind = strawberry.field(description="Why it bounced.")  # type: ignore[valid-type]


@strawberry.type(description="The blacklist entry of the address, or what went wrong.")
class ReportEmailBouncePayload:
    blacklisted: BlacklistedEmail | None = strawberry.field(
        default=None, description="The address's entry (the first report's, if reported before)."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was blacklisted."
    )


@strawberry.input(description="An address to take off the blacklist.")
class RemoveEmailFromBlacklistInput:
    address: str = strawberry.field(description="The blacklisted address (any case).")


@strawberry.type(description="The address taken off the blacklist, or what went wrong.")
class RemoveEmailFromBlacklistPayload:
    removed_address: str | None = strawberry.field(
        default=None, description="The address taken off, lower-cased."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was removed."
    )


@strawberry.type
class EmailMutations:
    @typed.mutation(
        description="Blacklist an address the mail provider refuses and flag the patrons "
        "using it (API clients with scope email; reporting again changes nothing)."
    )
    async def report_email_bounce(
        self,
        info: Info[Context, None],
        input: Annotated[
            ReportEmailBounceInput,
            strawberry.argument(description="The address and why the provider refused it."),
        ],
    ) -> ReportEmailBouncePayload:
        ctx = info.context
        return await mutate(
            info,
            lambda s: service.report_email_bounce(
                session=s,
                actor=ctx.actor,
                address=input.address,
                kind=service.BounceKind(input.kind).value,
            ),
            lambda row: ReportEmailBouncePayload(blacklisted=BlacklistedEmail(row=row)),
            ReportEmailBouncePayload,
        )

    @typed.mutation(
        description="Take an address off the blacklist and clear its patrons' alerts "
        "(SYSTEM_ADMIN of an institution whose patrons use it)."
    )
    async def remove_email_from_blacklist(
        self,
        info: Info[Context, None],
        input: Annotated[
            RemoveEmailFromBlacklistInput,
            strawberry.argument(description="The address to take off the blacklist."),
        ],
    ) -> RemoveEmailFromBlacklistPayload:
        ctx = info.context
        return await mutate(
            info,
            lambda s: service.remove_from_blacklist(
                session=s, actor=ctx.actor, address=input.address
            ),
            lambda address: RemoveEmailFromBlacklistPayload(removed_address=address),
            RemoveEmailFromBlacklistPayload,
        )
