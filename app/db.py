"""Engine, sessions and column types shared by every table."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import JSON, DateTime, Table, event, exc, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from app.driver import DriverReads, compiled
from app.settings import Settings

try:  # SQLAlchemy 2.1
    from sqlalchemy.util.concurrency import await_
except ImportError:  # pragma: no cover - SQLAlchemy 2.0
    from sqlalchemy.util import await_only as await_


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite included)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is expected")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = SQLModel.metadata
metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    """Foreign keys on, and transactions SQLAlchemy controls (so SAVEPOINTs work)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The documented pysqlite/aiosqlite workaround: disable the driver's own
        # transaction handling and emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE: a transaction takes the write lock at its start, so concurrent
        # requests queue (busy_timeout) instead of failing when they upgrade to write.
        # Read-only checks (readyz) ask for a plain BEGIN.
        readonly = conn.get_execution_options().get("netzone_readonly")
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


# A connection used this recently is not checked again when it leaves the pool (as
# HikariCP's alive-bypass window): under load no request pays a round trip for the
# ping. A database that went away longer ago than this finds every connection idle
# past it, and a failure on a connection in use invalidates the whole pool (SQLAlchemy's
# disconnect handling), so requests after a restart still find working connections.
PING_IF_IDLE_SECONDS = 0.5


def create_engine(
    settings: Settings,
    *,
    statement_timeout: float | None = None,
    pool_size: int = 10,
    ping_if_idle: float = PING_IF_IDLE_SECONDS,
    generic_plans: bool = False,
) -> AsyncEngine:
    """An engine for the configured database.

    `statement_timeout` (seconds, PostgreSQL only) bounds every statement its
    connections run: the API's requests have one, imports, jobs and migrations none.
    `generic_plans` (PostgreSQL only): prepared statements keep one plan for any values
    (plan_cache_mode = force_generic_plan), as the API's statements are written to
    allow (prefix searches carry their index ranges: app.sql.StartsWith); left to
    itself PostgreSQL plans the patron search again on every run once the tables grow
    (its custom plans look cheaper than the generic one), at about 0.5 ms a lookup.
    """
    url = settings.database_url
    # Errors name the statement but not its values (patrons' data, password hashes):
    # they end up in the log.
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        _install_sqlite_hooks(engine)
        return engine
    server_settings = {"application_name": "netzone"}
    if statement_timeout:
        server_settings["statement_timeout"] = str(max(1, round(statement_timeout * 1000)))
    if generic_plans:
        server_settings["plan_cache_mode"] = "force_generic_plan"
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=10,
        connect_args={"server_settings": server_settings},
        hide_parameters=True,
    )
    _install_postgres_ping(engine, ping_if_idle)
    return engine


def _install_postgres_ping(engine: AsyncEngine, idle: float = PING_IF_IDLE_SECONDS) -> None:
    """Check a connection that has been idle for a while as it leaves the pool; a dead
    one is replaced.

    SQLAlchemy's documented "pessimistic" pattern: a checkout handler that raises
    InvalidatePoolError (a DisconnectionError) makes the pool drop that connection and
    every older one and try again with a new one, so requests after a database restart
    find working connections. It is `pool_pre_ping` in one round trip (the asyncpg
    dialect's own pre-ping sends three: BEGIN, ";", ROLLBACK, for pgbouncer's
    transaction mode), and only for connections idle longer than `idle` seconds.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _idle_since(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["netzone_idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("netzone_idle_since")
        if since is not None and time.monotonic() - since < idle:
            return
        try:
            await_(dbapi_connection.driver_connection.fetchrow(";"))
        except Exception as error:
            # As pool_pre_ping does: drop this connection and every older one.
            raise InvalidatePoolError(f"connection lost: {error}") from error


async def fetch_rows(
    session: AsyncSession,
    statement: Executable,
    params: dict[str, Any],
) -> Sequence[Sequence[Any]]:
    """The rows of a read-only statement, fast on PostgreSQL (app.driver).

    With asyncpg the statement, built once (a module constant with bindparam()s), is
    compiled once and sent to the driver itself: on the session's connection (inside
    the session's transaction when one has begun; a read before the first statement
    runs on its own, as asyncpg's transactions begin with the first statement), or on a
    DriverReads' own. Select only plain columns and bind only values that need no bind
    processing (see app.driver); rows are indexed by position. Elsewhere (SQLite) it is
    a Core execute.
    """
    if isinstance(session, DriverReads):
        return await session.fetch(statement, params)
    connection = await session.connection()
    dialect = connection.dialect
    if dialect.driver != "asyncpg":
        return (await connection.execute(statement, params)).all()
    sql, args = compiled(statement, dialect, params)
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    # Statement listeners (counters, timers) see it as they see every other statement.
    dispatch = connection.sync_connection.dispatch if connection.sync_connection else None
    if dispatch is not None and dispatch.before_cursor_execute:
        dispatch.before_cursor_execute(connection.sync_connection, None, sql, args, None, False)
    try:
        rows = await driver.fetch(sql, *args)
    except Exception:
        if driver is None or driver.is_closed():
            await connection.invalidate()
        raise
    if dispatch is not None and dispatch.after_cursor_execute:
        dispatch.after_cursor_execute(connection.sync_connection, None, sql, args, None, False)
    return rows  # type: ignore[no-any-return]


# A session's info key: its jobs go to the queue for `netzone worker` (app.queue).
QUEUE_JOBS = "netzone_queue_jobs"


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that own their transactions; on PostgreSQL their jobs go to the queue."""
    return async_sessionmaker(
        engine,
        expire_on_commit=False,
        autoflush=False,
        info={QUEUE_JOBS: engine.dialect.name == "postgresql"},
    )


