"""Bounce intake (the mail provider's webhook) and taking addresses off the blacklist."""

from __future__ import annotations

import strawberry

from app.emails import service
from app.graphql.core import mutation
from app.graphql.emails.inputs import RemoveEmailFromBlacklistInput, ReportEmailBounceInput
from app.graphql.emails.types import (
    BlacklistedEmail,
    RemoveEmailFromBlacklistPayload,
    ReportEmailBouncePayload,
)


@strawberry.type
class EmailMutations:
    report_email_bounce = mutation(
        "Blacklist an address the mail provider refuses and flag the patrons "
        "using it (API clients with scope email; reporting again changes nothing).",
        input=(ReportEmailBounceInput, "The address and why the provider refused it."),
        run=lambda s, ctx, input: service.report_email_bounce(
            session=s,
            actor=ctx.actor,
            address=input.address,
            kind=service.BounceKind(input.kind).value,
        ),
        answer=lambda row: ReportEmailBouncePayload(blacklisted=BlacklistedEmail(row=row)),
        payload=ReportEmailBouncePayload,
    )

    remove_email_from_blacklist = mutation(
        "Take an address off the blacklist and clear its patrons' alerts "
        "(SYSTEM_ADMIN of an institution whose patrons use it).",
        input=(RemoveEmailFromBlacklistInput, "The address to take off the blacklist."),
        run=lambda s, ctx, input: service.remove_from_blacklist(
            session=s, actor=ctx.actor, address=input.address
        ),
        answer=lambda address: RemoveEmailFromBlacklistPayload(removed_address=address),
        payload=RemoveEmailFromBlacklistPayload,
    )
