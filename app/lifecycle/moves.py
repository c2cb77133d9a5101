"""Moving what a duplicate account holds onto the survivor of a merge.

Each step leaves on the duplicates only what the survivor must not take (the
duplicates are deleted afterwards, and the database drops what is left).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes.models import PatronAttribute
from app.attributes.service import load_types
from app.patrons.models import (
    Patron,
    PatronBlock,
    PatronContactEmail,
    PatronIdentifier,
    PatronLibraryGroup,
    PatronPhoto,
)
from app.sql import pk

# Fields the survivor takes from a duplicate when its own is blank. Dates are left
# out on purpose: a blank expiry or `until` means "no limit", not "unknown".
TAKEN_WHEN_BLANK = (
    "user_group_id",
    "given_name",
    "middle_name",
    "preferred_name",
    "surname",
    "primary_email",
    "phone",
    "cohort",
    "form_class",
)


def blank_fields(survivor: Patron, duplicates: list[Patron]) -> dict[str, Any]:
    """The survivor's blank fields and the first duplicate value for each."""
    taken: dict[str, Any] = {}
    for name in TAKEN_WHEN_BLANK:
        if name == "form_class" and survivor.is_staff:
            continue  # staff members have no form class
        if getattr(survivor, name) not in (None, ""):
            continue
        value = next(
            (getattr(d, name) for d in duplicates if getattr(d, name) not in (None, "")), None
        )
        if value is not None:
            taken[name] = value
    return taken


async def move_blocks(session: AsyncSession, survivor: Patron, duplicates: list[Patron]) -> None:
    """Every block moves, except copies of blocks the survivor copies from the same source."""
    same_source = [
        d.id
        for d in duplicates
        if survivor.link_source_patron_id is not None
        and d.link_source_patron_id == survivor.link_source_patron_id
    ]
    await session.execute(
        update(PatronBlock)
        .where(
            col(PatronBlock.patron_id).in_([d.id for d in duplicates]),
            or_(
                col(PatronBlock.origin) != "COPIED", col(PatronBlock.patron_id).not_in(same_source)
            ),
        )
        .values(patron_id=survivor.id)
        .execution_options(synchronize_session=False)
    )


async def move_contact_emails(
    session: AsyncSession, survivor_id: int, duplicate_ids: list[int]
) -> None:
    """Addresses the survivor lacks are appended, in the duplicates' order."""
    rows = list(
        (
            await session.execute(
                select(PatronContactEmail).where(
                    col(PatronContactEmail.patron_id).in_([survivor_id, *duplicate_ids])
                )
            )
        ).scalars()
    )
    order = {pid: n for n, pid in enumerate([survivor_id, *duplicate_ids])}
    rows.sort(key=lambda r: (order[r.patron_id], r.position, r.id))
    known = {r.address.lower() for r in rows if r.patron_id == survivor_id}
    position = max((r.position for r in rows if r.patron_id == survivor_id), default=-1)
    for row in rows:
        if row.patron_id == survivor_id or row.address.lower() in known:
            continue
        known.add(row.address.lower())
        position += 1
        row.patron_id = survivor_id
        row.position = position
    await session.flush()


async def move_library_groups(
    session: AsyncSession, survivor_id: int, duplicate_ids: list[int]
) -> None:
    rows = (
        await session.execute(
            select(
                col(PatronLibraryGroup.patron_id), col(PatronLibraryGroup.library_group_id)
            ).where(col(PatronLibraryGroup.patron_id).in_([survivor_id, *duplicate_ids]))
        )
    ).all()
    held: set[int] = set()
    wanted: set[int] = set()
    for patron_id, group_id in rows:
        (held if patron_id == survivor_id else wanted).add(group_id)
    for group_id in sorted(wanted - held):
        session.add(PatronLibraryGroup(patron_id=survivor_id, library_group_id=group_id))
    await session.flush()


async def move_identifiers(
    session: AsyncSession, survivor_id: int, duplicate_ids: list[int]
) -> None:
    """An identifier moves when the survivor (so far) has no value of its type."""
    rows = (
        await session.execute(
            select(
                pk(PatronIdentifier.id),
                col(PatronIdentifier.patron_id),
                col(PatronIdentifier.identifier_type_id),
            ).where(col(PatronIdentifier.patron_id).in_([survivor_id, *duplicate_ids]))
        )
    ).all()
    order = {pid: n for n, pid in enumerate([survivor_id, *duplicate_ids])}
    held: set[int] = set()
    moving: list[int] = []
    for identifier_id, patron_id, type_id in sorted(rows, key=lambda r: (order[r[1]], r[0])):
        if type_id in held:
            continue
        held.add(type_id)
        if patron_id != survivor_id:
            moving.append(identifier_id)
    if moving:
        await session.execute(
            update(PatronIdentifier)
            .where(col(PatronIdentifier.id).in_(moving))
            .values(patron_id=survivor_id)
            .execution_options(synchronize_session=False)
        )


async def move_attributes(
    session: AsyncSession, survivor: Patron, duplicate_ids: list[int]
) -> None:
    """Values move whoever may see them; the survivor's value wins for non-repeatable types."""
    survivor_id: int = survivor.id  # type: ignore[assignment]
    types = await load_types(session, [survivor.institution_id])
    rows = (
        await session.execute(
            select(
                pk(PatronAttribute.id),
                col(PatronAttribute.patron_id),
                col(PatronAttribute.attribute_type_id),
                col(PatronAttribute.value),
            ).where(col(PatronAttribute.patron_id).in_([survivor_id, *duplicate_ids]))
        )
    ).all()
    order = {pid: n for n, pid in enumerate([survivor_id, *duplicate_ids])}
    held: dict[int, set[str]] = defaultdict(set)
    moving: list[int] = []
    for value_id, patron_id, type_id, value in sorted(rows, key=lambda r: (order[r[1]], r[0])):
        info = types.get(type_id)
        repeatable = info is not None and info.row.repeatable
        if value in held[type_id] or (held[type_id] and not repeatable):
            continue
        held[type_id].add(value)
        if patron_id != survivor_id:
            moving.append(value_id)
    if moving:
        await session.execute(
            update(PatronAttribute)
            .where(col(PatronAttribute.id).in_(moving))
            .values(patron_id=survivor_id)
            .execution_options(synchronize_session=False)
        )


async def move_photo(session: AsyncSession, survivor_id: int, duplicate_ids: list[int]) -> None:
    has_photo = await session.scalar(
        select(col(PatronPhoto.patron_id)).where(col(PatronPhoto.patron_id) == survivor_id)
    )
    if has_photo is not None:
        return
    for duplicate_id in duplicate_ids:
        found = await session.scalar(
            select(col(PatronPhoto.patron_id)).where(col(PatronPhoto.patron_id) == duplicate_id)
        )
        if found is not None:
            await session.execute(
                update(PatronPhoto)
                .where(col(PatronPhoto.patron_id) == duplicate_id)
                .values(patron_id=survivor_id)
                .execution_options(synchronize_session=False)
            )
            return