class Database:
    """The engine and the way to open sessions; tests swap the session factory.

    `request_engine`, where given, serves the API's requests (`request_session`) with
    the request time budget as its statement timeout; everything else (imports, jobs)
    uses `engine`, unbounded.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        session_factory: async_sessionmaker[AsyncSession] | None = None,
        *,
        request_engine: AsyncEngine | None = None,
    ) -> None:
        self.engine = engine
        self.session_factory = session_factory or create_session_factory(engine)
        self.request_engine = request_engine
        self.request_session_factory = (
            create_session_factory(request_engine) if request_engine is not None else None
        )
        # How a request that only reads takes its connection: without a transaction on
        # PostgreSQL, with a plain BEGIN (no write lock) on SQLite; as any other where the
        # sessions are someone else's (tests bind them to an outer transaction).
        self.read_options: dict[str, Any] = {}
        if session_factory is None:
            self.read_options = (
                {"isolation_level": "AUTOCOMMIT"}
                if engine.dialect.name == "postgresql"
                else {"netzone_readonly": True}
            )

    @asynccontextmanager
    async def request_session(self) -> AsyncIterator[AsyncSession]:
        """A session for one API request (bounded by the request budget on PostgreSQL)."""
        async with (self.request_session_factory or self.session_factory)() as session:
            yield session

    @asynccontextmanager
    async def reads(self, deadline: float | None = None) -> AsyncIterator[SerialSession]:
        """The session of an API request that only reads (the compiled reads).

        With the API's own PostgreSQL engines its statements built once go to the driver
        on a pooled connection, without an ORM session (app.driver.DriverReads), outside
        any transaction; elsewhere (SQLite, sessions that are someone else's) it is a
        request session that only reads (SerialSession.reads_only).
        """
        engine = self.request_engine or self.engine
        if self.read_options.get("isolation_level") == "AUTOCOMMIT" and (
            engine.dialect.driver == "asyncpg"
        ):
            factory = self.request_session_factory or self.session_factory
            direct = DriverReads(engine, factory)
            try:
                db = SerialSession(cast(AsyncSession, direct))
                db.reads_only, db.deadline = True, deadline
                yield db
            finally:
                await direct.close()
            return
        async with self.request_session() as session:
            db = SerialSession(session, read_options=self.read_options)
            db.reads_only, db.deadline = True, deadline
            yield db

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.request_engine is not None:
            await self.request_engine.dispose()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.session_factory() as session:
            yield session

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                conn = await conn.execution_options(netzone_readonly=True)
                await conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False


class RequestTimedOut(Exception):
    """A request used up its time budget (NETZONE_REQUEST_TIMEOUT)."""


QUERY_CANCELED = "57014"  # PostgreSQL: statement_timeout (or a cancel request)


def timed_out(error: BaseException) -> bool:
    """Whether an error is a request stopped by its time budget: ours, or PostgreSQL's
    statement_timeout (asyncpg's QueryCanceledError, raw or wrapped by SQLAlchemy)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, RequestTimedOut):
            return True
        if getattr(current, "sqlstate", None) == QUERY_CANCELED:
            return True
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False


# A request whose operations only read runs without a transaction on PostgreSQL (no
# BEGIN and no ROLLBACK: two round trips fewer). Its session carries this mark in its
# `info`, and a statement in it that is not a read is refused.
READS_ONLY = "netzone_reads_only"
_READ_STATEMENT = re.compile(r"\s*(SELECT|WITH|SHOW|VALUES|;|$)", re.IGNORECASE)


class SerialSession:
    """One request's session, used by one coroutine at a time.

    GraphQL resolves sibling fields concurrently; an AsyncSession must not be.
    Resolvers and DataLoaders take the session through this lock.

    `reads_only` (set before the first statement): the session may only read, and takes
    its connection with `read_options` (Database.read_options: on PostgreSQL autocommit
    mode, each statement on its own; on SQLite a BEGIN that takes no write lock).
    """

    def __init__(
        self, session: AsyncSession, *, read_options: dict[str, Any] | None = None
    ) -> None:
        self._session = session
        self.read_options = read_options or {}
        self._lock = asyncio.Lock()
        # time.monotonic() past which the request sends nothing more (queries only).
        self.deadline: float | None = None
        self.reads_only = False
        self._procured = False

    @asynccontextmanager
    async def use(self) -> AsyncIterator[AsyncSession]:
        async with self._lock:
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise RequestTimedOut()
            if not self._procured:
                self._procured = True
                if self.reads_only:
                    self._session.info[READS_ONLY] = True
                    if self.read_options:
                        await self._session.connection(execution_options=self.read_options)
            yield self._session
            # A read that ended past the budget answers nothing: what it read is not used.
            # (A request that writes is never cut once it has begun: see limits.py.)
            if self.reads_only and self.deadline is not None and time.monotonic() > self.deadline:
                raise RequestTimedOut()

    @property
    def raw(self) -> AsyncSession:
        return self._session


def _refuse_writes_of_readers() -> None:
    """A session marked reads-only (SerialSession.reads_only) refuses statements that
    write, set (SET LOCAL) or lock rows (FOR UPDATE), and flushes of changed objects,
    whether or not it runs in autocommit mode (tests run requests inside an outer
    transaction): a query that needs a transaction fails loudly instead of running
    without one."""

    @event.listens_for(Session, "do_orm_execute")
    def _statement(state: ORMExecuteState) -> None:
        if not state.session.info.get(READS_ONLY):
            return
        if state.is_select:
            if getattr(state.statement, "_for_update_arg", None) is not None:
                # A row lock outlives nothing without a transaction.
                raise ReadOnlyViolation("SELECT ... FOR UPDATE")
            return
        verb = str(state.statement).split(None, 1)[0] if str(state.statement) else ""
        if not _READ_STATEMENT.match(verb):
            raise ReadOnlyViolation(verb)

    @event.listens_for(Session, "before_flush")
    def _flush(session: Session, *_args: Any) -> None:
        if session.info.get(READS_ONLY) and (session.new or session.dirty or session.deleted):
            raise ReadOnlyViolation("flush")


class ReadOnlyViolation(Exception):
    """A statement that writes, sent in a request declared to only read."""

    def __init__(self, verb: str) -> None:
        super().__init__(f"a {verb} in a request that only reads")


_refuse_writes_of_readers()


async def bulk_insert(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows of one shape into `table` in the session's transaction.

    PostgreSQL: a binary COPY through the session's own connection (the bulk path of
    imports). Elsewhere: one multi-row INSERT. Column defaults are not applied: the rows
    carry every value the table needs.
    """
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        await session.execute(insert(table), rows)
        return
    names = list(rows[0])
    as_text = {name for name in names if isinstance(table.c[name].type, JSON)}
    records = [
        tuple(
            json.dumps(row[name]) if name in as_text and row[name] is not None else row[name]
            for name in names
        )
        for row in rows
    ]
    raw = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, records=records, columns=names
    )


def database_unavailable(error: BaseException) -> bool:
    """Whether an exception means the database cannot be reached right now (down,
    restarting, refusing connections, or the pool has no connection to give)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, exc.TimeoutError | exc.DisconnectionError | ConnectionError):
            return True  # pool exhausted, connection lost or refused
        if isinstance(current, OSError) and current.errno is not None:
            return True  # e.g. "connection refused" while the server restarts
        if type(current).__module__.startswith("asyncpg") and type(current).__name__ in (
            "ConnectionDoesNotExistError",
            "AdminShutdownError",
            "CannotConnectNowError",
            "ConnectionFailureError",
            "TooManyConnectionsError",
        ):
            return True
        current = current.__cause__ or current.__context__
    return False
