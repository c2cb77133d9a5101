"""GraphQL types of the email checks."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.auth.policy import can_administer_institution
from app.emails import models
from app.emails import service as emails
from app.emails.service import BounceKind as BounceKindEnum
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import UserError, described_enum
from app.network.models import Institution

EmailBounceKind = described_enum(
    BounceKindEnum,
    name="EmailBounceKind",
    description="HARD_BOUNCE: the mailbox does not exist. COMPLAINT: the recipient "
    "marked mail as spam. INVALID: the provider refuses the address.",
    values={
        BounceKindEnum.HARD_BOUNCE: "The mailbox does not exist.",
        BounceKindEnum.COMPLAINT: "The recipient marked mail as spam.",
        BounceKindEnum.INVALID: "The provider refuses the address.",
    },
)


@strawberry.type(description="An address on the blacklist: no email is sent to it.")
class BlacklistedEmail:
    row: strawberry.Private[models.EmailBlacklistEntry]

    @typed.field(description="The address, lower-cased.")
    def address(self) -> str:
        return self.row.address

    @typed.field(description="Why the provider refused it (as first reported).")
    def kind(self) -> EmailBounceKind:  # type: ignore[valid-type]
        return BounceKindEnum(self.row.kind)

    @typed.field(description="When it was first reported.")
    def reported_at(self) -> datetime:
        return self.row.reported_at


@strawberry.type(description="Something an institution's system administrators must act on.")
class InstitutionAlert:
    code: str = strawberry.field(
        description="EMAIL_ADDRESSES_FLAGGED: patrons' primary emails are invalid or "
        "blacklisted; the email service is off until they are corrected."
    )
    message: str = strawberry.field(description="What is wrong, for a librarian.")
    count: int = strawberry.field(description="How many patrons are concerned.")
    raised_at: datetime = strawberry.field(description="When the alert was raised.")


@strawberry.type(description="The blacklist entry of the address, or what went wrong.")
class ReportEmailBouncePayload:
    blacklisted: BlacklistedEmail | None = strawberry.field(
        default=None, description="The address's entry (the first report's, if reported before)."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was blacklisted."
    )


@strawberry.type(description="The address taken off the blacklist, or what went wrong.")
class RemoveEmailFromBlacklistPayload:
    removed_address: str | None = strawberry.field(
        default=None, description="The address taken off, lower-cased."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Why nothing was removed."
    )


async def institution_alerts(
    info: Info[Context, None], institution: Institution
) -> list[InstitutionAlert]:
    assert institution.id is not None
    if not can_administer_institution(info.context.actor, institution.id):
        return []
    row = await info.context.loaders.email_alert_by_institution_id.load(institution.id)
    return [
        InstitutionAlert(
            code=alert.code,
            message=alert.message,
            count=row.flagged_count,
            raised_at=row.raised_at,
        )
        for alert in emails.institution_alerts(row, institution.email_service_enabled)
    ]
