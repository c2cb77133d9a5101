"""Tables of the collaborative network."""

from datetime import date
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


class LinkedAccountRule(SQLModel, table=True):
    """A target institution's rule for accounts copied from other members."""

    __tablename__ = "linked_account_rule"

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=1000)
    position: int
    is_default: bool = Field(default=False)
    # [{"parameter": ..., "operator": ..., "values": [...]}], all must hold
    conditions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    user_group_id: int = Field(foreign_key="user_group.id")
    expiry_mode: str = Field(default="NONE", max_length=30)
    expiry_date: date | None = None
    expiry_offset_days: int | None = None
    purge_mode: str = Field(default="NONE", max_length=30)
    purge_date: date | None = None
    purge_offset_days: int | None = None
    refresh_expiry_date: bool = Field(default=False)
    refresh_purge_date: bool = Field(default=False)
    resource_sharing_library_id: int | None = Field(default=None, foreign_key="library.id")
    copy_network_blocks: bool = Field(default=False)


class RestrictedUserGroup(SQLModel, table=True):
    """A user group whose patrons other members can neither find nor link."""

    __tablename__ = "restricted_user_group"

    institution_id: int = Field(foreign_key="institution.id", primary_key=True)
    user_group_id: int = Field(foreign_key="user_group.id", ondelete="CASCADE", primary_key=True)
    description: str | None = Field(default=None, max_length=1000)


class SharedFieldSetting(SQLModel, table=True):
    """Whether a source institution shares a field with linked copies and network search."""

    __tablename__ = "shared_field_setting"

    institution_id: int = Field(foreign_key="institution.id", primary_key=True)
    field: str = Field(max_length=40, primary_key=True)
    shared: bool


class LookupIdentifierType(SQLModel, table=True):
    """An identifier type by which the institution looks up other members' patrons
    (the target side; none listed: every type the sources allow)."""

    __tablename__ = "lookup_identifier_type"

    institution_id: int = Field(foreign_key="institution.id", primary_key=True)
    identifier_type_id: int = Field(
        foreign_key="identifier_type.id", ondelete="CASCADE", primary_key=True
    )


class SearchableIdentifierType(SQLModel, table=True):
    """An identifier type by which other members may find the institution's patrons."""

    __tablename__ = "searchable_identifier_type"

    institution_id: int = Field(foreign_key="institution.id", primary_key=True)
    identifier_type_id: int = Field(
        foreign_key="identifier_type.id", ondelete="CASCADE", primary_key=True
    )
    description: str | None = Field(default=None, max_length=1000)
