"""Reads of the email checks' flags and alerts, by key (statements built once, see
app.sql.KEYS)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.emails.models import InstitutionEmailAlert, PatronEmailFlag
from app.sql import KEYS

EMAIL_FLAG_BY_PATRON_ID: Any = select(PatronEmailFlag).where(
    col(PatronEmailFlag.patron_id).in_(KEYS)
)

EMAIL_ALERT_BY_INSTITUTION_ID: Any = select(InstitutionEmailAlert).where(
    col(InstitutionEmailAlert.institution_id).in_(KEYS)
)
