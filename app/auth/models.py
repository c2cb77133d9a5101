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
    """One password check from an address in the last minute (a failure, or one under way:
    it is written before the check and removed when the password was right)."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_address_at", "address", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(max_length=100)
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class LoginNameFailure(SQLModel, table=True):
    """Failed logins of a username that names no account, so that it locks after as many
    failures as a real account would, and answers alike (keyed by a digest of the
    institution and the name; rows go once their lock and window have passed)."""

    __tablename__ = "login_name_failure"

    name_key: str = Field(primary_key=True, max_length=64)
    failures: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
