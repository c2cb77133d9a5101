"""Tables of attribute types and patron attribute values."""

from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class AttributeType(SQLModel, table=True):
    """A kind of patron attribute an institution defines (e.g. Kanopy (LANSING))."""

    __tablename__ = "attribute_type"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    code: str = Field(max_length=40)
    label: str = Field(max_length=200)
    repeatable: bool = Field(default=False)
    unique: bool = Field(default=False)
    mandatory: bool = Field(default=False)
    # The home-library rule: in-scope libraries live in attribute_type_rule_library.
    rule_in_scope_value: str | None = Field(default=None, max_length=80)
    rule_out_of_scope_value: str | None = Field(default=None, max_length=80)
    apply_rule_for_all_sessions: bool = Field(default=False)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class AttributeAuthorisedValue(SQLModel, table=True):
    """One allowed value of a type; a type without any takes free text."""

    __tablename__ = "attribute_authorised_value"
    __table_args__ = (UniqueConstraint("attribute_type_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    attribute_type_id: int = Field(foreign_key="attribute_type.id", ondelete="CASCADE")
    code: str = Field(max_length=80)
    label: str = Field(max_length=200)
    position: int = Field(default=0)


class AttributeTypeLibraryLimit(SQLModel, table=True):
    """A library whose sessions may see and change values of the type."""

    __tablename__ = "attribute_type_library_limit"

    attribute_type_id: int = Field(
        foreign_key="attribute_type.id", ondelete="CASCADE", primary_key=True
    )
    library_id: int = Field(foreign_key="library.id", ondelete="CASCADE", primary_key=True)


class AttributeTypeRuleLibrary(SQLModel, table=True):
    """A library in the scope of the type's home-library rule."""

    __tablename__ = "attribute_type_rule_library"

    attribute_type_id: int = Field(
        foreign_key="attribute_type.id", ondelete="CASCADE", primary_key=True
    )
    library_id: int = Field(foreign_key="library.id", ondelete="CASCADE", primary_key=True)


class AttributeTypeExcludedGroup(SQLModel, table=True):
    """A user group the type's discrepancy reports leave out (e.g. STAFF)."""

    __tablename__ = "attribute_type_excluded_group"

    attribute_type_id: int = Field(
        foreign_key="attribute_type.id", ondelete="CASCADE", primary_key=True
    )
    user_group_id: int = Field(foreign_key="user_group.id", ondelete="CASCADE", primary_key=True)


class PatronAttribute(SQLModel, table=True):
    """One value of an attribute on a patron."""

    __tablename__ = "patron_attribute"
    __table_args__ = (
        UniqueConstraint("patron_id", "attribute_type_id", "value"),
        # Set only for types whose values are unique: the database keeps them unique.
        UniqueConstraint("attribute_type_id", "unique_key"),
        Index("ix_patron_attribute_type_value", "attribute_type_id", "value", "patron_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patron_id: int = Field(foreign_key="patron.id", ondelete="CASCADE", index=True)
    attribute_type_id: int = Field(foreign_key="attribute_type.id", ondelete="CASCADE")
    value: str = Field(max_length=500)
    unique_key: str | None = Field(default=None, max_length=500)
