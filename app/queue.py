"""The job queue: work that leaves the request, run by `netzone worker` on PostgreSQL.

A job has a kind (a handler registered here by the domain that owns the work), the
actor who asked for it (the job runs with that identity and its rights) and its
arguments. On PostgreSQL a session that owns its transaction enqueues the job in that
transaction through pgqueuer (so a rolled-back change leaves no job behind, and a
committed one never loses its job); a worker runs it later in a transaction of its own,
all or nothing. On SQLite, and in sessions bound to someone else's transaction (tests),
the job waits in the session until `run_pending`, which the service calls after its
commit: the same handler runs in-process.

A kind registered with `own_transactions=True` (an import: it commits its bookkeeping
as it goes and its rows at the end) gets the `Database` instead of a session and opens
its transactions itself; `run_in` runs any kind given the database, and `take_pending`
hands a caller the jobs it is to run in-process itself (in the background, say).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from pgqueuer import Queries
from pgqueuer.core.tm import TaskManager
from pgqueuer.ports.driver import NotifyCallback
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.auth.policy import Actor
from app.auth.roles import SystemGroup
from app.db import QUEUE_JOBS, Database
from app.settings import Settings

Handler = Callable[..., Awaitable[Any]]
"""`handler(*, session, actor, **args)`: the work of one job kind, in `session`'s
transaction (the runner commits it); with `own_transactions`, `handler(*, database,
settings, actor, **args)`, which opens and commits its transactions itself."""

logger = logging.getLogger("netzone.queue")

_HANDLERS: dict[str, Handler] = {}
_OWN_TRANSACTIONS: set[str] = set()
_PENDING = "netzone_pending_jobs"

Pending = tuple[str, bytes]
"""A job kept for running in-process: its kind and payload."""


def job(kind: str, *, own_transactions: bool = False) -> Callable[[Handler], Handler]:
    """Register the handler of a job kind (one per kind); `own_transactions`: it gets the
    `Database` and runs its own transactions (it is not one transaction, all or nothing,
    but must leave its work whole or absent itself)."""

    def register(handler: Handler) -> Handler:
        if _HANDLERS.get(kind, handler) is not handler:
            raise RuntimeError(f"The job kind {kind!r} has a handler already.")
        _HANDLERS[kind] = handler
        if own_transactions:
            _OWN_TRANSACTIONS.add(kind)
        return handler

    return register


def kinds() -> dict[str, Handler]:
    """Every registered job kind and its handler."""
    return dict(_HANDLERS)


# ---------------------------------------------------------------- payloads


def encode(actor: Actor, args: dict[str, Any]) -> bytes:
    """A job's payload: who asked for it, and its arguments (JSON)."""
    who = dataclasses.asdict(actor)
    who["groups"] = sorted(group.value for group in actor.groups)
    who["scopes"] = sorted(actor.scopes)
    return orjson.dumps({"actor": who, "args": args})


def decode(payload: bytes) -> tuple[Actor, dict[str, Any]]:
    data = orjson.loads(payload)
    who = dict(data["actor"])
    who["groups"] = frozenset(SystemGroup(group) for group in who["groups"])
    who["scopes"] = frozenset(who["scopes"])
    return Actor(**who), dict(data["args"])


# ---------------------------------------------------------------- enqueueing


class SessionDriver:
    """pgqueuer's driver over a session's own connection: its statements run in the
    session's transaction (enqueueing only; a worker listens on a connection of its own)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._shutdown = asyncio.Event()

    async def fetch(self, query: str, *args: object) -> list[dict[str, object]]:
        connection = await self.session.connection()
        result = await connection.exec_driver_sql(query, args)
        return [dict(row) for row in result.mappings()]

    async def execute(self, query: str, *args: object) -> str:
        connection = await self.session.connection()
        await connection.exec_driver_sql(query, args)
        return ""

    async def add_listener(self, channel: str, callback: NotifyCallback) -> None:
        raise NotImplementedError("a session only enqueues; the worker listens")

    async def notify(self, channel: str, payload: str) -> None:
        await self.execute("SELECT pg_notify($1, $2)", channel, payload)

    @property
    def shutdown(self) -> asyncio.Event:
        return self._shutdown

    @property
    def tm(self) -> TaskManager:
        return TaskManager()

    async def __aenter__(self) -> SessionDriver:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None


def queued(session: AsyncSession) -> bool:
    """Whether this session's jobs go to the queue (else they run in-process after commit)."""
    return bool(session.info.get(QUEUE_JOBS))


def in_process(session: AsyncSession) -> None:
    """This session's jobs run in-process after its commits (`run_pending`), even on
    PostgreSQL: for one-off work that must be complete when it returns (the demo seed)."""
    session.info[QUEUE_JOBS] = False


async def enqueue(session: AsyncSession, kind: str, actor: Actor, **args: Any) -> None:
    """Ask for a job in the session's transaction: queued for a worker, or kept in the
    session until `run_pending` (SQLite, sessions in someone else's transaction)."""
    if kind not in _HANDLERS:
        raise RuntimeError(f"There is no job kind {kind!r}.")
    payload = encode(actor, args)
    if queued(session):
        await Queries(SessionDriver(session)).enqueue(kind, payload)
    else:
        if not event.contains(session.sync_session, "after_soft_rollback", _forget):
            event.listen(session.sync_session, "after_soft_rollback", _forget)
        session.info.setdefault(_PENDING, []).append((kind, payload))


async def run_pending(session: AsyncSession) -> int:
    """After the commit: run the jobs this session kept (in-process), each in its own
    transaction; nothing where the jobs went to the queue. The change that asked for
    them is committed already, so a failed job is logged, not raised. Returns how many
    ran to the end."""
    pending = take_pending(session)
    if any(kind in _OWN_TRANSACTIONS for kind, _ in pending):
        raise RuntimeError("Jobs with transactions of their own run through run_in.")
    done = 0
    for kind, payload in pending:
        try:
            await run(session, kind, payload)
            done += 1
        except Exception:
            logger.exception("the %s job failed; its work was rolled back", kind)
    return done


def take_pending(session: AsyncSession) -> list[Pending]:
    """After the commit: the jobs this session kept, for the caller to run in-process
    (`run_in`); none where they went to the queue."""
    pending: list[Pending] = session.info.pop(_PENDING, [])
    return pending


async def run_in(database: Database, settings: Settings, kind: str, payload: bytes) -> Any:
    """Run one job of any kind on `database` (the worker's way, and the in-process one)."""
    if kind in _OWN_TRANSACTIONS:
        actor, args = decode(payload)
        return await _HANDLERS[kind](database=database, settings=settings, actor=actor, **args)
    async with database.session() as session:
        return await run(session, kind, payload)


def _forget(session: Session, _previous: Any) -> None:
    """The transaction that asked for them rolled back: its jobs are not to run."""
    session.info.pop(_PENDING, None)


async def run(session: AsyncSession, kind: str, payload: bytes) -> Any:
    """Run one job in `session` and commit; a failure rolls the whole job back."""
    if kind in _OWN_TRANSACTIONS:
        raise RuntimeError(f"The {kind} job runs its own transactions: use run_in.")
    actor, args = decode(payload)
    try:
        result = await _HANDLERS[kind](session=session, actor=actor, **args)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return result
