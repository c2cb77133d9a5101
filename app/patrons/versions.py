"""Patron versions: every change to a patron moves its version on, so an edit made from
an older copy is refused instead of overwriting what someone else saved."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import col

from app.db import utcnow
from app.errors import DomainError, ErrorCode
from app.patrons.models import Patron


async def bump_version(session: AsyncSession, patron_id: int, expected: int | None = None) -> int:
    """Increase the version; with `expected`, only if nobody changed it meanwhile.

    The loaded patron, if the session holds it, gets the new version and time directly:
    SQLAlchemy's own synchronisation would look through every object of the session for
    each statement, which made an import batch's updates quadratic in its size."""
    now = utcnow()
    query = update(Patron).where(col(Patron.id) == patron_id)
    if expected is not None:
        query = query.where(col(Patron.version) == expected)
    result = await session.execute(
        query.values(version=col(Patron.version) + 1, updated_at=now)
        .returning(col(Patron.version))
        .execution_options(synchronize_session=False)
    )
    version = result.scalar_one_or_none()
    if version is None:
        raise stale_version()
    loaded = session.sync_session.identity_map.get(identity_key(Patron, patron_id))
    if loaded is not None:
        set_committed_value(loaded, "version", int(version))
        set_committed_value(loaded, "updated_at", now)
    return int(version)


def stale_version() -> DomainError:
    return DomainError.of(
        ErrorCode.STALE_VERSION,
        "Someone else changed this patron after you opened it. "
        "Reload it and make your change again.",
        ["expected_version"],
    )
