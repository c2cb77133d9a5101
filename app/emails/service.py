"""Blacklisted and invalid primary emails: bounce intake, the daily check, the alerts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, exists, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

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
from app.errors import DomainError, ErrorCode
from app.network.models import Institution
from app.patrons.models import Patron

MAX_ADDRESS_LENGTH = 320
CHECK_BATCH_SIZE = 1000
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
        errors.append(("Give the email address that bounced.", ["input", "address"]))
    if kind not in BounceKind.__members__:
        errors.append(("Unknown kind of bounce.", ["input", "kind"]))
    if errors:
        raise DomainError.of(ErrorCode.INVALID_INPUT, errors[0][0], errors[0][1])
    entry = await session.scalar(
        select(EmailBlacklistEntry).where(EmailBlacklistEntry.address == key)
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
            await _flag_blacklisted(session, key)
    except IntegrityError as exc:
        # Reported twice at the same moment, or the check flagged a patron meanwhile.
        raise DomainError.of(
            ErrorCode.CONFLICT, "The address was changed at the same time; report it again."
        ) from exc
    await session.commit()
    return entry


async def _flag_blacklisted(session: AsyncSession, key: str) -> None:
    """Flag every patron whose primary email is `key` (set-based, through the index)."""
    uses_key = func.lower(Patron.primary_email) == key
    users = select(Patron.id).where(uses_key)
    # A patron flagged for something else (invalid, another address) is flagged anew.
    await session.execute(
        delete(PatronEmailFlag).where(
            PatronEmailFlag.patron_id.in_(users),
            ~(
                (PatronEmailFlag.address == key)
                & (PatronEmailFlag.reason == FlagReason.BLACKLISTED.value)
            ),
        )
    )
    flagged = exists().where(PatronEmailFlag.patron_id == Patron.id)
    await session.execute(
        insert(PatronEmailFlag).from_select(
            ["patron_id", "institution_id", "address", "reason", "flagged_at"],
            select(
                Patron.id,
                Patron.institution_id,
                func.lower(Patron.primary_email),
                # Literals as bound values: they type the same on SQLite and PostgreSQL.
                _literal(FlagReason.BLACKLISTED.value),
                _literal(utcnow(), PatronEmailFlag.__table__.c.flagged_at.type),  # type: ignore[attr-defined]
            ).where(uses_key, ~flagged),
        )
    )


def _literal(value: Any, type_: Any = None) -> Any:
    from sqlalchemy import literal

    return literal(value, type_)


# ---------------------------------------------------------------- clearing flags


async def remove_from_blacklist(*, session: AsyncSession, actor: Actor, address: str) -> str:
    """Take an address off the blacklist and clear its patrons' flags (SYSTEM_ADMIN)."""
    require_authenticated(actor)
    key = address_key(address)
    institution_id = actor.institution_id
    allowed = actor.kind == "system" or (
        institution_id is not None
        and can_administer_institution(actor, institution_id)
        and await _institution_uses(session, institution_id, key)
    )
    require(
        allowed,
        actor,
        "Only a system administrator of an institution whose patrons use this address "
        "may remove it from the blacklist.",
    )
    entry = await session.scalar(
        select(EmailBlacklistEntry).where(EmailBlacklistEntry.address == key)
    )
    if entry is None:
        raise DomainError.of(
            ErrorCode.NOT_FOUND, "This address is not on the blacklist.", ["input", "address"]
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
            PatronEmailFlag.address == key,
            PatronEmailFlag.reason == FlagReason.BLACKLISTED.value,
        )
        .returning(PatronEmailFlag.institution_id)
    )
    await _settle_institutions(session, set(cleared.scalars()))
    await session.commit()
    return key


