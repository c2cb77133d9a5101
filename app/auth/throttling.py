"""Throttling password checks (logins, SIP2 logins, PIN verifications).

Every check first takes its place in the counters, atomically and committed, and only
then is the password verified: parallel guesses cannot all slip through between a count
and its update. Two counters apply:

- per address: at most `address_failures_per_minute` checks that were not right, in
  any minute (a row per check in `login_failure`, written before the check, removed
  when it was right);
- per account: `lockout_threshold` failures lock it for `lockout_minutes`
  (`patron.failed_logins` incremented with UPDATE ... RETURNING). A username that names
  no account has the same counter (`login_name_failure`), so it locks and answers
  exactly like a real one, and an unknown name spends the time of a real check.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth.models import LoginFailure, LoginNameFailure
from app.db import utcnow
from app.errors import DomainError, ErrorCode, FieldError
from app.observability import metrics
from app.patrons.models import Patron
from app.settings import Settings

TOO_MANY_MESSAGE = "Too many failed logins from your address. Wait a minute and try again."


def locked_message(until: datetime) -> str:
    return (
        "This account is locked after too many failed logins. "
        f"Try again after {until:%H:%M} UTC or ask an administrator."
    )


def name_key(institution_id: int, username: str) -> str:
    """The key of a username in the counters of unknown names."""
    return hashlib.sha256(f"{institution_id}:{username.strip().lower()}".encode()).hexdigest()


@dataclass
class Attempt:
    """A password check that has taken its place in the counters."""

    reservation: int  # its login_failure row
    patron_id: int | None = None
    name_key: str | None = None
    failures: int = 0  # of the account (or name), this check included
    channel: str = "login"  # what checks it, for the metrics (metrics.CHANNELS)


class Refused(Exception):
    """The check is not made: too many attempts, or the account is locked."""

    def __init__(self, code: ErrorCode, message: str, until: datetime | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.until = until

    def error(self) -> DomainError:
        return DomainError(FieldError(self.code, self.message))


async def begin_attempt(
    session: AsyncSession,
    settings: Settings,
    *,
    address: str,
    patron_id: int | None = None,
    unknown_name: str | None = None,
    channel: str = "login",
) -> Attempt:
    """Take a place for one password check, or raise Refused (nothing is checked then).

    Commits: the counters must be visible to parallel checks before this one runs.
    `patron_id` is the account checked (its lockout applies); `unknown_name` the name
    key of a username that names no account (locks the same way); `channel` what
    checks it (the GraphQL login, a SIP2 login, a patron's PIN), for the metrics."""
    try:
        return await _begin_attempt(session, settings, address, patron_id, unknown_name, channel)
    except Refused as refused:
        locked = refused.code is ErrorCode.ACCOUNT_LOCKED
        metrics.login_failed(channel, "locked" if locked else "too_many_attempts")
        raise


async def _begin_attempt(
    session: AsyncSession,
    settings: Settings,
    address: str,
    patron_id: int | None,
    unknown_name: str | None,
    channel: str,
) -> Attempt:
    now = utcnow()
    row = LoginFailure(address=address, at=now)
    session.add(row)
    await session.flush()
    assert row.id is not None
    attempt = Attempt(reservation=row.id, channel=channel)
    # Old rows serve no purpose; keep the tables small.
    await session.execute(
        delete(LoginFailure).where(col(LoginFailure.at) < now - timedelta(hours=1))
    )
    await session.commit()
    recent = await session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(
            col(LoginFailure.address) == address,
            col(LoginFailure.at) > now - timedelta(minutes=1),
        )
    )
    if int(recent or 0) > settings.address_failures_per_minute:
        await _release(session, attempt)
        raise Refused(ErrorCode.TOO_MANY_ATTEMPTS, TOO_MANY_MESSAGE)
    if patron_id is not None:
        attempt.patron_id = patron_id
        counted = (
            await session.execute(
                update(Patron)
                .where(
                    col(Patron.id) == patron_id,
                    (col(Patron.locked_until).is_(None)) | (col(Patron.locked_until) <= now),
                )
                .values(failed_logins=col(Patron.failed_logins) + 1)
                .returning(col(Patron.failed_logins))
                .execution_options(synchronize_session=False)
            )
        ).scalar_one_or_none()
        if counted is None:
            until = await session.scalar(
                select(col(Patron.locked_until)).where(col(Patron.id) == patron_id)
            )
            await _release(session, attempt)
            raise Refused(ErrorCode.ACCOUNT_LOCKED, locked_message(until or now), until)
        attempt.failures = int(counted)
    elif unknown_name is not None:
        attempt.name_key = unknown_name
        await session.execute(
            delete(LoginNameFailure).where(
                col(LoginNameFailure.updated_at)
                < now - timedelta(minutes=settings.lockout_minutes),
                (col(LoginNameFailure.locked_until).is_(None))
                | (col(LoginNameFailure.locked_until) < now),
            )
        )
        locked = await session.scalar(
            select(col(LoginNameFailure.locked_until)).where(
                col(LoginNameFailure.name_key) == unknown_name,
                col(LoginNameFailure.locked_until) > now,
            )
        )
        if locked is not None:
            await _release(session, attempt)
            raise Refused(ErrorCode.ACCOUNT_LOCKED, locked_message(locked), locked)
        attempt.failures = await _count_name(session, unknown_name, now)
    if attempt.failures > settings.lockout_threshold:
        # More checks at once than the lockout allows: the rest wait for the lock to pass.
        until = await _lock(session, settings, attempt, now)
        await _release(session, attempt)
        raise Refused(ErrorCode.ACCOUNT_LOCKED, locked_message(until), until)
    await session.commit()
    return attempt


