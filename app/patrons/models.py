"""Tables of the patron registry."""

from datetime import date, datetime

from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint, func
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class Patron(SQLModel, table=True):
    """A person's (or a generic station's) account in one institution."""

    __tablename__ = "patron"
    __table_args__ = (
        UniqueConstraint("institution_id", "username_key"),
        # At most one linked account per (target institution, source patron).
        UniqueConstraint("institution_id", "link_source_patron_id"),
        # Name order (and surname prefix search) within an institution.
        Index("ix_patron_institution_name", "institution_id", "surname_key", "given_key", "id"),
        Index("ix_patron_institution_given", "institution_id", "given_key"),
        # Name prefix search (LIKE 'x%'): the pattern operator class lets PostgreSQL
        # use these whatever the database's collation.
        Index(
            "ix_patron_surname_prefix",
            "institution_id",
            "surname_key",
            postgresql_ops={"surname_key": "varchar_pattern_ops"},
        ),
        Index(
            "ix_patron_given_prefix",
            "institution_id",
            "given_key",
            postgresql_ops={"given_key": "varchar_pattern_ops"},
        ),
        Index(
            "ix_patron_username_prefix",
            "institution_id",
            "username_key",
            postgresql_ops={"username_key": "varchar_pattern_ops"},
        ),
        # The attribute discrepancy reports read these index-only at 1M patrons
        # (the INCLUDE columns apply on PostgreSQL).
        Index(
            "ix_patron_home_library_report",
            "home_library_id",
            "id",
            postgresql_include=["institution_id", "account_type", "user_group_id"],
        ),
        Index(
            "ix_patron_institution_report",
            "institution_id",
            "id",
            postgresql_include=["home_library_id", "account_type"],
        ),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id")
    home_library_id: int = Field(foreign_key="library.id")
    user_group_id: int | None = Field(default=None, foreign_key="user_group.id", index=True)
    account_type: str = Field(default="HOME", max_length=10)

    username: str | None = Field(default=None, max_length=200)
    username_key: str | None = Field(default=None, max_length=200)
    password_hash: str | None = Field(default=None, max_length=200)

    given_name: str | None = Field(default=None, max_length=200)
    middle_name: str | None = Field(default=None, max_length=200)
    preferred_name: str | None = Field(default=None, max_length=200)
    surname: str | None = Field(default=None, max_length=200)
    # Lower-cased names for ordering and search; "" when blank, so keyset pages work.
    surname_key: str = Field(default="", max_length=200)
    given_key: str = Field(default="", max_length=200)
    primary_email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=50)

    enabled: bool = Field(default=True)
    is_staff: bool = Field(default=False)
    is_generic: bool = Field(default=False)
    # Set to the institution id on the one public search account of an institution:
    # a unique column that is NULL elsewhere keeps "at most one" in the database.
    public_search_for: int | None = Field(default=None, unique=True)

    until: date | None = Field(default=None)
    expiry_date: date | None = Field(default=None)
    purge_date: date | None = Field(default=None, index=True)
    cohort: str | None = Field(default=None, max_length=50)
    form_class: str | None = Field(default=None, max_length=50)

    # LINKED accounts: where the copy comes from and under which rule it was made.
    link_source_patron_id: int | None = Field(
        default=None, foreign_key="patron.id", ondelete="SET NULL", index=True
    )
    link_source_institution_id: int | None = Field(default=None, foreign_key="institution.id")
    link_rule_id: int | None = Field(
        default=None, foreign_key="linked_account_rule.id", ondelete="SET NULL"
    )
    linked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    refreshed_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    link_status: str | None = Field(default=None, max_length=30)
    link_reason: str | None = Field(default=None, max_length=30)

    version: int = Field(default=1)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


# Preferred-name prefix search: an expression index, so it is declared on the table.
Index(
    "ix_patron_preferred_prefix",
    Patron.__table__.c.institution_id,  # type: ignore[attr-defined]
    func.lower(Patron.__table__.c.preferred_name).label("preferred_lower"),  # type: ignore[attr-defined]
    postgresql_ops={"preferred_lower": "varchar_pattern_ops"},
)


# Network search by primary email (institutions that opt in): an expression index.
Index(
    "ix_patron_email_lookup",
    func.lower(Patron.__table__.c.primary_email).label("email_lower"),  # type: ignore[attr-defined]
    Patron.__table__.c.institution_id,  # type: ignore[attr-defined]
)


class PatronIdentifier(SQLModel, table=True):
    """A typed identifier value; barcode and admin system id are identifiers too."""

    __tablename__ = "patron_identifier"
    __table_args__ = (
        UniqueConstraint("institution_id", "identifier_type_id", "value_key"),
        Index("ix_patron_identifier_lookup", "value_key", "institution_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patron_id: int = Field(foreign_key="patron.id", ondelete="CASCADE", index=True)
    institution_id: int = Field(foreign_key="institution.id")
    identifier_type_id: int = Field(foreign_key="identifier_type.id")
    value: str = Field(max_length=200)
    value_key: str = Field(max_length=200)


class PatronContactEmail(SQLModel, table=True):
    """An extra address for notices (a parent, a guardian)."""

    __tablename__ = "patron_contact_email"

    id: int | None = Field(default=None, primary_key=True)
    patron_id: int = Field(foreign_key="patron.id", ondelete="CASCADE", index=True)
    position: int = Field(default=0)
    address: str = Field(max_length=320)
    label: str | None = Field(default=None, max_length=100)


class PatronLibraryGroup(SQLModel, table=True):
    """Membership of a patron in a library group."""

    __tablename__ = "patron_library_group"

    patron_id: int = Field(foreign_key="patron.id", ondelete="CASCADE", primary_key=True)
    library_group_id: int = Field(
        foreign_key="library_group.id", ondelete="CASCADE", primary_key=True, index=True
    )


class PatronSystemGroup(SQLModel, table=True):
    """A system group (role) held by a patron."""

    __tablename__ = "patron_system_group"

    patron_id: int = Field(foreign_key="patron.id", ondelete="CASCADE", primary_key=True)
    system_group: str = Field(max_length=30, primary_key=True)


class PatronLibraryAccess(SQLModel, table=True):
    """Libraries a staff account may log in at, or a generic account may search."""

    __tablename__ = "patron_library_access"

    patron_id: int = Field(foreign_key="patron.id", ondelete="CASCADE", primary_key=True)
    library_id: int = Field(foreign_key="library.id", ondelete="CASCADE", primary_key=True)


class PatronPhoto(SQLModel, table=True):
    """The patron's photo, validated and stored in the database."""

    __tablename__ = "patron_photo"

    patron_id: int = Field(foreign_key="patron.id", ondelete="CASCADE", primary_key=True)
    content_type: str = Field(max_length=50)
    width: int
    height: int
    byte_size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class PatronBlock(SQLModel, table=True):
    """A block on a patron: LOCAL, or COPIED from a linked account's source."""

    __tablename__ = "patron_block"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: int | None = Field(default=None, primary_key=True)
    patron_id: int = Field(foreign_key="patron.id", ondelete="CASCADE", index=True)
    block_type_id: int = Field(foreign_key="block_type.id")
    note: str | None = Field(default=None, max_length=1000)
    origin: str = Field(default="LOCAL", max_length=10)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
