"""Reads of patron attribute values, by key (statements built once, see app.sql.KEYS)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.attributes.models import PatronAttribute
from app.sql import KEYS

ATTRIBUTE_VALUES_BY_PATRON_ID: Any = (
    select(
        col(PatronAttribute.attribute_type_id),
        col(PatronAttribute.value),
        col(PatronAttribute.patron_id),
    )
    .where(col(PatronAttribute.patron_id).in_(KEYS))
    .order_by(col(PatronAttribute.id))
)