async def _count_name(session: AsyncSession, key: str, now: datetime) -> int:
    """failures + 1 for this name, atomically (an upsert)."""
    dialect = (await session.connection()).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = insert(LoginNameFailure).values(name_key=key, failures=1, updated_at=now)
    statement = values.on_conflict_do_update(
        index_elements=[col(LoginNameFailure.name_key)],
        set_={"failures": col(LoginNameFailure.failures) + 1, "updated_at": now},
    ).returning(col(LoginNameFailure.failures))
    return int((await session.execute(statement)).scalar_one())


async def _lock(
    session: AsyncSession, settings: Settings, attempt: Attempt, now: datetime
) -> datetime:
    until = now + timedelta(minutes=settings.lockout_minutes)
    if attempt.patron_id is not None:
        await session.execute(
            update(Patron)
            .where(col(Patron.id) == attempt.patron_id)
            .values(locked_until=until, failed_logins=0)
            .execution_options(synchronize_session=False)
        )
    elif attempt.name_key is not None:
        await session.execute(
            update(LoginNameFailure)
            .where(col(LoginNameFailure.name_key) == attempt.name_key)
            .values(locked_until=until, failures=0, updated_at=now)
        )
    return until


async def _release(session: AsyncSession, attempt: Attempt) -> None:
    """The check was not made (or was right): its place in the address budget goes."""
    await session.execute(delete(LoginFailure).where(col(LoginFailure.id) == attempt.reservation))
    await session.commit()


async def attempt_succeeded(session: AsyncSession, attempt: Attempt) -> None:
    """The password was right: the account's failures are forgotten (commits)."""
    if attempt.patron_id is not None:
        await session.execute(
            update(Patron)
            .where(col(Patron.id) == attempt.patron_id)
            .values(failed_logins=0, locked_until=None)
            .execution_options(synchronize_session=False)
        )
    await _release(session, attempt)


async def attempt_failed(session: AsyncSession, settings: Settings, attempt: Attempt) -> None:
    """The password was wrong: it stays counted; at the threshold the account locks."""
    metrics.login_failed(attempt.channel, "invalid_credentials")
    if attempt.failures >= settings.lockout_threshold:
        await _lock(session, settings, attempt, utcnow())
        metrics.locked_out(attempt.channel)
    await session.commit()
