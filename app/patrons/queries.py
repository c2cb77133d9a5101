"""Reads of patrons and their relations, by key: statements built once, each with the
KEYS parameter for the batch of ids a DataLoader asks for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.db import fetch_rows
from app.linking.models import LinkedAccountRule
from app.network.models import (
    BlockType,
    IdentifierType,
    Institution,
    Library,
    LibraryGroup,
    UserGroup,
)
from app.patrons.models import (
    Patron,
    PatronBlock,
    PatronContactEmail,
    PatronIdentifier,
    PatronLibraryAccess,
    PatronLibraryGroup,
    PatronPhoto,
    PatronSystemGroup,
)
from app.sql import KEYS, InKeys, pk

_SOURCE = aliased(Institution)

# Raw rows: callers apply visibility (see Loaders.visible_patron).
PATRON_BY_ID: Any = select(Patron).where(col(Patron.id).in_(KEYS))

# A patron's to-one references in one statement for the whole page: (patron id,
# user group, home library, institution, link rule, link source institution).
#
# Used through Loaders.patron_reference, which checks each against the row in hand.
REFERENCES_BY_PATRON_ID: Any = (
    select(pk(Patron.id), UserGroup, Library, Institution, LinkedAccountRule, _SOURCE)
    .select_from(Patron)
    .join(Library, col(Library.id) == Patron.home_library_id)
    .join(Institution, col(Institution.id) == Patron.institution_id)
    .outerjoin(UserGroup, col(UserGroup.id) == Patron.user_group_id)
    .outerjoin(LinkedAccountRule, col(LinkedAccountRule.id) == Patron.link_rule_id)
    .outerjoin(_SOURCE, col(_SOURCE.id) == Patron.link_source_institution_id)
    .where(col(Patron.id).in_(KEYS))
)

IDENTIFIERS_BY_PATRON_ID: Any = (
    select(col(PatronIdentifier.value), IdentifierType, col(PatronIdentifier.patron_id))
    .join(IdentifierType, col(IdentifierType.id) == PatronIdentifier.identifier_type_id)
    .where(col(PatronIdentifier.patron_id).in_(KEYS))
    .order_by(col(IdentifierType.code), col(PatronIdentifier.id))
)

CONTACT_EMAILS_BY_PATRON_ID: Any = (
    select(PatronContactEmail)
    .where(col(PatronContactEmail.patron_id).in_(KEYS))
    .order_by(col(PatronContactEmail.position), col(PatronContactEmail.id))
)

LIBRARY_GROUPS_BY_PATRON_ID: Any = (
    select(LibraryGroup, col(PatronLibraryGroup.patron_id))
    .join(PatronLibraryGroup, col(PatronLibraryGroup.library_group_id) == LibraryGroup.id)
    .where(col(PatronLibraryGroup.patron_id).in_(KEYS))
    .order_by(col(LibraryGroup.name))
)

SYSTEM_GROUPS_BY_PATRON_ID: Any = (
    select(col(PatronSystemGroup.system_group), col(PatronSystemGroup.patron_id))
    .where(col(PatronSystemGroup.patron_id).in_(KEYS))
    .order_by(col(PatronSystemGroup.system_group))
)

LIBRARIES_BY_PATRON_ID: Any = (
    select(Library, col(PatronLibraryAccess.patron_id))
    .join(PatronLibraryAccess, col(PatronLibraryAccess.library_id) == Library.id)
    .where(col(PatronLibraryAccess.patron_id).in_(KEYS))
    .order_by(col(Library.code))
)

BLOCKS_BY_PATRON_ID: Any = (
    select(PatronBlock, BlockType)
    .join(BlockType, col(BlockType.id) == PatronBlock.block_type_id)
    .where(col(PatronBlock.patron_id).in_(KEYS))
    .order_by(col(PatronBlock.id))
)

# The same as plain rows (app.db.fetch_rows), for the compiled reads (search.Light):
# (patron id, value, type code, type name, type network-unique), in the same order.
IDENTIFIER_ROWS_BY_PATRON_ID: Any = (
    select(
        col(PatronIdentifier.patron_id),
        col(PatronIdentifier.value),
        col(IdentifierType.code),
        col(IdentifierType.name),
        col(IdentifierType.network_unique),
    )
    .join(IdentifierType, col(IdentifierType.id) == PatronIdentifier.identifier_type_id)
    .where(InKeys(col(PatronIdentifier.patron_id)))
    .order_by(col(IdentifierType.code), col(PatronIdentifier.id))
)

# (patron id, block id, note, origin, created at, expires at, type code, type
# description, type network, type blocks loans), oldest first.
BLOCK_ROWS_BY_PATRON_ID: Any = (
    select(
        col(PatronBlock.patron_id),
        pk(PatronBlock.id),
        col(PatronBlock.note),
        col(PatronBlock.origin),
        col(PatronBlock.created_at),
        col(PatronBlock.expires_at),
        col(BlockType.code),
        col(BlockType.description),
        col(BlockType.network),
        col(BlockType.blocks_loans),
    )
    .join(BlockType, col(BlockType.id) == PatronBlock.block_type_id)
    .where(InKeys(col(PatronBlock.patron_id)))
    .order_by(col(PatronBlock.id))
)

# Photo metadata only; the bytes are loaded when asked for.
PHOTO_BY_PATRON_ID: Any = select(
    col(PatronPhoto.patron_id),
    col(PatronPhoto.content_type),
    col(PatronPhoto.width),
    col(PatronPhoto.height),
    col(PatronPhoto.byte_size),
    col(PatronPhoto.updated_at),
).where(col(PatronPhoto.patron_id).in_(KEYS))

PHOTO_DATA_BY_PATRON_ID: Any = select(col(PatronPhoto.data), col(PatronPhoto.patron_id)).where(
    col(PatronPhoto.patron_id).in_(KEYS)
)


async def block_with_type(
    session: AsyncSession, block_id: int
) -> tuple[PatronBlock, BlockType] | None:
    """A block and its type, by the block's id."""
    row = (
        await session.execute(
            select(PatronBlock, BlockType)
            .join(BlockType, col(BlockType.id) == col(PatronBlock.block_type_id))
            .where(col(PatronBlock.id) == block_id)
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1])


