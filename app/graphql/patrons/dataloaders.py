"""DataLoaders of patron relations; each gives one result per patron id, in key order."""

from __future__ import annotations

from typing import Any

from strawberry.dataloader import DataLoader

from app.db import SerialSession
from app.graphql.loading import many_per_key, one_per_key
from app.patrons import queries


def patron_by_id(db: SerialSession) -> DataLoader[int, Any]:
    """Raw rows: callers apply visibility (see Loaders.visible_patron)."""
    return one_per_key(db, queries.PATRON_BY_ID, lambda r: r[0].id)


# The institution a linked account was copied from (a second Institution in one select).
def references_by_patron_id(db: SerialSession) -> DataLoader[int, Any]:
    """A patron's to-one references in one statement for the whole page: (patron id,
    user group, home library, institution, link rule, link source institution).

    Used through Loaders.patron_reference, which checks each against the row in hand."""
    return one_per_key(
        db,
        queries.REFERENCES_BY_PATRON_ID,
        lambda r: r[0],
    )


def identifiers_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        queries.IDENTIFIERS_BY_PATRON_ID,
        lambda r: r[2],
    )


def contact_emails_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        queries.CONTACT_EMAILS_BY_PATRON_ID,
        lambda r: r[0].patron_id,
    )


def library_groups_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        queries.LIBRARY_GROUPS_BY_PATRON_ID,
        lambda r: r[1],
    )


def system_groups_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        queries.SYSTEM_GROUPS_BY_PATRON_ID,
        lambda r: r[1],
    )


def libraries_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        queries.LIBRARIES_BY_PATRON_ID,
        lambda r: r[1],
    )


def blocks_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        queries.BLOCKS_BY_PATRON_ID,
        lambda r: r[0].patron_id,
    )


def photo_by_patron_id(db: SerialSession) -> DataLoader[int, Any]:
    """Photo metadata only; the bytes are loaded when asked for."""
    return one_per_key(
        db,
        queries.PHOTO_BY_PATRON_ID,
        lambda r: r[0],
    )


def photo_data_by_patron_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db,
        queries.PHOTO_DATA_BY_PATRON_ID,
        lambda r: r[1],
    )


def copies_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    """A HOME account's linked copies: (source id, institution id, linked at), oldest first."""
    return many_per_key(db, queries.COPIES_BY_SOURCE_ID, lambda r: r[0])
