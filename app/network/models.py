"""Tables of the network structure."""

from datetime import datetime

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class Network(SQLModel, table=True):
    """The one network (consortium) this deployment serves."""

    __tablename__ = "network"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    # LIVE: source changes reach linked copies in the same transaction.
    # ON_INTERACTION: copies are refreshed only when linked again or refreshed.
    propagation_mode: str = Field(default="LIVE", max_length=20)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Institution(SQLModel, table=True):
    """A member of the network (a library system, a university, a school)."""

    __tablename__ = "institution"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200)
    network_search_by_name: bool = Field(default=False)
    # Others may find a patron by its username (an SSO subject) / its primary email
    # (where that field is shared): both off unless the institution opts in.
    network_search_by_username: bool = Field(default=False)
    network_search_by_email: bool = Field(default=False)
    email_service_enabled: bool = Field(default=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Library(SQLModel, table=True):
    """A service point of an institution; its code is unique in the network."""

    __tablename__ = "library"

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200)


class UserGroup(SQLModel, table=True):
    """A patron category of an institution (ADULT, STUDENT, FACULTY, ...)."""

    __tablename__ = "user_group"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    code: str = Field(max_length=40)
    name: str = Field(max_length=200)
    loan_period_days: int = Field(default=14)


class LibraryGroup(SQLModel, table=True):
    """An institution-defined group of patrons (e.g. Teachers)."""

    __tablename__ = "library_group"
    __table_args__ = (UniqueConstraint("institution_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=1000)


class IdentifierType(SQLModel, table=True):
    """A network-wide kind of patron identifier (BARCODE, ADMIN_SYSTEM_ID, UNIV_ID, ...)."""

    __tablename__ = "identifier_type"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200)
    network_unique: bool = Field(default=False)


class BlockType(SQLModel, table=True):
    """A kind of block an institution puts on patrons."""

    __tablename__ = "block_type"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    code: str = Field(max_length=40)
    description: str = Field(max_length=500)
    network: bool = Field(default=False)
    blocks_loans: bool = Field(default=True)


class PatronValueChoice(SQLModel, table=True):
    """An allowed value of a patron field (cohort or form class) in one institution.

    An institution that lists no value for a field takes free text there, as before.
    """

    __tablename__ = "patron_value_choice"
    __table_args__ = (UniqueConstraint("institution_id", "kind", "value_key"),)

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id")
    kind: str = Field(max_length=20)  # COHORT or FORM_CLASS
    # As listed (and as stored on patrons); value_key is its lower-cased form: values
    # are matched case-insensitively and are unique that way.
    value: str = Field(max_length=50)
    value_key: str = Field(max_length=50)
    description: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
