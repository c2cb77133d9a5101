"""Patron.alerts: what staff must know about a patron (shown at checkout too)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.emails import service as emails
from app.graphql.context import Context
from app.patrons.models import Patron
from app.sql import saved_id


@strawberry.type(description="Something staff must know about a patron, e.g. at checkout.")
class PatronAlert:
    code: str = strawberry.field(
        description="EMAIL_BLACKLISTED: emails to the primary address bounce. "
        "EMAIL_INVALID: the primary address is not a valid address."
    )
    message: str = strawberry.field(description="What is wrong and what to do, for a librarian.")


async def patron_alerts(info: Info[Context, None], patron: Patron) -> list[PatronAlert]:
    flag = await info.context.loaders.email_flag_by_patron_id.load(saved_id(patron))
    return [
        PatronAlert(code=alert.code, message=alert.message)
        for alert in emails.patron_alerts(flag, patron.primary_email)
    ]
