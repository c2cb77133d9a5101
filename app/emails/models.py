"""Tables of the email checks: the blacklist, flagged patrons and institution alerts."""

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow
from app.patrons.models import Patron

# A bounce finds the patrons using the address through this index (a plain one: SQLite
# cannot reflect an index on lower(primary_email), so `alembic check` could not cover it).
# Patrons whose stored address differs from the reported one in case are found by the
# daily check, which compares lower-cased addresses.
PATRON_EMAIL_INDEX = Index(
    "ix_patron_primary_email",
    Patron.__table__.c.primary_email,  # type: ignore[attr-defined]
)


class EmailBlacklistEntry(SQLModel, table=True):
    """An address the mail provider refuses to send to (network-wide)."""

    __tablename__ = "email_blacklist"

    id: int | None = Field(default=None, primary_key=True)
    # Lower-cased and trimmed: one entry per address whatever the case it was reported in.
    address: str = Field(max_length=320, unique=True)
    kind: str = Field(max_length=20)  # HARD_BOUNCE, COMPLAINT or INVALID
    source: str = Field(max_length=200)  # who reported it (the API client's name)
    reported_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class PatronEmailFlag(SQLModel, table=True):
    """A patron whose primary email is blacklisted or invalid, until the address changes.

    The flagged address is kept so a flag never outlives the address it was about, even
    when the address changes by a path that does not clear flags (linked copies).
    """

    __tablename__ = "patron_email_flag"

    patron_id: int = Field(foreign_key="patron.id", ondelete="CASCADE", primary_key=True)
    # Patrons never change institution; kept here so an institution's flags count cheaply.
    institution_id: int = Field(foreign_key="institution.id", ondelete="CASCADE", index=True)
    address: str = Field(max_length=320, index=True)  # lower-cased primary email
    reason: str = Field(max_length=20)  # BLACKLISTED or INVALID
    flagged_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class InstitutionEmailAlert(SQLModel, table=True):
    """Raised by the email check for an institution with flagged addresses."""

    __tablename__ = "institution_email_alert"

    institution_id: int = Field(foreign_key="institution.id", ondelete="CASCADE", primary_key=True)
    flagged_count: int = Field(default=0)
    raised_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    checked_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # The audit entry of the check turning the email service off; None when the check
    # did not (it was off already). The check turns the service back on only if it
    # turned it off and nobody changed the setting since: an admin's choice stands.
    disabled_audit_id: int | None = Field(default=None)
