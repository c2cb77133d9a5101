"""Writing audit entries (reading a patron's trail: app.audit.trail)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit.models import AuditEntry
from app.auth.policy import Actor
from app.db import bulk_insert, utcnow
from app.sql import pk


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The fields whose values differ, as {"field": {"before": .., "after": ..}}."""
    changes: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            changes[key] = {"before": old, "after": new}
    return changes


async def record(
    *,
    session: AsyncSession,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: int | None,
    institution_id: int | None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the current transaction."""
    entry = AuditEntry(
        **entry_row(
            actor=actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            institution_id=institution_id,
            changes=changes or {},
            at=utcnow(),
        )
    )
    session.add(entry)
    return entry


def entry_row(
    *,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: int | None,
    institution_id: int | None,
    changes: dict[str, Any],
    at: datetime,
) -> dict[str, Any]:
    """An audit entry as a row for a bulk insert (see insert_rows)."""
    return {
        "at": at,
        "institution_id": institution_id,
        "actor_patron_id": actor.patron_id,
        "actor_client_id": actor.client_id,
        "actor_name": actor.name,
        "library_id": actor.library_id,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "changes": changes,
    }


async def insert_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Add many audit entries to the current transaction in one statement."""
    if rows:
        await bulk_insert(session, AuditEntry.__table__, rows)  # type: ignore[attr-defined]


async def redact_entity(*, session: AsyncSession, entity_type: str, entity_id: int) -> None:
    """Remove personal values from the trail of an entity that was permanently removed."""
    rows = (
        await session.execute(
            select(pk(AuditEntry.id), col(AuditEntry.changes)).where(
                col(AuditEntry.entity_type) == entity_type, col(AuditEntry.entity_id) == entity_id
            )
        )
    ).all()
    for entry_id, changes in rows:
        redacted = {key: {"redacted": True} for key in (changes or {})}
        await session.execute(
            update(AuditEntry).where(col(AuditEntry.id) == entry_id).values(changes=redacted)
        )
