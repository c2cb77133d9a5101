"""DataLoaders of the network structure."""

from __future__ import annotations

from typing import Any

from strawberry.dataloader import DataLoader

from app.db import SerialSession
from app.graphql.loading import many_per_key, one_per_key
from app.network import queries


def institution_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(db, queries.INSTITUTION_BY_ID, lambda r: r[0].id)


def library_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(db, queries.LIBRARY_BY_ID, lambda r: r[0].id)


def user_group_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(db, queries.USER_GROUP_BY_ID, lambda r: r[0].id)


def library_group_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(db, queries.LIBRARY_GROUP_BY_ID, lambda r: r[0].id)


def block_type_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(db, queries.BLOCK_TYPE_BY_ID, lambda r: r[0].id)


def identifier_type_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db,
        queries.IDENTIFIER_TYPE_BY_ID,
        lambda r: r[0].id,
    )


def link_rule_by_id(db: SerialSession) -> DataLoader[int, Any]:
    return one_per_key(
        db,
        queries.LINK_RULE_BY_ID,
        lambda r: r[0].id,
    )


def libraries_by_institution_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        queries.LIBRARIES_BY_INSTITUTION_ID,
        lambda r: r[0].institution_id,
    )


def user_groups_by_institution_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        queries.USER_GROUPS_BY_INSTITUTION_ID,
        lambda r: r[0].institution_id,
    )


def library_groups_by_institution_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        queries.LIBRARY_GROUPS_BY_INSTITUTION_ID,
        lambda r: r[0].institution_id,
    )


def block_types_by_institution_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        queries.BLOCK_TYPES_BY_INSTITUTION_ID,
        lambda r: r[0].institution_id,
    )


def value_choices_by_institution_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        queries.VALUE_CHOICES_BY_INSTITUTION_ID,
        lambda r: r[0].institution_id,
    )
