"""DataLoaders of patron relations; each gives one result per patron id, in key order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import col
from strawberry.dataloader import DataLoader

from app.db import SerialSession
from app.graphql.loading import many_per_key, one_per_key
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
from app.sql import pk


def patron_by_id(db: SerialSession) -> DataLoader[int, Any]:
    """Raw rows: callers apply visibility (see Loaders.visible_patron)."""
    return one_per_key(
        db, lambda ids: select(Patron).where(col(Patron.id).in_(ids)), lambda r: r[0].id
    )


# The institution a linked account was copied from (a second Institution in one select).
_SOURCE = aliased(Institution)


def references_by_patron_id(db: SerialSession) -> DataLoader[int, Any]:
    """A patron's to-one references in one statement for the whole page: (patron id,
    user group, home library, institution, link rule, link source institution).

    Used through Loaders.patron_reference, which checks each against the row in hand."""
    return one_per_key(
        db,
        lambda ids: (
            select(pk(Patron.id), UserGroup, Library, Institution, LinkedAccountRule, _SOURCE)
            .select_from(Patron)
            .join(Library, col(Library.id) == Patron.home_library_id)
            .join(Institution, col(Institution.id) == Patron.institution_id)
            .outerjoin(UserGroup, col(UserGroup.id) == Patron.user_group_id)
            .outerjoin(LinkedAccountRule, col(LinkedAccountRule.id) == Patron.link_rule_id)
            .outerjoin(_SOURCE, col(_SOURCE.id) == Patron.link_source_institution_id)
            .where(col(Patron.id).in_(ids))
        ),
        lambda r: r[0],
    )


def identifiers_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            # (value, type, patron id): the values as plain columns, no entity per row.
            select(col(PatronIdentifier.value), IdentifierType, col(PatronIdentifier.patron_id))
            .join(IdentifierType, col(IdentifierType.id) == PatronIdentifier.identifier_type_id)
            .where(col(PatronIdentifier.patron_id).in_(ids))
            .order_by(col(IdentifierType.code))
        ),
        lambda r: r[2],
    )


def contact_emails_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(PatronContactEmail)
            .where(col(PatronContactEmail.patron_id).in_(ids))
            .order_by(col(PatronContactEmail.position), col(PatronContactEmail.id))
        ),
        lambda r: r[0].patron_id,
    )


def library_groups_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(LibraryGroup, col(PatronLibraryGroup.patron_id))
            .join(PatronLibraryGroup, col(PatronLibraryGroup.library_group_id) == LibraryGroup.id)
            .where(col(PatronLibraryGroup.patron_id).in_(ids))
            .order_by(col(LibraryGroup.name))
        ),
        lambda r: r[1],
    )


def system_groups_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(col(PatronSystemGroup.system_group), col(PatronSystemGroup.patron_id))
            .where(col(PatronSystemGroup.patron_id).in_(ids))
            .order_by(col(PatronSystemGroup.system_group))
        ),
        lambda r: r[1],
    )


def libraries_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(Library, col(PatronLibraryAccess.patron_id))
            .join(PatronLibraryAccess, col(PatronLibraryAccess.library_id) == Library.id)
            .where(col(PatronLibraryAccess.patron_id).in_(ids))
            .order_by(col(Library.code))
        ),
        lambda r: r[1],
    )


def blocks_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(PatronBlock, BlockType)
            .join(BlockType, col(BlockType.id) == PatronBlock.block_type_id)
            .where(col(PatronBlock.patron_id).in_(ids))
            .order_by(col(PatronBlock.id))
        ),
        lambda r: r[0].patron_id,
    )


def photo_by_patron_id(db: SerialSession) -> DataLoader[int, Any]:
    """Photo metadata only; the bytes are loaded when asked for."""
    return one_per_key(
        db,
        lambda ids: select(
            col(PatronPhoto.patron_id),
            col(PatronPhoto.content_type),
            col(PatronPhoto.width),
            col(PatronPhoto.height),
            col(PatronPhoto.byte_size),
            col(PatronPhoto.updated_at),
        ).where(col(PatronPhoto.patron_id).in_(ids)),
        lambda r: r[0],
    )


def photo_data_by_patron_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db,
        lambda ids: select(col(PatronPhoto.data), col(PatronPhoto.patron_id)).where(
            col(PatronPhoto.patron_id).in_(ids)
        ),
        lambda r: r[1],
    )
