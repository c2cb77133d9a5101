"""Building DataLoaders that share the request's serialised session."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam
from strawberry.dataloader import DataLoader

from app.db import SerialSession

K = TypeVar("K", bound=Hashable)

# Keys per batch: one IN list stays far below every driver's parameter limit, however
# long the list a field resolves (a bulk change may name hundreds of thousands of patrons).
MAX_BATCH = 1000


# The keys of a batch, bound as one expanding parameter: each loader's statement is built
# (and compiled) once per process, not once per request.
KEYS: Any = bindparam("ids", expanding=True)

_STATEMENTS: dict[object, Select[*tuple[Any, ...]]] = {}


def _statement(query: Callable[[Any], Select[*tuple[Any, ...]]]) -> Select[*tuple[Any, ...]]:
    """The loader's statement with KEYS for its keys, built on first use.

    A query that closes over anything (a value of the request) is built afresh each time:
    only a plain `lambda ids: select(...)` can be kept."""
    if query.__closure__:
        return query(KEYS)
    statement = _STATEMENTS.get(query.__code__)
    if statement is None:
        statement = _STATEMENTS[query.__code__] = query(KEYS)
    return statement


def one_per_key(
    db: SerialSession,
    query: Callable[[Any], Select[*tuple[Any, ...]]],
    key: Callable[[Any], Any],
) -> DataLoader[Any, Any]:
    """A loader returning the one row (or None) for each key, in key order."""
    statement = _statement(query)

    async def load(keys: Sequence[Any]) -> list[Any]:
        async with db.use() as session:
            rows = (await session.execute(statement, {"ids": list(keys)})).all()
        found = {key(row): (row[0] if len(row) == 1 else row) for row in rows}
        return [found.get(k) for k in keys]

    return DataLoader(load_fn=load, max_batch_size=MAX_BATCH)


def many_per_key(
    db: SerialSession,
    query: Callable[[Any], Select[*tuple[Any, ...]]],
    key: Callable[[Any], Any],
) -> DataLoader[Any, list[Any]]:
    """A loader returning the list of rows for each key, in key order (query order kept)."""
    statement = _statement(query)

    async def load(keys: Sequence[Any]) -> list[list[Any]]:
        async with db.use() as session:
            rows = (await session.execute(statement, {"ids": list(keys)})).all()
        grouped: dict[Any, list[Any]] = defaultdict(list)
        for row in rows:
            grouped[key(row)].append(row[0] if len(row) == 1 else row)
        return [grouped.get(k, []) for k in keys]

    return DataLoader(load_fn=load, max_batch_size=MAX_BATCH)
