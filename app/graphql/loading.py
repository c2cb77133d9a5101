"""Building DataLoaders that share the request's serialised session."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from app.db import SerialSession

K = TypeVar("K", bound=Hashable)

# Keys per batch: one IN list stays far below every driver's parameter limit, however
# long the list a field resolves (a bulk change may name hundreds of thousands of patrons).
MAX_BATCH = 1000


def one_per_key(
    db: SerialSession,
    statement: Select[*tuple[Any, ...]],
    key: Callable[[Any], Any],
) -> DataLoader[Any, Any]:
    """A loader returning the one row (or None) for each key, in key order; the
    statement reads by app.sql.KEYS."""

    async def load(keys: Sequence[Any]) -> list[Any]:
        async with db.use() as session:
            rows = (await session.execute(statement, {"ids": list(keys)})).all()
        found = {key(row): (row[0] if len(row) == 1 else row) for row in rows}
        return [found.get(k) for k in keys]

    return DataLoader(load_fn=load, max_batch_size=MAX_BATCH)


def many_per_key(
    db: SerialSession,
    statement: Select[*tuple[Any, ...]],
    key: Callable[[Any], Any],
) -> DataLoader[Any, list[Any]]:
    """A loader returning the list of rows for each key, in key order (query order kept);
    the statement reads by app.sql.KEYS."""

    async def load(keys: Sequence[Any]) -> list[list[Any]]:
        async with db.use() as session:
            rows = (await session.execute(statement, {"ids": list(keys)})).all()
        grouped: dict[Any, list[Any]] = defaultdict(list)
        for row in rows:
            grouped[key(row)].append(row[0] if len(row) == 1 else row)
        return [grouped.get(k, []) for k in keys]

    return DataLoader(load_fn=load, max_batch_size=MAX_BATCH)


def per_row(
    db: SerialSession,
    fetch: Callable[[AsyncSession, list[Any]], Awaitable[dict[int, Any]]],
    default: Callable[[], Any],
) -> DataLoader[Any, Any]:
    """A loader keyed by the rows in hand (cached by their id), for a relation whose
    domain read needs the rows themselves: `fetch` answers for all of them at once, by
    row id; a row it does not name gets `default()`."""

    async def load(rows: Sequence[Any]) -> list[Any]:
        async with db.use() as session:
            found = await fetch(session, list(rows))
        return [found[row.id] if row.id in found else default() for row in rows]

    return DataLoader(load_fn=load, max_batch_size=MAX_BATCH, cache_key_fn=lambda row: row.id)
