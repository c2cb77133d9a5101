"""Tables of sessions, API clients and login throttling."""

from datetime import datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class AuthToken(SQLModel, table=True):
    """A staff session: only the SHA-256 of the bearer token is stored."""

    __tablename__ = "auth_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    patron_id: int = Field(foreign_key="patron.id", ondelete="CASCADE", index=True)
    library_id: int = Field(foreign_key="library.id", ondelete="CASCADE")
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class ApiClient(SQLModel, table=True):
    """A machine client (discovery layer, vendor) of one institution, with scopes."""

    __tablename__ = "api_client"

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    library_id: int | None = Field(default=None, foreign_key="library.id")
    name: str = Field(max_length=200)
    token_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    enabled: bool = Field(default=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class LoginFailure(SQLModel, table=True):
    """One failed login from an address; used to throttle guessing."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_address_at", "address", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(max_length=100)
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
