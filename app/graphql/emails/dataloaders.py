"""DataLoaders of the email checks; each gives one result per key, in key order."""

from __future__ import annotations

from typing import Any

from strawberry.dataloader import DataLoader

from app.db import SerialSession
from app.emails import queries
from app.graphql.loading import one_per_key


def email_flag_by_patron_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db,
        queries.EMAIL_FLAG_BY_PATRON_ID,
        lambda r: r[0].patron_id,
    )


def email_alert_by_institution_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db,
        queries.EMAIL_ALERT_BY_INSTITUTION_ID,
        lambda r: r[0].institution_id,
    )
