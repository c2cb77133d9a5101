"""Live propagation: a source's changes reach its linked copies (the patron registry
announces them; see app.patrons.events)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.auth.policy import (
    Actor,
    require_institution_admin,
)
from app.db import utcnow
from app.linking.copies import refresh_copy
from app.linking.models import LinkedAccountRule
from app.linking.policies import source_policies
from app.network.models import Network
from app.patrons import events
from app.patrons.models import (
    Patron,
)
from app.queue import enqueue, job

# ---------------------------------------------------------------- live propagation


async def _live(session: AsyncSession) -> bool:
    mode = await session.scalar(
        select(col(Network.propagation_mode)).order_by(col(Network.id)).limit(1)
    )
    return mode != "ON_INTERACTION"


async def propagate_source(*, session: AsyncSession, actor: Actor, source_id: int) -> int:
    """Refresh every linked copy of a changed source in the current transaction (LIVE mode).

    The copies are looked for first: most sources have none, and then the network's mode
    is not read (one statement a changed patron, where an import changes thousands)."""
    copies = list(
        (
            await session.execute(
                select(Patron).where(col(Patron.link_source_patron_id) == source_id)
            )
        ).scalars()
    )
    if not copies or not await _live(session):
        return 0
    for copy in copies:
        await refresh_copy(
            session=session, actor=actor, copy=copy, action="propagate_source_change"
        )
    return len(copies)


async def mark_source_deleted(*, session: AsyncSession, actor: Actor, source_id: int) -> None:
    """Before a source is removed: its copies say SOURCE_DELETED (whatever the mode)."""
    copies = list(
        (
            await session.execute(
                select(Patron).where(col(Patron.link_source_patron_id) == source_id)
            )
        ).scalars()
    )
    for copy in copies:
        copy.link_status = "SOURCE_DELETED"
        copy.refreshed_at = utcnow()
        await audit.record(
            session=session,
            actor=actor,
            action="source_deleted",
            entity_type="Patron",
            entity_id=copy.id,
            institution_id=copy.institution_id,
            changes={"linkStatus": {"before": "ACTIVE", "after": "SOURCE_DELETED"}},
        )
    await session.flush()


async def propagate_institution(*, session: AsyncSession, actor: Actor, institution_id: int) -> int:
    """After a source institution's sharing policy changed: refresh copies of its patrons."""
    if not await _live(session):
        return 0
    policies = await source_policies(session, [institution_id])
    copies = list(
        (
            await session.execute(
                select(Patron).where(col(Patron.link_source_institution_id) == institution_id)
            )
        ).scalars()
    )
    for copy in copies:
        await refresh_copy(
            session=session,
            actor=actor,
            copy=copy,
            policies=policies,
            action="propagate_policy_change",
        )
    return len(copies)


# The job that refreshes the copies of an institution's patrons after its sharing
# policy changed (`netzone worker` on PostgreSQL; in-process after the commit on SQLite).
REFRESH_INSTITUTION_COPIES = "refresh_institution_copies"


async def refresh_institution_copies_later(
    *, session: AsyncSession, actor: Actor, institution_id: int
) -> None:
    """In the policy change's transaction: ask for its copies to be refreshed (a job that
    exists only if the change commits; the service runs `app.queue.run_pending` after)."""
    await enqueue(session, REFRESH_INSTITUTION_COPIES, actor, institution_id=institution_id)


@job(REFRESH_INSTITUTION_COPIES)
async def _refresh_institution_copies(
    *, session: AsyncSession, actor: Actor, institution_id: int
) -> int:
    # As whoever changed the policy, with the rights they hold: only its administrators.
    require_institution_admin(actor, institution_id, "change its network settings")
    return await propagate_institution(session=session, actor=actor, institution_id=institution_id)


async def linked_copies_count(session: AsyncSession, source_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Patron)
            .where(col(Patron.link_source_patron_id) == source_id)
        )
        or 0
    )


async def resource_sharing_library(session: AsyncSession, copy: Patron) -> int | None:
    """The library walk-in loans of a linked account are made at (its rule's), if any."""
    if copy.link_rule_id is None:
        return None
    rule = await session.get(LinkedAccountRule, copy.link_rule_id)
    return rule.resource_sharing_library_id if rule is not None else None


@events.listen(events.SOURCE_CHANGED)
async def _source_changed(*, session: AsyncSession, actor: Actor, source_id: int) -> None:
    await propagate_source(session=session, actor=actor, source_id=source_id)


events.listen(events.SOURCE_DELETED)(mark_source_deleted)
