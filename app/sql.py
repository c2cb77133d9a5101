"""Typing helpers for SQL expressions built from SQLModel tables."""

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import bindparam
from sqlalchemy.orm import Mapped
from sqlmodel import col

T = TypeVar("T")


def pk(column: int | None) -> Mapped[int]:
    """A table's ``id`` column as the non-null column it is in the database.

    SQLModel types ``Model.id`` as ``int | None`` (unsaved rows have none), so with ``col()``
    a select of ids would read as ``int | None`` values; ``pk(Model.id)`` reads as ``int``.
    """
    return cast(Mapped[int], col(column))


class _Row(Protocol):
    @property
    def id(self) -> int | None: ...


def saved_id(row: _Row) -> int:
    """The id of a row read from (or flushed to) the database: never None there."""
    assert row.id is not None
    return row.id


# The keys of a DataLoader's batch, bound as one expanding parameter: every read by key
# (each domain's queries.py) is a module constant built and compiled once per process.
KEYS: Any = bindparam("ids", expanding=True)


# Values per IN list: far below every driver's parameter limit, however many a read names.
IN_LIST_MAX = 1000


def in_chunks(values: Sequence[T], size: int = IN_LIST_MAX) -> Iterator[Sequence[T]]:
    """The values in slices of at most `size`, one IN list each."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
