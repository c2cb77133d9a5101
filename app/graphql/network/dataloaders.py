"""DataLoaders of the network structure."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import col
from strawberry.dataloader import DataLoader

from app.db import SerialSession
from app.graphql.loading import many_per_key, one_per_key
from app.network.models import (
    BlockType,
    IdentifierType,
    Institution,
    Library,
    LibraryGroup,
    UserGroup,
)


def institution_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db, lambda ids: select(Institution).where(col(Institution.id).in_(ids)), lambda r: r[0].id
    )


def library_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db, lambda ids: select(Library).where(col(Library.id).in_(ids)), lambda r: r[0].id
    )


def user_group_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db, lambda ids: select(UserGroup).where(col(UserGroup.id).in_(ids)), lambda r: r[0].id
    )


def library_group_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db, lambda ids: select(LibraryGroup).where(col(LibraryGroup.id).in_(ids)), lambda r: r[0].id
    )


def block_type_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db, lambda ids: select(BlockType).where(col(BlockType.id).in_(ids)), lambda r: r[0].id
    )


def identifier_type_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db,
        lambda ids: select(IdentifierType).where(col(IdentifierType.id).in_(ids)),
        lambda r: r[0].id,
    )


def link_rule_by_id(db: SerialSession) -> DataLoader[int, Any]:
    from app.linking.models import LinkedAccountRule

    return one_per_key(
        db,
        lambda ids: select(LinkedAccountRule).where(col(LinkedAccountRule.id).in_(ids)),
        lambda r: r[0].id,
    )


def libraries_by_institution_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(Library).where(col(Library.institution_id).in_(ids)).order_by(col(Library.code))
        ),
        lambda r: r[0].institution_id,
    )


def user_groups_by_institution_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(UserGroup)
            .where(col(UserGroup.institution_id).in_(ids))
            .order_by(col(UserGroup.code))
        ),
        lambda r: r[0].institution_id,
    )


def library_groups_by_institution_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(LibraryGroup)
            .where(col(LibraryGroup.institution_id).in_(ids))
            .order_by(col(LibraryGroup.name))
        ),
        lambda r: r[0].institution_id,
    )


def block_types_by_institution_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(BlockType)
            .where(col(BlockType.institution_id).in_(ids))
            .order_by(col(BlockType.code))
        ),
        lambda r: r[0].institution_id,
    )
