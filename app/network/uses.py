"""What refers to a row of the network's structure, and the helpers its changes share.

A removal either finds nothing that uses the row, or moves what may move to a
replacement in the same transaction; anything else that still refers to it refuses the
removal and says what it is. The check is driven by the schema's foreign keys, so a table
added later that refers to a library, user group, ... stops its removal instead of being
left dangling.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

import app.tables  # noqa: F401  (every table is in the metadata the reference check reads)
from app.audit import service as audit
from app.auth.policy import Actor
from app.db import metadata, utcnow
from app.errors import DomainError, ErrorCode, FieldError
from app.network.service import (
    _check_name,
)
from app.patrons.models import (
    Patron,
)

CODE = ["code"]
REPLACE = ["replace_with"]


def many(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


# --- What refers to a row ----------------------------------------------------------------


async def references(session: AsyncSession, table: str, row_id: int) -> dict[str, int]:
    """How many rows of each table refer to the row, by foreign key ("table.column": n)."""
    found: dict[str, int] = {}
    for other in metadata.sorted_tables:
        for key in other.foreign_keys:
            if key.column.table.name != table:
                continue
            count = (
                await session.execute(
                    select(func.count()).select_from(other).where(key.parent == row_id)
                )
            ).scalar_one()
            if count:
                found[f"{other.name}.{key.parent.name}"] = int(count)
    return found


@dataclass
class Removal:
    """What refers to a row about to go: each use is moved, let go with it, or refuses."""

    what: str  # e.g. "the library BASEHOR"
    uses: dict[str, int]
    errors: list[FieldError] = field(default_factory=list)

    def take(self, key: str) -> int:
        return self.uses.pop(key, 0)

    def refuse(self, message: str, where: list[str] = CODE) -> None:
        self.errors.append(FieldError(ErrorCode.CONFLICT, message, where))

    def finish(self, labels: dict[str, str], cascades: Iterable[str] = ()) -> None:
        """Refuse for every use left; ``cascades`` go with the row (e.g. its sessions)."""
        for key in cascades:
            self.uses.pop(key, None)
        for key, count in sorted(self.uses.items()):
            label = labels.get(key)
            if label is None:
                table, column = key.split(".")
                label = f"{{n}} rows of {table} ({column}) refer to {{what}}"
            self.refuse(label.format(n=count, what=self.what) + ".")
        if self.errors:
            raise DomainError(self.errors)


async def bump_patrons_in(session: AsyncSession, table: Any, column: Any, value: int) -> None:
    """bump_patrons for the patrons with a row in ``table`` whose ``column`` is ``value``."""
    await bump_patrons(
        session, col(Patron.id).in_(select(table.c.patron_id).where(column == value))
    )


async def bump_patrons(session: AsyncSession, where: Any) -> None:
    """Patrons whose data a replacement changed get a new version (stale edits fail)."""
    await session.execute(
        update(Patron).where(where).values(version=col(Patron.version) + 1, updated_at=utcnow())
    )


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    entity: str,
    row_id: int | None,
    institution_id: int | None,
    changes: dict[str, Any],
) -> None:
    await audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type=entity,
        entity_id=row_id,
        institution_id=institution_id,
        changes=changes,
    )


def apply_changes(row: Any, values: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """Set the given values on the row; the audit's before/after of those that changed."""
    changed: dict[str, Any] = {}
    for attribute, value in values.items():
        before = getattr(row, attribute)
        if before != value:
            setattr(row, attribute, value)
            changed[names.get(attribute, attribute)] = {"before": before, "after": value}
    return changed


async def save(
    session: AsyncSession,
    actor: Actor,
    row: Any,
    values: dict[str, Any],
    action: str,
    institution_id: int | None,
    names: dict[str, str],
) -> None:
    """Apply a change to a row, audit what changed (nothing: no entry) and commit."""
    changed = apply_changes(row, values, names)
    if changed:
        await record(session, actor, action, type(row).__name__, row.id, institution_id, changed)
    await session.commit()


def name_change(name: str | None, errors: list[FieldError]) -> dict[str, Any]:
    return {} if name is None else {"name": _check_name(name, ["name"], errors)}


async def move_pairs(
    session: AsyncSession, table: Any, owner: str, column: str, old: int, new: int
) -> None:
    """Point (owner, old) rows at new; an owner that already has new keeps one row."""
    owners_with_new = select(table.c[owner]).where(table.c[column] == new)
    await session.execute(
        delete(table).where(table.c[column] == old, table.c[owner].in_(owners_with_new))
    )
    await session.execute(update(table).where(table.c[column] == old).values({column: new}))
