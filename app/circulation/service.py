"""Check out and check in, with the borrowing rules of the registry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.auth.policy import Actor, can_read_patron, require_authenticated
from app.auth.roles import SystemGroup
from app.circulation.borrowing import BLOCKED, borrowing_reasons
from app.circulation.models import Loan
from app.db import utcnow
from app.errors import DomainError, ErrorCode
from app.network.models import UserGroup
from app.patrons.models import Patron
from app.settings import Settings

DEFAULT_LOAN_DAYS = 14


def can_circulate(actor: Actor, institution_id: int) -> bool:
    return (
        actor.kind == "staff"
        and actor.institution_id == institution_id
        and actor.has_role(SystemGroup.CIRCULATION)
    )


def require_circulation(actor: Actor) -> None:
    """Only circulation staff lend: checked before anything else (walk-ins: before linking)."""
    require_authenticated(actor)
    if actor.institution_id is None or not can_circulate(actor, actor.institution_id):
        raise DomainError.of(ErrorCode.FORBIDDEN, "Only circulation staff may lend items.")


def item_key(item_barcode: str) -> str:
    """The item's barcode as lent (trimmed), or INVALID_INPUT."""
    item = item_barcode.strip()
    if not item or len(item) > 100:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            "Give the item's barcode (up to 100 characters).",
            ["item_barcode"],
        )
    return item


async def outstanding_loans(session: AsyncSession, patron_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Loan)
            .where(col(Loan.patron_id) == patron_id, col(Loan.returned_at).is_(None))
        )
        or 0
    )


def due_date(settings: Settings, loaned_at: datetime, days: int, until: object) -> datetime:
    """Loan period from now, capped at the end of the `until` day in the network's time zone."""
    due = loaned_at + timedelta(days=days)
    if until is not None:
        zone = ZoneInfo(settings.timezone)
        end_of_until = datetime.combine(until, time(23, 59, 59), tzinfo=zone)  # type: ignore[arg-type]
        due = min(due, end_of_until)
    return due


@dataclass(frozen=True)
class CheckOut:
    loan: Loan


async def check_out(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    patron_id: int,
    item_barcode: str,
    override_blocks: bool,
    library_id: int | None = None,
) -> Loan:
    """Lend an item to a patron of the session's institution."""
    require_authenticated(actor)
    patron = await session.get(Patron, patron_id)
    if patron is None or not can_read_patron(actor, patron.institution_id, patron_id):
        raise DomainError.of(ErrorCode.NOT_FOUND, "There is no such patron.", ["patron_id"])
    if not can_circulate(actor, patron.institution_id):
        raise DomainError.of(
            ErrorCode.FORBIDDEN, "Only circulation staff of the patron's institution may lend."
        )
    item = item_key(item_barcode)
    reasons = await borrowing_reasons(session, patron)
    refusals = [r for r in reasons if r.code != BLOCKED]
    if refusals:
        raise DomainError.of(ErrorCode.NOT_ALLOWED_TO_BORROW, refusals[0].message, ["patron_id"])
    blocks = [r.block for r in reasons if r.block is not None]
    if blocks:
        if not override_blocks:
            raise DomainError.of(
                ErrorCode.PATRON_BLOCKED,
                "The patron is blocked: " + "; ".join(blocks) + ".",
                ["patron_id"],
            )
        if not actor.has_role(SystemGroup.OVERRIDE_BLOCKS):
            raise DomainError.of(
                ErrorCode.FORBIDDEN,
                "Overriding blocks needs the OVERRIDE_BLOCKS role.",
                ["override_blocks"],
            )
    days = DEFAULT_LOAN_DAYS
    if patron.user_group_id is not None:
        group = await session.get(UserGroup, patron.user_group_id)
        if group is not None:
            days = group.loan_period_days
    now = utcnow()
    loan = Loan(
        patron_id=patron_id,
        institution_id=patron.institution_id,
        library_id=library_id or actor.library_id or patron.home_library_id,
        item_barcode=item,
        active_item_key=item.lower(),
        loaned_at=now,
        due_at=due_date(settings, now, days, patron.until),
    )
    try:
        async with session.begin_nested():
            session.add(loan)
            await session.flush()
    except IntegrityError as exc:
        raise DomainError.of(
            ErrorCode.CONFLICT,
            f"Item {item} is already on loan; check it in first.",
            ["item_barcode"],
        ) from exc
    await audit.record(
        session=session,
        actor=actor,
        action="check_out",
        entity_type="Patron",
        entity_id=patron_id,
        institution_id=patron.institution_id,
        changes={
            "loan": {
                "before": None,
                "after": {
                    "item": item,
                    "due": loan.due_at.isoformat(),
                    "blocksOverridden": bool(blocks),
                },
            }
        },
    )
    await session.commit()
    return loan


async def check_in(*, session: AsyncSession, actor: Actor, item_barcode: str) -> Loan:
    """Return an item lent by the session's institution."""
    require_authenticated(actor)
    if actor.institution_id is None or not can_circulate(actor, actor.institution_id):
        raise DomainError.of(ErrorCode.FORBIDDEN, "Only circulation staff may check items in.")
    item = item_barcode.strip().lower()
    loan = (
        await session.execute(
            select(Loan)
            .where(
                col(Loan.institution_id) == actor.institution_id, col(Loan.active_item_key) == item
            )
            # Two desks returning the same item at once: the second finds it returned.
            .with_for_update()
        )
    ).scalar_one_or_none()
    if loan is None:
        raise DomainError.of(
            ErrorCode.NOT_FOUND,
            f"Item {item_barcode.strip()} is not on loan here.",
            ["item_barcode"],
        )
    loan.returned_at = utcnow()
    loan.active_item_key = None
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="check_in",
        entity_type="Patron",
        entity_id=loan.patron_id,
        institution_id=loan.institution_id,
        changes={
            "loan": {
                "before": {"item": loan.item_barcode},
                "after": {"returned": loan.returned_at.isoformat()},
            }
        },
    )
    await session.commit()
    return loan


async def loans_page(
    *,
    session: AsyncSession,
    actor: Actor,
    patron: Patron,
    active: bool | None,
    first: int,
    after_id: int | None,
) -> tuple[list[Loan], bool, int]:
    """A patron's loans, newest first; the patron must be visible to the actor."""
    if not can_read_patron(actor, patron.institution_id, patron.id):  # type: ignore[arg-type]
        return [], False, 0
    clauses = [col(Loan.patron_id) == patron.id]
    if active is True:
        clauses.append(col(Loan.returned_at).is_(None))
    elif active is False:
        clauses.append(col(Loan.returned_at).is_not(None))
    total = int(await session.scalar(select(func.count()).select_from(Loan).where(*clauses)) or 0)
    query = select(Loan).where(*clauses)
    if after_id is not None:
        query = query.where(col(Loan.id) < after_id)
    rows = list(
        (await session.execute(query.order_by(col(Loan.id).desc()).limit(first + 1))).scalars()
    )
    return rows[:first], len(rows) > first, total
