"""Reads of the network structure, by key: statements built once, each with the KEYS
parameter for the batch of ids a DataLoader asks for."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.linking.models import LinkedAccountRule
from app.network.models import (
    BlockType,
    IdentifierType,
    Institution,
    Library,
    LibraryGroup,
    PatronValueChoice,
    UserGroup,
)
from app.sql import KEYS

INSTITUTION_BY_ID: Any = select(Institution).where(col(Institution.id).in_(KEYS))

LIBRARY_BY_ID: Any = select(Library).where(col(Library.id).in_(KEYS))

USER_GROUP_BY_ID: Any = select(UserGroup).where(col(UserGroup.id).in_(KEYS))

LIBRARY_GROUP_BY_ID: Any = select(LibraryGroup).where(col(LibraryGroup.id).in_(KEYS))

BLOCK_TYPE_BY_ID: Any = select(BlockType).where(col(BlockType.id).in_(KEYS))

IDENTIFIER_TYPE_BY_ID: Any = select(IdentifierType).where(col(IdentifierType.id).in_(KEYS))

LINK_RULE_BY_ID: Any = select(LinkedAccountRule).where(col(LinkedAccountRule.id).in_(KEYS))

LIBRARIES_BY_INSTITUTION_ID: Any = (
    select(Library).where(col(Library.institution_id).in_(KEYS)).order_by(col(Library.code))
)

USER_GROUPS_BY_INSTITUTION_ID: Any = (
    select(UserGroup).where(col(UserGroup.institution_id).in_(KEYS)).order_by(col(UserGroup.code))
)

LIBRARY_GROUPS_BY_INSTITUTION_ID: Any = (
    select(LibraryGroup)
    .where(col(LibraryGroup.institution_id).in_(KEYS))
    .order_by(col(LibraryGroup.name))
)

BLOCK_TYPES_BY_INSTITUTION_ID: Any = (
    select(BlockType).where(col(BlockType.institution_id).in_(KEYS)).order_by(col(BlockType.code))
)

VALUE_CHOICES_BY_INSTITUTION_ID: Any = select(PatronValueChoice).where(
    col(PatronValueChoice.institution_id).in_(KEYS)
)


async def institutions(session: AsyncSession) -> list[Institution]:
    """Every member institution, by code."""
    rows = await session.execute(select(Institution).order_by(col(Institution.code)))
    return list(rows.scalars())


async def identifier_types(session: AsyncSession) -> list[IdentifierType]:
    """Every identifier type of the network, by code."""
    rows = await session.execute(select(IdentifierType).order_by(col(IdentifierType.code)))
    return list(rows.scalars())
