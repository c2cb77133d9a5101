"""Writing a checked set of username changes (app.lifecycle.usernames): in chunks, names
handed from one patron to another released first, versions bumped, an audit entry per
patron; all or nothing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import bindparam, insert, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.models import AuditEntry
from app.auth.policy import Actor
from app.db import UTCDateTime, utcnow
from app.errors import DomainError, ErrorCode
from app.patrons.edits import key_of
from app.patrons.models import Patron

# Ids per IN list and rows per batched statement: well under every driver's parameter limit.
CHUNK = 1000


T = TypeVar("T")


class Renaming(Protocol):
    """One patron's username change."""

    @property
    def patron_id(self) -> int: ...
    @property
    def old_username(self) -> str | None: ...
    @property
    def new_username(self) -> str: ...
    @property
    def key(self) -> str: ...


def chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


# PostgreSQL takes a chunk as three arrays in one statement; elsewhere one statement
# is run for every row of the chunk (executemany).
_UPDATE_FROM_ARRAYS = text(
    "UPDATE patron SET username = v.username, username_key = v.username_key, "
    "version = patron.version + 1, updated_at = :now "
    "FROM unnest(CAST(:ids AS integer[]), CAST(:usernames AS varchar[]), "
    "CAST(:keys AS varchar[])) AS v(id, username, username_key) "
    "WHERE patron.id = v.id"
)


async def _write_usernames(
    session: AsyncSession, table: Any, chunk: Sequence[Renaming], now: datetime
) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            _UPDATE_FROM_ARRAYS.bindparams(bindparam("now", type_=UTCDateTime())),
            {
                "now": now,
                "ids": [c.patron_id for c in chunk],
                "usernames": [c.new_username for c in chunk],
                "keys": [c.key for c in chunk],
            },
        )
        return
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            username=bindparam("b_username"),
            username_key=bindparam("b_key"),
            version=table.c.version + 1,
            updated_at=now,
        ),
        [{"b_id": c.patron_id, "b_username": c.new_username, "b_key": c.key} for c in chunk],
    )


async def apply_changes(
    session: AsyncSession, actor: Actor, institution_id: int, candidates: Sequence[Renaming]
) -> None:
    """Write every change (versions bumped) and an audit entry per patron, in batches."""
    now = utcnow()
    table: Any = Patron.__table__  # type: ignore[attr-defined]
    new_owner: dict[str | None, int] = {c.key: c.patron_id for c in candidates}
    # Names handed from one patron of the batch to another are released first, so the
    # unique (institution, username_key) never sees two holders, whatever the order.
    released = [
        c.patron_id
        for c in candidates
        if c.old_username is not None
        and new_owner.get(key_of(c.old_username), c.patron_id) != c.patron_id
    ]
    try:
        async with session.begin_nested():
            for id_chunk in chunks(released):
                await session.execute(
                    update(table).where(table.c.id.in_(id_chunk)).values(username_key=None)
                )
            for chunk in chunks(candidates):
                await _write_usernames(session, table, chunk, now)
    except IntegrityError as exc:
        raise DomainError.of(
            ErrorCode.DUPLICATE_USERNAME,
            "One of the new usernames was just taken by another patron; nothing was changed. "
            "Run a dry run again.",
            [],
        ) from exc
    audit_table: Any = AuditEntry.__table__  # type: ignore[attr-defined]
    for chunk in chunks(candidates):
        await session.execute(
            insert(audit_table),
            [
                {
                    "at": now,
                    "institution_id": institution_id,
                    "actor_patron_id": actor.patron_id,
                    "actor_client_id": actor.client_id,
                    "actor_name": actor.name,
                    "library_id": actor.library_id,
                    "action": "change_usernames",
                    "entity_type": "Patron",
                    "entity_id": c.patron_id,
                    "changes": {"username": {"before": c.old_username, "after": c.new_username}},
                }
                for c in chunk
            ],
        )
    # Rows this session already holds learn the new values without a reload.
    by_id = {c.patron_id: c for c in candidates}
    for instance in list(session.identity_map.values()):
        if isinstance(instance, Patron) and instance.id in by_id:
            candidate = by_id[instance.id]
            set_committed_value(instance, "username", candidate.new_username)
            set_committed_value(instance, "username_key", candidate.key)
            set_committed_value(instance, "version", instance.version + 1)
            set_committed_value(instance, "updated_at", now)
