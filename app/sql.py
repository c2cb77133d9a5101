"""Typing helpers for SQL expressions built from SQLModel tables."""

from typing import Any, Protocol, cast

from sqlalchemy import bindparam
from sqlalchemy.orm import Mapped
from sqlmodel import col


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
