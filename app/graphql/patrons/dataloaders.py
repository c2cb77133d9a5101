"""DataLoaders of patron relations; each gives one result per patron id, in key order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased
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


def patron_by_id(db: SerialSession) -> DataLoader[int, Any]:
    """Raw rows: callers apply visibility (see Loaders.visible_patron)."""
    return one_per_key(db, lambda ids: select(Patron).where(Patron.id.in_(ids)), lambda r: r[0].id)


def references_by_patron_id(db: SerialSession) -> DataLoader[int, Any]:
    """A patron's to-one references in one statement for the whole page: (patron id,
    user group, home library, institution, link rule, link source institution).

    Used through Loaders.patron_reference, which checks each against the row in hand."""
    source = aliased(Institution)
    return one_per_key(
        db,
        lambda ids: (
            select(Patron.id, UserGroup, Library, Institution, LinkedAccountRule, source)
            .select_from(Patron)
            .join(Library, Library.id == Patron.home_library_id)
            .join(Institution, Institution.id == Patron.institution_id)
            .outerjoin(UserGroup, UserGroup.id == Patron.user_group_id)
            .outerjoin(LinkedAccountRule, LinkedAccountRule.id == Patron.link_rule_id)
            .outerjoin(source, source.id == Patron.link_source_institution_id)
            .where(Patron.id.in_(ids))
        ),
        lambda r: r[0],
    )


def identifiers_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(PatronIdentifier, IdentifierType)
            .join(IdentifierType, IdentifierType.id == PatronIdentifier.identifier_type_id)
            .where(PatronIdentifier.patron_id.in_(ids))
            .order_by(IdentifierType.code)
        ),
        lambda r: r[0].patron_id,
    )


def contact_emails_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(PatronContactEmail)
            .where(PatronContactEmail.patron_id.in_(ids))
            .order_by(PatronContactEmail.position, PatronContactEmail.id)
        ),
        lambda r: r[0].patron_id,
    )


def library_groups_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(LibraryGroup, PatronLibraryGroup.patron_id)
            .join(PatronLibraryGroup, PatronLibraryGroup.library_group_id == LibraryGroup.id)
            .where(PatronLibraryGroup.patron_id.in_(ids))
            .order_by(LibraryGroup.name)
        ),
        lambda r: r[1],
    )


def system_groups_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(PatronSystemGroup.system_group, PatronSystemGroup.patron_id)
            .where(PatronSystemGroup.patron_id.in_(ids))
            .order_by(PatronSystemGroup.system_group)
        ),
        lambda r: r[1],
    )


def libraries_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(Library, PatronLibraryAccess.patron_id)
            .join(PatronLibraryAccess, PatronLibraryAccess.library_id == Library.id)
            .where(PatronLibraryAccess.patron_id.in_(ids))
            .order_by(Library.code)
        ),
        lambda r: r[1],
    )


def blocks_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(PatronBlock, BlockType)
            .join(BlockType, BlockType.id == PatronBlock.block_type_id)
            .where(PatronBlock.patron_id.in_(ids))
            .order_by(PatronBlock.id)
        ),
        lambda r: r[0].patron_id,
    )


def photo_by_patron_id(db: SerialSession) -> DataLoader[int, Any]:
    """Photo metadata only; the bytes are loaded when asked for."""
    return one_per_key(
        db,
        lambda ids: select(
            PatronPhoto.patron_id,
            PatronPhoto.content_type,
            PatronPhoto.width,
            PatronPhoto.height,
            PatronPhoto.byte_size,
            PatronPhoto.updated_at,
        ).where(PatronPhoto.patron_id.in_(ids)),
        lambda r: r[0],
    )


def photo_data_by_patron_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db,
        lambda ids: select(PatronPhoto.data, PatronPhoto.patron_id).where(
            PatronPhoto.patron_id.in_(ids)
        ),
        lambda r: r[1],
    )
