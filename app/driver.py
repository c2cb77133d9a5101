"""Statements built once, sent to the database driver itself (asyncpg).

SQLAlchemy's execution costs a few hundred microseconds of Python per statement, and an
ORM session about as much again to open and close: on the paths every request takes
(the token check, a compiled read) that is most of the request. A statement built once
(a module constant with bindparam()s) is compiled here once per dialect, and sent with
its values to the driver. Values come as the driver gives them, without the column
types' result processing: select only plain columns (integers, strings, booleans,
dates, timestamps with time zone) and bind only values that need no bind processing.
Rows are indexed by position. app.db.fetch_rows sends them on a session's connection;
DriverReads on a pooled connection without a session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

try:  # SQLAlchemy 2.1
    from sqlalchemy.util.concurrency import greenlet_spawn
except ImportError:  # pragma: no cover - SQLAlchemy 2.0
    from sqlalchemy.util import greenlet_spawn

# id(statement), dialect -> (statement, sql, the names of its parameters in order, the
# values of those fixed in the statement).
_COMPILED: dict[tuple[int, str], tuple[Executable, str, tuple[str, ...], dict[str, Any]]] = {}


def compiled(
    statement: Executable, dialect: Dialect, params: dict[str, Any]
) -> tuple[str, tuple[Any, ...]]:
    """The statement's SQL for this dialect (compiled once) and its positional values."""
    key = (id(statement), dialect.name)
    entry = _COMPILED.get(key)
    if entry is None or entry[0] is not statement:
        assert isinstance(statement, ClauseElement)
        done = statement.compile(dialect=dialect)
        assert isinstance(done, SQLCompiler)
        names = tuple(done.positiontup or ())
        # Values written into the statement itself (a literal compared with, a LIMIT 1)
        # are bound like the others, with their own value.
        fixed = {
            name: done.binds[name].effective_value
            for name in names
            if not done.binds[name].required and done.binds[name].callable is None
        }
        entry = (statement, done.string, names, fixed)
        _COMPILED[key] = entry
    _, sql, names, fixed = entry
    return sql, tuple(params[name] if name in params else fixed[name] for name in names)


class _Unbound:
    """What statement listeners get for the Connection of a statement DriverReads sent."""

    __slots__ = ("connection", "info")

    def __init__(self, pooled: Any) -> None:
        self.connection = pooled
        self.info = pooled.info


class DriverReads:
    """The reads of a request that only reads, on PostgreSQL, without an ORM session.

    `fetch` (what app.db.fetch_rows does when given one) sends a statement built once
    to the driver on a connection taken from the engine's pool on first use (the pool's
    checkout events run: the idle ping, the metrics), outside any transaction, as
    asyncpg runs a lone statement. Anything else asked of it as of an AsyncSession (an
    ORM lookup some reads need) goes to a session opened then from `session_factory`,
    marked as `info` says (app.db.SerialSession marks it as only reading); most
    requests never open one. `close()` gives both back.
    """

    def __init__(self, engine: AsyncEngine, session_factory: Callable[[], AsyncSession]) -> None:
        self.engine = engine
        self._factory = session_factory
        self._fairy: Any = None
        self._session: AsyncSession | None = None
        self.info: dict[str, Any] = {}

    async def fetch(self, statement: Executable, params: dict[str, Any]) -> Sequence[Any]:
        sql, args = compiled(statement, self.engine.dialect, params)
        if self._fairy is None:
            self._fairy = await greenlet_spawn(self.engine.sync_engine.raw_connection)
        driver = self._fairy.driver_connection
        # Statement listeners (counters, timers) see it as they see every other statement,
        # on a stand-in for the Connection there is none of: its `connection` is the
        # pooled connection, as a Connection's is.
        dispatch = self.engine.sync_engine.dispatch
        on = _Unbound(self._fairy)
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(on, None, sql, args, None, False)
        try:
            rows = await driver.fetch(sql, *args)
        except Exception:
            if driver.is_closed():
                # A connection the server dropped is not given back to the pool.
                fairy, self._fairy = self._fairy, None
                await greenlet_spawn(fairy.invalidate)
            raise
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(on, None, sql, args, None, False)
        return rows  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        """What an AsyncSession has (execute, get, scalar, ...): the session's, opened now."""
        if name.startswith("_"):
            raise AttributeError(name)
        if self._session is None:
            self._session = self._factory()
            self._session.info.update(self.info)
        return getattr(self._session, name)

    async def close(self) -> None:
        fairy, self._fairy = self._fairy, None
        session, self._session = self._session, None
        try:
            if fairy is not None:
                await greenlet_spawn(fairy.close)
        finally:
            if session is not None:
                await session.close()
