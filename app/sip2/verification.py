"""Patron verification for vendors: one use-case behind SIP2 and `authenticatePatron`.

A vendor sends a barcode and a PIN and learns whether the account is valid, whether the
PIN is right, the patron's status and the entitlement attributes it may read. PIN checks
are throttled exactly like logins (the same per-account lockout and per-address budget),
and every verification is audited, never with the PIN.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import clock
from app.attributes.service import TypeInfo, load_types, patron_values
from app.audit import service as audit
from app.auth import throttling
from app.auth.passwords import verify_password
from app.auth.policy import Actor, require_authenticated
from app.auth.roles import Scope
from app.circulation.models import Loan
from app.db import utcnow
from app.errors import DomainError, ErrorCode
from app.network.models import BlockType, IdentifierType, Institution, Library, UserGroup
from app.network.service import BARCODE
from app.patrons.models import Patron, PatronBlock, PatronIdentifier
from app.settings import Settings

LOST_BLOCK = "LOST"


class PinCheck(StrEnum):
    """What became of the PIN."""

    VALID = "VALID"
    INVALID = "INVALID"
    EMPTY_ACCEPTED = "EMPTY_ACCEPTED"  # no PIN, and the SIP account accepts that
    EMPTY_REFUSED = "EMPTY_REFUSED"  # no PIN, and a PIN is required
    LOCKED = "LOCKED"  # the account is locked after too many failures: not checked
    THROTTLED = "THROTTLED"  # the address used up its failures for the minute: not checked

    @property
    def accepted(self) -> bool:
        return self in (PinCheck.VALID, PinCheck.EMPTY_ACCEPTED)


@dataclass(frozen=True)
class BlockSummary:
    code: str
    description: str
    blocks_loans: bool


@dataclass(frozen=True)
class VerifiedAttribute:
    """Values of one attribute type the caller may read, with their labels."""

    code: str
    label: str
    values: tuple[str, ...]
    value_labels: tuple[str, ...]


@dataclass(frozen=True)
class Verification:
    """The answer to one verification; `patron` is None when the barcode is unknown."""

    barcode: str
    institution: Institution
    patron: Patron | None
    valid_patron: bool
    pin: PinCheck
    home_library: Library | None
    user_group: UserGroup | None
    blocks: tuple[BlockSummary, ...]
    charged_items: int
    overdue_items: int
    attributes: tuple[VerifiedAttribute, ...]

    @property
    def valid_password(self) -> bool:
        return self.patron is not None and self.pin.accepted

    @property
    def display_name(self) -> str:
        """The preferred name (else the given name) and the surname."""
        if self.patron is None:
            return ""
        first = self.patron.preferred_name or self.patron.given_name or ""
        return " ".join(part for part in (first, self.patron.surname or "") if part)

    @property
    def privileges_denied(self) -> bool:
        """Charge, renewal, recall and hold: denied unless valid and without loan blocks."""
        return not self.valid_patron or any(b.blocks_loans for b in self.blocks)

    @property
    def card_reported_lost(self) -> bool:
        return any(b.code == LOST_BLOCK for b in self.blocks)

    @property
    def expiry_date(self) -> date | None:
        return self.patron.expiry_date if self.patron is not None else None

    @property
    def throttle_message(self) -> str | None:
        if self.pin is PinCheck.LOCKED:
            return "This account is locked after too many wrong PINs. Try again later."
        if self.pin is PinCheck.THROTTLED:
            return "Too many wrong PINs from this address. Wait a minute and try again."
        return None


def is_valid_patron(patron: Patron, today: date) -> bool:
    """Enabled, personalised (not generic), not expired, and within `until`."""
    return (
        patron.enabled
        and not patron.is_generic
        and (patron.expiry_date is None or patron.expiry_date >= today)
        and (patron.until is None or patron.until >= today)
    )


async def patron_by_barcode(
    session: AsyncSession, institution_id: int, barcode: str
) -> Patron | None:
    """The patron of this institution holding the barcode (case-insensitive)."""
    key = barcode.strip().lower()
    if not key:
        return None
    return (
        await session.execute(
            select(Patron)
            .join(PatronIdentifier, col(PatronIdentifier.patron_id) == col(Patron.id))
            .join(
                IdentifierType, col(IdentifierType.id) == col(PatronIdentifier.identifier_type_id)
            )
            .where(
                col(IdentifierType.code) == BARCODE,
                col(PatronIdentifier.institution_id) == institution_id,
                col(PatronIdentifier.value_key) == key,
            )
            .limit(1)
        )
    ).scalar_one_or_none()


async def _check_pin(
    session: AsyncSession,
    settings: Settings,
    institution_id: int,
    barcode: str,
    patron: Patron | None,
    pin: str | None,
    allow_empty_pin: bool,
    address: str,
) -> PinCheck:
    """Check a PIN, throttled like logins: empty and wrong PINs both count, and a barcode
    that names nobody locks after as many failures as a real one (no oracle)."""
    if not pin and allow_empty_pin:
        return PinCheck.EMPTY_ACCEPTED
    try:
        attempt = await throttling.begin_attempt(
            session,
            settings,
            address=address,
            patron_id=patron.id if patron is not None else None,
            unknown_name=(
                throttling.name_key(institution_id, f"barcode:{barcode}")
                if patron is None
                else None
            ),
            channel="patron_pin",
        )
    except throttling.Refused as refused:
        if refused.code is ErrorCode.TOO_MANY_ATTEMPTS:
            return PinCheck.THROTTLED
        return PinCheck.LOCKED
    if not pin:
        await throttling.attempt_failed(session, settings, attempt)
        return PinCheck.EMPTY_REFUSED
    password_hash = patron.password_hash if patron is not None else None
    # argon2 takes tens of milliseconds: off the event loop, so other clients go on.
    if await asyncio.to_thread(verify_password, settings, password_hash, pin):
        await throttling.attempt_succeeded(session, attempt)
        return PinCheck.VALID
    await throttling.attempt_failed(session, settings, attempt)
    return PinCheck.INVALID


async def _blocks(session: AsyncSession, patron_id: int) -> tuple[BlockSummary, ...]:
    now = utcnow()
    rows = await session.execute(
        select(col(BlockType.code), col(BlockType.description), col(BlockType.blocks_loans))
        .join(PatronBlock, col(PatronBlock.block_type_id) == col(BlockType.id))
        .where(
            col(PatronBlock.patron_id) == patron_id,
            (col(PatronBlock.expires_at).is_(None)) | (col(PatronBlock.expires_at) > now),
        )
        .order_by(col(BlockType.code), col(PatronBlock.id))
    )
    return tuple(BlockSummary(code, description, loans) for code, description, loans in rows)


async def _loan_counts(session: AsyncSession, patron_id: int) -> tuple[int, int]:
    now = utcnow()
    charged, overdue = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(col(Loan.due_at) < now),
            ).where(col(Loan.patron_id) == patron_id, col(Loan.returned_at).is_(None))
        )
    ).one()
    return int(charged or 0), int(overdue or 0)


async def loan_items(
    session: AsyncSession, patron_id: int, *, overdue_only: bool, start: int, end: int
) -> list[str]:
    """Item barcodes of a patron's active loans (overdue ones only if asked), oldest
    first, from the `start`th to the `end`th (1-based, inclusive: SIP2's BP and BQ)."""
    if end < start:
        return []
    conditions = [col(Loan.patron_id) == patron_id, col(Loan.returned_at).is_(None)]
    if overdue_only:
        conditions.append(col(Loan.due_at) < utcnow())
    rows = await session.execute(
        select(col(Loan.item_barcode))
        .where(*conditions)
        .order_by(col(Loan.loaned_at), col(Loan.id))
        .offset(start - 1)
        .limit(end - start + 1)
    )
    return [r[0] for r in rows]


async def _attributes(
    session: AsyncSession,
    institution_id: int,
    patron_id: int,
    visible: Callable[[TypeInfo], bool],
) -> tuple[VerifiedAttribute, ...]:
    types = await load_types(session, [institution_id])
    values = await patron_values(session, patron_id)
    out: list[VerifiedAttribute] = []
    for info in types.values():
        stored = values.get(info.id)
        if not stored or not visible(info):
            continue
        labels = {v.code: v.label for v in info.authorised}
        out.append(
            VerifiedAttribute(
                code=info.code,
                label=info.row.label,
                values=tuple(stored),
                value_labels=tuple(labels.get(v, v) for v in stored),
            )
        )
    return tuple(out)


async def verify_patron(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    institution: Institution,
    barcode: str,
    pin: str | None,
    allow_empty_pin: bool,
    address: str,
    channel: str,
    visible: Callable[[TypeInfo], bool],
) -> Verification:
    """Verify a barcode and PIN in an institution; audited and committed (failures included).

    `visible` decides which attribute types the caller may read.
    """
    assert institution.id is not None
    patron = await patron_by_barcode(session, institution.id, barcode)
    pin_check = await _check_pin(
        session, settings, institution.id, barcode.strip(), patron, pin, allow_empty_pin, address
    )
    home_library = user_group = None
    blocks: tuple[BlockSummary, ...] = ()
    attributes: tuple[VerifiedAttribute, ...] = ()
    charged = overdue = 0
    valid = False
    if patron is not None:
        assert patron.id is not None
        valid = is_valid_patron(patron, clock.today())
        home_library = await session.get(Library, patron.home_library_id)
        if patron.user_group_id is not None:
            user_group = await session.get(UserGroup, patron.user_group_id)
        blocks = await _blocks(session, patron.id)
        charged, overdue = await _loan_counts(session, patron.id)
        attributes = await _attributes(session, institution.id, patron.id, visible)
    result = Verification(
        barcode=barcode.strip(),
        institution=institution,
        patron=patron,
        valid_patron=valid,
        pin=pin_check,
        home_library=home_library,
        user_group=user_group,
        blocks=blocks,
        charged_items=charged,
        overdue_items=overdue,
        attributes=attributes,
    )
    await audit.record(
        session=session,
        actor=actor,
        action="verify_patron",
        entity_type="Patron",
        entity_id=patron.id if patron is not None else None,
        institution_id=institution.id,
        changes={
            "verification": {
                "before": None,
                "after": {
                    "channel": channel,
                    "barcode": result.barcode,
                    "found": patron is not None,
                    "validPatron": valid,
                    "pin": pin_check.value,
                },
            }
        },
    )
    await session.commit()
    return result


async def authenticate_patron(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    barcode: str,
    password: str,
    address: str,
) -> Verification:
    """`authenticatePatron`: an API client with scope patron_auth verifies a patron of its
    institution; it reads the attribute types its `attribute:<CODE>` scopes name."""
    require_authenticated(actor)
    if actor.kind != "client" or not actor.has_scope(Scope.PATRON_AUTH):
        raise DomainError.of(
            ErrorCode.FORBIDDEN, "Only API clients with the patron_auth scope may verify patrons."
        )
    if not barcode.strip():
        raise DomainError.of(ErrorCode.MANDATORY_FIELD, "Give the patron's barcode.", ["barcode"])
    institution = await session.get(Institution, actor.institution_id)
    assert institution is not None

    def visible(info: TypeInfo) -> bool:
        return info.row.institution_id == institution.id and actor.has_scope(
            f"attribute:{info.code}"
        )

    return await verify_patron(
        session=session,
        settings=settings,
        actor=actor,
        institution=institution,
        barcode=barcode,
        pin=password,
        allow_empty_pin=False,
        address=address,
        channel="GRAPHQL",
        visible=visible,
    )
