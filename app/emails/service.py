"""Blacklisted and invalid primary emails: bounce intake, clearing flags, the alerts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, exists, func, insert, literal, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.audit.models import AuditEntry
from app.auth.policy import (
    Actor,
    can_administer_institution,
    require,
    require_authenticated,
    system_actor,
)
from app.auth.roles import Scope
from app.db import utcnow
from app.emails.models import EmailBlacklistEntry, InstitutionEmailAlert, PatronEmailFlag
from app.errors import DomainError, ErrorCode, FieldError
from app.network.models import Institution
from app.patrons.models import Patron
from app.sql import pk

MAX_ADDRESS_LENGTH = 320
# The actor named in the audit trail when the check turns an email service off or on.
CHECK_ACTOR = system_actor("email check")


class BounceKind(StrEnum):
    """Why the mail provider refuses an address."""

    HARD_BOUNCE = "HARD_BOUNCE"
    COMPLAINT = "COMPLAINT"
    INVALID = "INVALID"


class FlagReason(StrEnum):
    BLACKLISTED = "BLACKLISTED"
    INVALID = "INVALID"


@dataclass(frozen=True)
class Alert:
    """An alert shown to staff: a stable code and a message for a librarian."""

    code: str
    message: str


PATRON_ALERTS = {
    FlagReason.BLACKLISTED: Alert(
        "EMAIL_BLACKLISTED",
        "Emails to the primary email address bounce and it is blacklisted; "
        "ask the patron for a new address.",
    ),
    FlagReason.INVALID: Alert(
        "EMAIL_INVALID",
        "The primary email address is not a valid address; ask the patron for a correct one.",
    ),
}

INSTITUTION_ALERT_CODE = "EMAIL_ADDRESSES_FLAGGED"


def address_key(address: str) -> str:
    """The form addresses are compared in: trimmed and lower-cased."""
    return address.strip().lower()


def is_valid_address(address: str) -> bool:
    """Syntax only, as patron validation checks it; never a DNS lookup."""
    try:
        validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def patron_alerts(flag: PatronEmailFlag | None, primary_email: str | None) -> list[Alert]:
    """The alerts of a patron with this flag; a flag about a former address shows nothing."""
    if flag is None or primary_email is None or flag.address != address_key(primary_email):
        return []
    return [PATRON_ALERTS[FlagReason(flag.reason)]]


def institution_alerts(alert: InstitutionEmailAlert | None, service_enabled: bool) -> list[Alert]:
    """The institution's alert raised by the check, if any."""
    if alert is None:
        return []
    consequence = (
        "the email service is disabled until they are corrected"
        if not service_enabled
        else "correct them or remove them from the blacklist"
    )
    return [
        Alert(
            INSTITUTION_ALERT_CODE,
            f"{alert.flagged_count} patron email address(es) are invalid or blacklisted; "
            f"{consequence}.",
        )
    ]


# ---------------------------------------------------------------- bounce intake


async def report_email_bounce(
    *, session: AsyncSession, actor: Actor, address: str, kind: str
) -> EmailBlacklistEntry:
    """Blacklist an address (again: nothing changes) and flag the patrons using it."""
    require(
        actor.has_scope(Scope.EMAIL),
        actor,
        "Only the mail provider's API client (scope email) may report bounces.",
    )
    key = address_key(address)
    errors = []
    if not key or "@" not in key or len(key) > MAX_ADDRESS_LENGTH:
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT,
                f"Give the address that bounced (at most {MAX_ADDRESS_LENGTH} characters).",
                ["address"],
            )
        )
    if kind not in BounceKind.__members__:
        errors.append(FieldError(ErrorCode.INVALID_INPUT, "Unknown kind of bounce.", ["kind"]))
    if errors:
        raise DomainError(errors)
    entry = await session.scalar(
        select(EmailBlacklistEntry).where(col(EmailBlacklistEntry.address) == key)
    )
    try:
        async with session.begin_nested():
            if entry is None:
                entry = EmailBlacklistEntry(address=key, kind=kind, source=actor.name)
                session.add(entry)
                await session.flush()
                await audit.record(
                    session=session,
                    actor=actor,
                    action="report_email_bounce",
                    entity_type="EmailBlacklist",
                    entity_id=entry.id,
                    institution_id=actor.institution_id,
                    changes={"address": {"before": None, "after": key}, "kind": {"after": kind}},
                )
            await _flag_blacklisted(session, address)
    except IntegrityError as exc:
        # Reported twice at the same moment, or the check flagged a patron meanwhile.
        raise DomainError.of(
            ErrorCode.CONFLICT, "The address was changed at the same time; report it again."
        ) from exc
    await session.commit()
    return entry


