"""May a patron borrow now, and if not why: the rules checkOut applies, for one patron or
a whole page of them in a fixed number of statements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import clock
from app.db import utcnow
from app.network.models import BlockType, LibraryGroup
from app.patrons.models import Patron, PatronBlock, PatronLibraryGroup
from app.sql import in_chunks, saved_id


@dataclass(frozen=True)
class BorrowingReason:
    """One reason an account may not borrow: a code for programs, a sentence for people."""

    code: str
    message: str
    block: str | None = None  # the block's description, for BLOCKED


# Codes of BorrowingReason; BLOCKED ones can be overridden at checkout, the others not.
GENERIC_ACCOUNT = "GENERIC_ACCOUNT"
DISABLED = "DISABLED"
EXPIRED = "EXPIRED"
ACCESS_ENDED = "ACCESS_ENDED"
HOME_ACCOUNT_UNAVAILABLE = "HOME_ACCOUNT_UNAVAILABLE"
NO_LIBRARY_GROUP = "NO_LIBRARY_GROUP"
BLOCKED = "BLOCKED"


def needs_library_group(patron: Patron) -> bool:
    """A HOME account without a form class (not a student) needs a library group to borrow
    in an institution that uses library groups."""
    return patron.form_class is None and patron.account_type == "HOME"


def account_reasons(patron: Patron, today: date, lacks_group: bool) -> list[BorrowingReason]:
    """Why this account may not borrow at all (blocks aside), in the order checked.
    `lacks_group`: the patron needs a library group (see needs_library_group), its
    institution uses them, and it has none."""
    reasons = []
    if patron.is_generic:
        reasons.append(BorrowingReason(GENERIC_ACCOUNT, "Generic accounts cannot borrow."))
    if not patron.enabled:
        reasons.append(BorrowingReason(DISABLED, "The account is disabled."))
    if patron.expiry_date is not None and patron.expiry_date < today:
        reasons.append(BorrowingReason(EXPIRED, f"The account expired on {patron.expiry_date}."))
    if patron.until is not None and patron.until < today:
        reasons.append(
            BorrowingReason(ACCESS_ENDED, f"The account's access ended on {patron.until}.")
        )
    if patron.account_type == "LINKED" and patron.link_status not in (None, "ACTIVE"):
        reasons.append(
            BorrowingReason(
                HOME_ACCOUNT_UNAVAILABLE,
                "The patron's home account is no longer available to this institution.",
            )
        )
    if lacks_group:
        reasons.append(
            BorrowingReason(
                NO_LIBRARY_GROUP,
                "A patron who is not a student needs a library group to borrow.",
            )
        )
    return reasons


async def borrowing_reasons(session: AsyncSession, patron: Patron) -> list[BorrowingReason]:
    """Every reason this patron may not borrow now: what checkOut refuses on (the
    account's reasons first, then each block that stops loans). Empty: may borrow."""
    return (await borrowing_reasons_many(session, [patron]))[saved_id(patron)]


async def borrowing_reasons_many(
    session: AsyncSession, patrons: Sequence[Patron]
) -> dict[int, list[BorrowingReason]]:
    """borrowing_reasons of several patrons, by patron id, in at most three statements
    (per thousand patrons) however many: which institutions use library groups, which
    patrons have one, and the blocks that stop loans."""
    today = clock.today()
    needing = [p for p in patrons if needs_library_group(p)]
    using_groups: set[int] = set()
    with_group: set[int] = set()
    if needing:
        institutions = sorted({p.institution_id for p in needing})
        for chunk in in_chunks(institutions):
            rows = await session.execute(
                select(col(LibraryGroup.institution_id))
                .where(col(LibraryGroup.institution_id).in_(chunk))
                .distinct()
            )
            using_groups.update(rows.scalars())
        asking = sorted({saved_id(p) for p in needing if p.institution_id in using_groups})
        for chunk in in_chunks(asking):
            members = await session.execute(
                select(col(PatronLibraryGroup.patron_id))
                .where(col(PatronLibraryGroup.patron_id).in_(chunk))
                .distinct()
            )
            with_group.update(members.scalars())
    blocks: dict[int, list[str]] = {}
    now = utcnow()
    for chunk in in_chunks(sorted({saved_id(p) for p in patrons})):
        found = await session.execute(
            select(col(PatronBlock.patron_id), col(BlockType.description))
            .join(BlockType, col(PatronBlock.block_type_id) == col(BlockType.id))
            .where(
                col(PatronBlock.patron_id).in_(chunk),
                col(BlockType.blocks_loans).is_(True),
                (col(PatronBlock.expires_at).is_(None)) | (col(PatronBlock.expires_at) > now),
            )
            .order_by(col(PatronBlock.id))
        )
        for patron_id, description in found.all():
            blocks.setdefault(patron_id, []).append(description)
    answers: dict[int, list[BorrowingReason]] = {}
    for patron in patrons:
        patron_id = saved_id(patron)
        lacks_group = (
            needs_library_group(patron)
            and patron.institution_id in using_groups
            and patron_id not in with_group
        )
        reasons = account_reasons(patron, today, lacks_group)
        for description in blocks.get(patron_id, []):
            reasons.append(BorrowingReason(BLOCKED, f"Blocked: {description}.", description))
        answers[patron_id] = reasons
    return answers
