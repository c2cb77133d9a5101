"""DataLoaders of the network structure."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
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
        db, lambda ids: select(Institution).where(Institution.id.in_(ids)), lambda r: r[0].id
    )


def library_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db, lambda ids: select(Library).where(Library.id.in_(ids)), lambda r: r[0].id
    )


def user_group_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db, lambda ids: select(UserGroup).where(UserGroup.id.in_(ids)), lambda r: r[0].id
    )


def library_group_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db, lambda ids: select(LibraryGroup).where(LibraryGroup.id.in_(ids)), lambda r: r[0].id
    )


def block_type_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db, lambda ids: select(BlockType).where(BlockType.id.in_(ids)), lambda r: r[0].id
    )


def identifier_type_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db, lambda ids: select(IdentifierType).where(IdentifierType.id.in_(ids)), lambda r: r[0].id
    )


def link_rule_by_id(db: SerialSession) -> DataLoader[int, Any]:
    from app.linking.models import LinkedAccountRule

    return one_per_key(
        db,
        lambda ids: select(LinkedAccountRule).where(LinkedAccountRule.id.in_(ids)),
        lambda r: r[0].id,
    )


def libraries_by_institution_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: select(Library).where(Library.institution_id.in_(ids)).order_by(Library.code),
        lambda r: r[0].institution_id,
    )


def user_groups_by_institution_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(UserGroup).where(UserGroup.institution_id.in_(ids)).order_by(UserGroup.code)
        ),
        lambda r: r[0].institution_id,
    )


def library_groups_by_institution_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(LibraryGroup)
            .where(LibraryGroup.institution_id.in_(ids))
            .order_by(LibraryGroup.name)
        ),
        lambda r: r[0].institution_id,
    )


def block_types_by_institution_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        lambda ids: (
            select(BlockType).where(BlockType.institution_id.in_(ids)).order_by(BlockType.code)
        ),
        lambda r: r[0].institution_id,
    )