def stored_forms(address: str) -> list[str]:
    """The ways a reported address can be stored (patron validation lower-cases domains)."""
    trimmed = address.strip()
    local, _, domain = trimmed.rpartition("@")
    return sorted({trimmed, trimmed.lower(), f"{local}@{domain.lower()}"})


async def _flag_blacklisted(session: AsyncSession, address: str) -> None:
    """Flag the patrons whose primary email is this address (set-based, through an index).

    A stored address that differs in the case of its local part is flagged by the check.
    """
    key = address_key(address)
    users = select(pk(Patron.id)).where(col(Patron.primary_email).in_(stored_forms(address)))
    # A patron flagged for something else (invalid, a former address) is flagged anew.
    await session.execute(
        delete(PatronEmailFlag).where(
            col(PatronEmailFlag.patron_id).in_(users),
            ~(
                (col(PatronEmailFlag.address) == key)
                & (col(PatronEmailFlag.reason) == FlagReason.BLACKLISTED.value)
            ),
        )
    )
    flagged = exists().where(col(PatronEmailFlag.patron_id) == col(Patron.id))
    await session.execute(
        insert(PatronEmailFlag).from_select(
            ["patron_id", "institution_id", "address", "reason", "flagged_at"],
            select(
                pk(Patron.id),
                col(Patron.institution_id),
                literal(key),
                literal(FlagReason.BLACKLISTED.value),
                literal(utcnow(), PatronEmailFlag.__table__.c.flagged_at.type),  # type: ignore[attr-defined]
            ).where(col(Patron.primary_email).in_(stored_forms(address)), ~flagged),
        )
    )


# ---------------------------------------------------------------- clearing flags


async def remove_from_blacklist(*, session: AsyncSession, actor: Actor, address: str) -> str:
    """Take an address off the blacklist and clear its patrons' flags (SYSTEM_ADMIN)."""
    require_authenticated(actor)
    key = address_key(address)
    institution_id = actor.institution_id
    allowed = actor.kind == "system" or (
        institution_id is not None
        and can_administer_institution(actor, institution_id)
        and await _institution_uses(session, institution_id, address)
    )
    require(
        allowed,
        actor,
        "Only a system administrator of an institution whose patrons use this address "
        "may remove it from the blacklist.",
    )
    entry = await session.scalar(
        select(EmailBlacklistEntry).where(col(EmailBlacklistEntry.address) == key)
    )
    if entry is None:
        raise DomainError.of(
            ErrorCode.NOT_FOUND, "This address is not on the blacklist.", ["address"]
        )
    await audit.record(
        session=session,
        actor=actor,
        action="remove_email_from_blacklist",
        entity_type="EmailBlacklist",
        entity_id=entry.id,
        institution_id=institution_id,
        changes={"address": {"before": key, "after": None}},
    )
    await session.delete(entry)
    cleared = await session.execute(
        delete(PatronEmailFlag)
        .where(
            col(PatronEmailFlag.address) == key,
            col(PatronEmailFlag.reason) == FlagReason.BLACKLISTED.value,
        )
        .returning(col(PatronEmailFlag.institution_id))
    )
    await _settle_institutions(session, set(cleared.scalars()))
    await session.commit()
    return key


async def _institution_uses(session: AsyncSession, institution_id: int, address: str) -> bool:
    """Whether a patron of the institution has the address, or is flagged for it."""
    patron = await session.scalar(
        select(pk(Patron.id))
        .where(
            col(Patron.institution_id) == institution_id,
            col(Patron.primary_email).in_(stored_forms(address)),
        )
        .limit(1)
    )
    if patron is not None:
        return True
    flag = await session.scalar(
        select(col(PatronEmailFlag.patron_id))
        .where(
            col(PatronEmailFlag.institution_id) == institution_id,
            col(PatronEmailFlag.address) == address_key(address),
        )
        .limit(1)
    )
    return flag is not None


async def clear_flag_of_changed_address(*, session: AsyncSession, patron: Patron) -> None:
    """After a patron's primary email changed: its flag about the old address goes, and
    a new address that is blacklisted is flagged at once."""
    assert patron.id is not None
    await clear_flags_of_changed_addresses(session, [(patron.id, patron.primary_email)])


