"""Typing helpers for SQL expressions built from SQLModel tables."""

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import ARRAY, Boolean, Integer, any_, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
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


class StartsWith(ColumnElement[bool]):
    """`value LIKE pattern` for a prefix pattern (the prefix, escaped, then `%`), with
    the range every match falls in given too (`low` <= value < `high`, in the byte order
    of PostgreSQL's pattern operators): a statement whose values are parameters then
    plans the same for any prefix, with a range scan of a `varchar_pattern_ops` index
    (PostgreSQL's planner turns LIKE into a range only for a pattern it can see, so a
    prepared statement would be planned again on every run). Elsewhere it is the LIKE
    alone. See prefix_range for the bounds.
    """

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a condition as it is (no "= 1" where booleans are ints)
    _traverse_internals = [
        ("value", InternalTraversal.dp_clauseelement),
        ("pattern", InternalTraversal.dp_clauseelement),
        ("low", InternalTraversal.dp_clauseelement),
        ("high", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, value: Any, pattern: Any, low: Any, high: Any) -> None:
        self.value, self.pattern, self.low, self.high = value, pattern, low, high


@compiles(StartsWith)
def _starts_with(element: StartsWith, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.value.like(element.pattern, escape="\\"), **kw))


@compiles(StartsWith, "postgresql")
def _starts_with_postgresql(element: StartsWith, compiler: Any, **kw: Any) -> str:
    value = compiler.process(element.value, **kw)
    like = compiler.process(element.value.like(element.pattern, escape="\\"), **kw)
    low = compiler.process(element.low, **kw)
    high = compiler.process(element.high, **kw)
    return f"({value} ~>=~ {low} AND {value} ~<~ {high} AND {like})"


# The largest code point; a prefix that ends in it has no successor of the same length.
_LAST = 0x10FFFF


def prefix_range(prefix: str, longest: int) -> tuple[str, str]:
    """(low, high) such that every text of at most `longest` characters that starts with
    `prefix` is >= low and < high in byte order (UTF-8 orders as code points do): the
    prefix, and the shortest text after all its continuations (its last character's
    successor, carried over). A prefix of nothing but U+10FFFF has no successor: `high`
    is then U+10FFFF one time more than the longest value, which every such value is
    below."""
    chars = list(prefix)
    while chars:
        point = ord(chars.pop()) + 1
        if 0xD800 <= point <= 0xDFFF:
            point = 0xE000  # surrogates are not characters
        if point <= _LAST:
            return prefix, "".join(chars) + chr(point)
    return prefix, chr(_LAST) * (longest + 1)


class InKeys(ColumnElement[bool]):
    """`value IN (the batch's keys)`, the keys bound as "ids": an expanding IN list, and on
    PostgreSQL `= ANY` of one array, so that the statement is the same text for any
    number of keys (compiled once, sent to the driver as it is: app.driver)."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True
    _traverse_internals = [("value", InternalTraversal.dp_clauseelement)]

    def __init__(self, value: Any) -> None:
        self.value = value


@compiles(InKeys)
def _in_keys(element: InKeys, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.value.in_(bindparam("ids", expanding=True)), **kw))


@compiles(InKeys, "postgresql")
def _in_keys_postgresql(element: InKeys, compiler: Any, **kw: Any) -> str:
    keys = bindparam("ids", type_=ARRAY(Integer))
    return str(compiler.process(element.value == any_(keys), **kw))
