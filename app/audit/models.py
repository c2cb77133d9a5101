"""The audit table."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class AuditEntry(SQLModel, table=True):
    """Who did what to which entity, with the before/after of changed fields."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_entity", "entity_type", "entity_id", "id"),
        Index("ix_audit_entry_institution", "institution_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    institution_id: int | None = Field(default=None)
    actor_patron_id: int | None = Field(default=None)
    actor_client_id: int | None = Field(default=None)
    actor_name: str = Field(max_length=200)
    library_id: int | None = Field(default=None)
    action: str = Field(max_length=60)
    entity_type: str = Field(max_length=40)
    entity_id: int | None = Field(default=None)
    # {"field": {"before": ..., "after": ...}}; attribute values live under
    # "attribute:<CODE>" keys and are filtered for each reader.
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
