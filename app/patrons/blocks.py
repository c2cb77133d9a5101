"""Blocks on patrons: added and lifted by librarians of the patron's institution."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.auth.policy import Actor, can_read_patron, require_authenticated
from app.db import utcnow
from app.errors import DomainError, ErrorCode
from app.network import service as network
from app.network.models import BlockType
from app.patrons.models import Patron, PatronBlock
from app.patrons.service import editable_patron, propagate_source
from app.patrons.versions import bump_version


async def add_block(
    *,
    session: AsyncSession,
    actor: Actor,
    patron_id: int,
    block_type_code: str,
    note: str | None,
    expires_at: datetime | None,
) -> Patron:
    """Put a LOCAL block of one of the institution's block types on a patron."""
    patron = await editable_patron(session, actor, patron_id, ["patron_id"])
    block_type = await network.block_type_by_code(session, patron.institution_id, block_type_code)
    if block_type is None:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            f"{block_type_code!r} is not a block type of this institution.",
            ["block_type"],
        )
    note = (note or "").strip() or None
    if note is not None and len(note) > 1000:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, "Notes are at most 1000 characters.", ["note"]
        )
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)  # a time without a zone is taken as UTC
    if expires_at is not None and expires_at <= utcnow():
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, "The expiry must be in the future.", ["expires_at"]
        )
    block = PatronBlock(
        patron_id=patron_id,
        block_type_id=block_type.id,  # type: ignore[arg-type]
        note=note,
        origin="LOCAL",
        expires_at=expires_at,
    )
    session.add(block)
    await session.flush()
    patron.version = await bump_version(session, patron_id)
    await audit.record(
        session=session,
        actor=actor,
        action="add_block",
        entity_type="Patron",
        entity_id=patron_id,
        institution_id=patron.institution_id,
        changes={
            f"block:{block.id}": {"before": None, "after": {"type": block_type.code, "note": note}}
        },
    )
    if block_type.network and patron.account_type == "HOME":
        await propagate_source(session=session, actor=actor, source_id=patron_id)
    await session.commit()
    await session.refresh(patron)
    return patron


async def remove_block(*, session: AsyncSession, actor: Actor, block_id: int) -> Patron:
    """Lift a LOCAL block; copied blocks are lifted at the patron's home institution."""
    require_authenticated(actor)
    row = (
        await session.execute(
            select(PatronBlock, BlockType)
            .join(BlockType, col(BlockType.id) == col(PatronBlock.block_type_id))
            .where(col(PatronBlock.id) == block_id)
        )
    ).one_or_none()
    not_found = DomainError.of(ErrorCode.NOT_FOUND, "There is no such block.", ["id"])
    if row is None:
        raise not_found
    block, block_type = row
    owner = await session.get(Patron, block.patron_id)
    # A block of a patron the actor may not see does not exist for it: the same answer
    # as for a missing block, so the id reveals nothing.
    if owner is None or not can_read_patron(actor, owner.institution_id, block.patron_id):
        raise not_found
    patron = await editable_patron(session, actor, block.patron_id, ["id"])
    if block.origin == "COPIED":
        raise DomainError.of(
            ErrorCode.FORBIDDEN,
            "This block was copied from the patron's home institution; "
            "it can only be lifted there.",
            ["id"],
        )
    await session.delete(block)
    await session.flush()
    patron.version = await bump_version(session, patron.id)  # type: ignore[arg-type]
    await audit.record(
        session=session,
        actor=actor,
        action="remove_block",
        entity_type="Patron",
        entity_id=patron.id,
        institution_id=patron.institution_id,
        changes={
            f"block:{block_id}": {
                "before": {"type": block_type.code, "note": block.note},
                "after": None,
            }
        },
    )
    if block_type.network and patron.account_type == "HOME":
        await propagate_source(session=session, actor=actor, source_id=patron.id)  # type: ignore[arg-type]
    await session.commit()
    await session.refresh(patron)
    return patron