async def _institution_uses(session: AsyncSession, institution_id: int, key: str) -> bool:
    """Whether a patron of the institution has the address, or was flagged for it."""
    patron = await session.scalar(
        select(Patron.id)
        .where(Patron.institution_id == institution_id, func.lower(Patron.primary_email) == key)
        .limit(1)
    )
    if patron is not None:
        return True
    flag = await session.scalar(
        select(PatronEmailFlag.patron_id)
        .where(PatronEmailFlag.institution_id == institution_id, PatronEmailFlag.address == key)
        .limit(1)
    )
    return flag is not None


async def clear_flag_of_changed_address(*, session: AsyncSession, patron: Patron) -> None:
    """After a patron's primary email changed: its flag about the old address goes."""
    current = address_key(patron.primary_email or "")
    cleared = await session.execute(
        delete(PatronEmailFlag)
        .where(PatronEmailFlag.patron_id == patron.id, PatronEmailFlag.address != current)
        .returning(PatronEmailFlag.institution_id)
    )
    await _settle_institutions(session, set(cleared.scalars()))


async def _settle_institutions(session: AsyncSession, institution_ids: set[int]) -> None:
    """Institutions whose flags were cleared: their alert goes with their last flag."""
    if not institution_ids:
        return
    alerts = (
        await session.execute(
            select(InstitutionEmailAlert).where(
                InstitutionEmailAlert.institution_id.in_(institution_ids)
            )
        )
    ).scalars()
    for alert in list(alerts):
        remaining = await session.scalar(
            select(func.count())
            .select_from(PatronEmailFlag)
            .where(PatronEmailFlag.institution_id == alert.institution_id)
        )
        if remaining:
            alert.flagged_count = int(remaining)
        else:
            await _clear_alert(session, alert)
    await session.flush()


async def _clear_alert(session: AsyncSession, alert: InstitutionEmailAlert) -> None:
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
        select(AuditEntry.changes).where(
            AuditEntry.institution_id == institution_id,
            AuditEntry.id > entry_id,
            AuditEntry.action == "update_institution_settings",
        )
    )
    return any("emailServiceEnabled" in (changes or {}) for changes in rows.scalars())


# ---------------------------------------------------------------- the check


@dataclass(frozen=True)
class EmailCheckResult:
    """What one run of the check found."""

    checked: int  # patrons with a primary email
    newly_flagged: int
    cleared: int  # flags about addresses the patrons no longer have
    flagged: int  # flagged patrons after the run
    disabled: list[str]  # institutions whose email service the run turned off
    alerted: list[str]  # institutions with an alert after the run
    resolved: list[str]  # institutions whose alert the run cleared


async def check_emails(
    *, session: AsyncSession, actor: Actor, batch_size: int = CHECK_BATCH_SIZE
) -> EmailCheckResult:
    """Flag invalid or blacklisted primary emails; alert (or clear) their institutions.

    Patrons are read in id order, a batch at a time, and each batch is committed on
    its own: memory stays flat and other writers are not held up for the whole run.
    """
    require(actor.kind == "system", actor, "The email check runs as a job.")
    checked = newly_flagged = cleared = 0
    last_id = 0
    while True:
        rows = (
            await session.execute(
                select(Patron.id, Patron.institution_id, Patron.primary_email)
                .where(Patron.id > last_id)
                .order_by(Patron.id)
                .limit(batch_size)
            )
        ).all()
        if not rows:
            break
        invalid = await asyncio.to_thread(_invalid_ids, rows)
        for attempt in range(3):
            try:
                async with session.begin_nested():
                    added, removed = await _check_batch(session, rows, invalid)
                break
            except IntegrityError:
                # A bounce flagged one of these patrons meanwhile: decide again.
                if attempt == 2:
                    raise
        await session.commit()
        checked += sum(1 for row in rows if row[2] and row[2].strip())
        newly_flagged += added
        cleared += removed
        last_id = rows[-1][0]
    disabled, alerted, resolved, flagged = await _update_institutions(session)
    await session.commit()
    return EmailCheckResult(
        checked=checked,
        newly_flagged=newly_flagged,
        cleared=cleared,
        flagged=flagged,
        disabled=disabled,
        alerted=alerted,
        resolved=resolved,
    )


