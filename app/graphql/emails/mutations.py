"""Bounce intake (the mail provider's webhook) and taking addresses off the blacklist."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.emails import service
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import mutate
from app.graphql.emails.inputs import RemoveEmailFromBlacklistInput, ReportEmailBounceInput
from app.graphql.emails.types import (
    BlacklistedEmail,
    RemoveEmailFromBlacklistPayload,
    ReportEmailBouncePayload,
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
