"""Reading a patron's audit trail, as one reader may see it: values of attribute types
the reader may not see are left out, and staff of other members are named only by their
institution."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes.types import load_types, visible_changes
from app.audit.models import AuditEntry
from app.auth.models import ApiClient
from app.auth.policy import Actor, can_read_patrons
from app.network.models import Institution, Library
from app.sql import pk


@dataclass(frozen=True)
class AuditView:
    """An audit entry as one reader may see it."""

    id: int
    at: datetime
    actor_name: str
    action: str
    changes: dict[str, Any]


async def patron_entries(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_id: int,
    patron_id: int,
    first: int,
    after_id: int | None,
) -> tuple[list[AuditView], bool]:
    """One page of a patron's trail, newest first, keyset-paged by id, and whether more follow.

    Empty for readers not allowed it. Values of attribute types the reader may not
    see are left out; an entry that only changed such values is left out entirely.
    """
    if not can_read_patrons(actor, institution_id):
        return [], False
    types = {t.code: t for t in (await load_types(session, [institution_id])).values()}
    page: list[AuditView] = []
    while len(page) <= first:
        query = select(AuditEntry).where(
            col(AuditEntry.entity_type) == "Patron", col(AuditEntry.entity_id) == patron_id
        )
        if after_id is not None:
            query = query.where(col(AuditEntry.id) < after_id)
        rows = list(
            (
                await session.execute(query.order_by(col(AuditEntry.id).desc()).limit(first + 1))
            ).scalars()
        )
        foreign = await _foreign_actors(session, rows, institution_id)
        for row in rows:
            assert row.id is not None
            changes = visible_changes(row.changes or {}, actor, types)
            if row.changes and not changes:
                continue
            page.append(
                AuditView(
                    id=row.id,
                    at=row.at,
                    actor_name=foreign.get(row.id, row.actor_name),
                    action=row.action,
                    changes=changes,
                )
            )
        if len(rows) <= first:
            break
        after_id = rows[-1].id
    return page[:first], len(page) > first


async def _foreign_actors(
    session: AsyncSession, rows: list[AuditEntry], institution_id: int
) -> dict[int, str]:
    """Entries made by staff or API clients of another institution (a source's change
    propagated to a linked copy, its deletion): the reader learns which institution
    acted, never who there. By entry id."""
    libraries = {r.library_id for r in rows if r.library_id is not None}
    clients = {r.actor_client_id for r in rows if r.library_id is None and r.actor_client_id}
    if not libraries and not clients:
        return {}
    codes: dict[tuple[str, int], tuple[int, str]] = {}
    if libraries:
        for library_id, owner, code in await session.execute(
            select(pk(Library.id), pk(Institution.id), col(Institution.code))
            .join(Institution, col(Institution.id) == Library.institution_id)
            .where(col(Library.id).in_(libraries))
        ):
            codes[("library", library_id)] = (owner, code)
    if clients:
        for client_id, owner, code in await session.execute(
            select(pk(ApiClient.id), pk(Institution.id), col(Institution.code))
            .join(Institution, col(Institution.id) == ApiClient.institution_id)
            .where(col(ApiClient.id).in_(clients))
        ):
            codes[("client", client_id)] = (owner, code)
    out: dict[int, str] = {}
    for row in rows:
        if row.library_id is not None:
            found = codes.get(("library", row.library_id))
        elif row.actor_client_id:
            found = codes.get(("client", row.actor_client_id))
        else:
            found = None
        if found is not None and found[0] != institution_id:
            out[row.id] = f"{found[1]} (another member)"  # type: ignore[index]
    return out
