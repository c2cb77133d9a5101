"""Institution.alerts: shown to the institution's system administrators only."""

from __future__ import annotations

from strawberry.types import Info

from app.auth.policy import can_administer_institution
from app.emails import service as emails
from app.graphql.context import Context
from app.graphql.emails.types import InstitutionAlert
from app.network.models import Institution


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
