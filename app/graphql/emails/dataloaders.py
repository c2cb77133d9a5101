"""DataLoaders of the email checks; each gives one result per key, in key order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col
from strawberry.dataloader import DataLoader

from app.db import SerialSession
from app.emails.models import InstitutionEmailAlert, PatronEmailFlag
from app.graphql.loading import one_per_key


def email_flag_by_patron_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db,
        lambda ids: select(PatronEmailFlag).where(col(PatronEmailFlag.patron_id).in_(ids)),
        lambda r: r[0].patron_id,
    )


def email_alert_by_institution_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db,
        lambda ids: select(InstitutionEmailAlert).where(
            col(InstitutionEmailAlert.institution_id).in_(ids)
        ),
        lambda r: r[0].institution_id,
    )
