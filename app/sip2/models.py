"""The SIP account table: who may speak SIP2 to netzone, and what each one is sent."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class SipAccount(SQLModel, table=True):
    """A SIP2 login of one institution (a vendor, a self-check), with its field policy.

    `attribute_fields` is a list of {"type": <attribute type code>, "field": <SIP field
    code, e.g. "XK">, "send": "CODE" | "LABEL"}: small, always read with the account, and
    never queried by its parts, so a JSON column rather than a child table.
    """

    __tablename__ = "sip_account"

    id: int | None = Field(default=None, primary_key=True)
    login_id: str = Field(max_length=100, unique=True)
    secret_hash: str = Field(max_length=200)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    # The library the account acts for; limited attribute types need it in their limits.
    # None: an institution-wide account, which is sent unlimited attribute types only.
    library_id: int | None = Field(default=None, foreign_key="library.id")
    encoding: str = Field(default="UTF-8", max_length=10)  # UTF-8 or CP850
    ao_mode: str = Field(default="INSTITUTION", max_length=20)  # INSTITUTION or HOME_LIBRARY
    home_library_screen_message: bool = Field(default=False)
    attribute_fields: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    allow_empty_pin: bool = Field(default=False)
    enabled: bool = Field(default=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
