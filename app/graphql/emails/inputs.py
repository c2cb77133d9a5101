"""Inputs of the email mutations."""

from __future__ import annotations

import strawberry

from app.graphql.emails.types import EmailBounceKind


@strawberry.input(description="An address the mail provider could not deliver to.")
class ReportEmailBounceInput:
    address: str = strawberry.field(description="The recipient address that bounced.")
    kind: EmailBounceKind = strawberry.field(description="Why it bounced.")  # type: ignore[valid-type]


@strawberry.input(description="An address to take off the blacklist.")
class RemoveEmailFromBlacklistInput:
    address: str = strawberry.field(description="The blacklisted address (any case).")
