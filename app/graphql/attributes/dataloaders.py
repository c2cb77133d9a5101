"""DataLoaders of attribute types and patron attribute values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from app.attributes import queries, service
from app.db import SerialSession
from app.graphql.loading import many_per_key


def attribute_types_by_institution_id(db: SerialSession) -> DataLoader[int, list[service.TypeInfo]]:
    async def load(keys: Sequence[int]) -> list[list[service.TypeInfo]]:
        async with db.use() as session:
            types = await service.load_types(session, list(keys))
        grouped: dict[int, list[service.TypeInfo]] = {k: [] for k in keys}
        for info in types.values():
            grouped[info.row.institution_id].append(info)
        return [grouped[k] for k in keys]

    return DataLoader(load_fn=load)


def attribute_values_by_patron_id(db: SerialSession) -> DataLoader[int, list[Any]]:
    return many_per_key(
        db,
        queries.ATTRIBUTE_VALUES_BY_PATRON_ID,
        lambda r: r[2],
    )