# The linked copies of HOME accounts: (source patron id, institution id, linked at),
# oldest first.
COPIES_BY_SOURCE_ID: Any = (
    select(col(Patron.link_source_patron_id), col(Patron.institution_id), col(Patron.linked_at))
    .where(col(Patron.link_source_patron_id).in_(KEYS))
    .order_by(col(Patron.linked_at), col(Patron.id))
)


# The per-patron relations a compiled read may bring along, by name.
LIGHT_RELATIONS: dict[str, Any] = {
    "identifiers": IDENTIFIER_ROWS_BY_PATRON_ID,
    "blocks": BLOCK_ROWS_BY_PATRON_ID,
}


async def light_relation(
    session: AsyncSession, name: str, patron_ids: list[int]
) -> dict[int, list[Sequence[Any]]]:
    """The rows of one LIGHT_RELATIONS relation of these patrons (whom the caller may
    read), by patron id, in the relation's order; one statement."""
    found: dict[int, list[Sequence[Any]]] = {}
    if patron_ids:
        for row in await fetch_rows(session, LIGHT_RELATIONS[name], {"ids": patron_ids}):
            found.setdefault(row[0], []).append(row)
    return found


async def sources_with_copies(session: AsyncSession, patron_ids: Sequence[int]) -> list[int]:
    """Which of these patrons are the source of a linked copy (most are of none), in
    order: after a change of many patrons, the ones whose copies need the news."""
    found: set[int] = set()
    for start in range(0, len(patron_ids), 1000):
        chunk = list(patron_ids[start : start + 1000])
        rows = await session.execute(
            select(col(Patron.link_source_patron_id))
            .where(col(Patron.link_source_patron_id).in_(chunk))
            .distinct()
        )
        found.update(i for i in rows.scalars() if i is not None)
    return sorted(found)