def _invalid_ids(rows: Sequence[Any]) -> set[int]:
    return {pid for pid, _, email in rows if email and email.strip() and not is_valid_address(email)}


async def _check_batch(
    session: AsyncSession, rows: Sequence[Any], invalid: set[int]
) -> tuple[int, int]:
    """Bring the flags of one batch of patrons up to date; (added, removed)."""
    keys = {pid: address_key(email) for pid, _, email in rows if email and email.strip()}
    blacklisted = set(
        (
            await session.execute(
                select(EmailBlacklistEntry.address).where(
                    EmailBlacklistEntry.address.in_(set(keys.values()))
                )
            )
        ).scalars()
    )
    flags = dict((
            await session.execute(
                select(PatronEmailFlag.patron_id, PatronEmailFlag.address).where(
                    PatronEmailFlag.patron_id.between(rows[0][0], rows[-1][0])
                )
            )
        ).all())
    # A flag lasts as long as its address: only a changed address (or an admin) clears it.
    stale = [pid for pid, address in flags.items() if keys.get(pid) != address]
    now = utcnow()
    new = []
    for pid, institution_id, _ in rows:
        key = keys.get(pid)
        if key is None or (pid in flags and pid not in stale):
            continue
        if key in blacklisted:
            reason = FlagReason.BLACKLISTED
        elif pid in invalid:
            reason = FlagReason.INVALID
        else:
            continue
        new.append(
            {
                "patron_id": pid,
                "institution_id": institution_id,
                "address": key,
                "reason": reason.value,
                "flagged_at": now,
            }
        )
    if stale:
        await session.execute(delete(PatronEmailFlag).where(PatronEmailFlag.patron_id.in_(stale)))
    if new:
        await session.execute(insert(PatronEmailFlag), new)
    return len(new), len(stale)


async def _update_institutions(
    session: AsyncSession,
) -> tuple[list[str], list[str], list[str], int]:
    """Raise or refresh alerts of institutions with flags, clear the others'."""
    counts: dict[int, int] = {
        institution_id: int(count)
        for institution_id, count in (
            await session.execute(
                select(PatronEmailFlag.institution_id, func.count()).group_by(
                    PatronEmailFlag.institution_id
                )
            )
        ).all()
    }
    alerts = {
        alert.institution_id: alert
        for alert in (await session.execute(select(InstitutionEmailAlert))).scalars()
    }
    institutions = await _institutions(session, set(counts) | set(alerts))
    now = utcnow()
    disabled: list[str] = []
    for institution_id, count in counts.items():
        institution = institutions[institution_id]
        alert = alerts.get(institution_id)
        if alert is None:
            alert = InstitutionEmailAlert(institution_id=institution_id, raised_at=now)
            session.add(alert)
        alert.flagged_count = count
        alert.checked_at = now
        if institution.email_service_enabled:
            institution.email_service_enabled = False
            entry = await audit.record(
                session=session,
                actor=CHECK_ACTOR,
                action="disable_email_service",
                entity_type="Institution",
                entity_id=institution_id,
                institution_id=institution_id,
                changes={"emailServiceEnabled": {"before": True, "after": False}},
            )
            await session.flush()
            alert.disabled_audit_id = entry.id
            disabled.append(institution.code)
    resolved = []
    for institution_id, alert in alerts.items():
        if institution_id not in counts:
            await _clear_alert(session, alert)
            resolved.append(institutions[institution_id].code)
    await session.flush()
    alerted = sorted(institutions[i].code for i in counts)
    return sorted(disabled), alerted, sorted(resolved), sum(counts.values())


async def _institutions(session: AsyncSession, ids: Iterable[int]) -> dict[int, Institution]:
    ids = set(ids)
    if not ids:
        return {}
    rows = (await session.execute(select(Institution).where(Institution.id.in_(ids)))).scalars()
    return {row.id: row for row in rows}  # type: ignore[misc]
