"""The daily email check: flags invalid or blacklisted primary emails, alerts institutions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.auth.policy import Actor, require
from app.db import utcnow
from app.emails.models import EmailBlacklistEntry, InstitutionEmailAlert, PatronEmailFlag
from app.emails.service import (
    CHECK_ACTOR,
    FlagReason,
    address_key,
    clear_alert,
    is_valid_address,
)
from app.network.models import Institution
from app.patrons.models import Patron
from app.sql import pk

CHECK_BATCH_SIZE = 1000


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
                select(pk(Patron.id), col(Patron.institution_id), col(Patron.primary_email))
                .where(col(Patron.id) > last_id)
                .order_by(col(Patron.id))
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
    return {
        pid for pid, _, email in rows if email and email.strip() and not is_valid_address(email)
    }


async def _check_batch(
    session: AsyncSession, rows: Sequence[Any], invalid: set[int]
) -> tuple[int, int]:
    """Bring the flags of one batch of patrons up to date; (added, removed)."""
    keys = {pid: address_key(email) for pid, _, email in rows if email and email.strip()}
    blacklisted = set(
        (
            await session.execute(
                select(col(EmailBlacklistEntry.address)).where(
                    col(EmailBlacklistEntry.address).in_(set(keys.values()))
                )
            )
        ).scalars()
    )
    flags = dict(
        (
            await session.execute(
                select(col(PatronEmailFlag.patron_id), col(PatronEmailFlag.address)).where(
                    col(PatronEmailFlag.patron_id).between(rows[0][0], rows[-1][0])
                )
            )
        ).all()
    )
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
        await session.execute(
            delete(PatronEmailFlag).where(col(PatronEmailFlag.patron_id).in_(stale))
        )
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
                select(col(PatronEmailFlag.institution_id), func.count()).group_by(
                    col(PatronEmailFlag.institution_id)
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
            await clear_alert(session, alert)
            resolved.append(institutions[institution_id].code)
    await session.flush()
    alerted = sorted(institutions[i].code for i in counts)
    return sorted(disabled), alerted, sorted(resolved), sum(counts.values())


async def _institutions(session: AsyncSession, ids: Iterable[int]) -> dict[int, Institution]:
    ids = set(ids)
    if not ids:
        return {}
    rows = (
        await session.execute(select(Institution).where(col(Institution.id).in_(ids)))
    ).scalars()
    return {row.id: row for row in rows}  # type: ignore[misc]