async def clear_flags_of_changed_addresses(
    session: AsyncSession, changed: list[tuple[int, str | None]]
) -> None:
    """clear_flag_of_changed_address for many patrons, given as (id, new primary email):
    set-based, a few statements for an import's batch."""
    for start in range(0, len(changed), 1000):
        chunk = changed[start : start + 1000]
        current = [(patron_id, address_key(address or "")) for patron_id, address in chunk]
        cleared = await session.execute(
            delete(PatronEmailFlag)
            .where(
                col(PatronEmailFlag.patron_id).in_([patron_id for patron_id, _ in chunk]),
                tuple_(col(PatronEmailFlag.patron_id), col(PatronEmailFlag.address)).not_in(
                    current
                ),
            )
            .returning(col(PatronEmailFlag.institution_id))
        )
        await _settle_institutions(session, set(cleared.scalars()))
    await flag_blacklisted_patrons(session, [patron_id for patron_id, _ in changed])


async def flag_blacklisted_patrons(session: AsyncSession, patron_ids: list[int]) -> None:
    """Patrons given an address that is already blacklisted are flagged at once, on every
    path that sets one (create, update, import, merge, linked copies), not at the next
    daily check. Set-based: one statement for a batch of an import."""
    if not patron_ids:
        return
    stored_key = func.lower(func.trim(col(Patron.primary_email)))
    flagged = exists().where(col(PatronEmailFlag.patron_id) == col(Patron.id))
    for start in range(0, len(patron_ids), 1000):
        chunk = patron_ids[start : start + 1000]
        await session.execute(
            insert(PatronEmailFlag).from_select(
                ["patron_id", "institution_id", "address", "reason", "flagged_at"],
                select(
                    pk(Patron.id),
                    col(Patron.institution_id),
                    col(EmailBlacklistEntry.address),
                    literal(FlagReason.BLACKLISTED.value),
                    literal(utcnow(), PatronEmailFlag.__table__.c.flagged_at.type),  # type: ignore[attr-defined]
                )
                .join(EmailBlacklistEntry, col(EmailBlacklistEntry.address) == stored_key)
                .where(col(Patron.id).in_(chunk), ~flagged),
            )
        )


async def release_flags(session: AsyncSession, patron_ids: list[int]) -> None:
    """Before patrons are removed: their flags go, and their institutions' alerts are
    recounted (cleared with the last flag) now rather than at the next daily check."""
    if not patron_ids:
        return
    cleared = await session.execute(
        delete(PatronEmailFlag)
        .where(col(PatronEmailFlag.patron_id).in_(patron_ids))
        .returning(col(PatronEmailFlag.institution_id))
    )
    await _settle_institutions(session, set(cleared.scalars()))


async def _settle_institutions(session: AsyncSession, institution_ids: set[int]) -> None:
    """Institutions whose flags were cleared: their alert goes with their last flag."""
    if not institution_ids:
        return
    alerts = (
        await session.execute(
            select(InstitutionEmailAlert).where(
                col(InstitutionEmailAlert.institution_id).in_(institution_ids)
            )
        )
    ).scalars()
    for alert in list(alerts):
        remaining = await session.scalar(
            select(func.count())
            .select_from(PatronEmailFlag)
            .where(col(PatronEmailFlag.institution_id) == alert.institution_id)
        )
        if remaining:
            alert.flagged_count = int(remaining)
        else:
            await clear_alert(session, alert)
    await session.flush()


async def clear_alert(session: AsyncSession, alert: InstitutionEmailAlert) -> None:
    """Drop the alert; turn the email service back on if the check turned it off."""
    institution = await session.get(Institution, alert.institution_id)
    assert institution is not None
    if (
        alert.disabled_audit_id is not None
        and not institution.email_service_enabled
        and not await _setting_changed_since(session, institution.id, alert.disabled_audit_id)  # type: ignore[arg-type]
    ):
        institution.email_service_enabled = True
        await audit.record(
            session=session,
            actor=CHECK_ACTOR,
            action="enable_email_service",
            entity_type="Institution",
            entity_id=institution.id,
            institution_id=institution.id,
            changes={"emailServiceEnabled": {"before": False, "after": True}},
        )
    await session.delete(alert)


async def _setting_changed_since(session: AsyncSession, institution_id: int, entry_id: int) -> bool:
    """Whether someone changed the email service setting after the check turned it off."""
    rows = await session.execute(
        select(col(AuditEntry.changes)).where(
            col(AuditEntry.institution_id) == institution_id,
            col(AuditEntry.id) > entry_id,
            col(AuditEntry.action) == "update_institution_settings",
        )
    )
    return any("emailServiceEnabled" in (changes or {}) for changes in rows.scalars())
