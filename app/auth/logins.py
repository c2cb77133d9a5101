"""Logins and sessions: checking credentials at a library, opening a session token and
revoking it."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.auth import throttling
from app.auth.accounts import groups_of, home_account, login_libraries, staff_actor
from app.auth.models import AuthToken
from app.auth.passwords import verify_password
from app.auth.policy import Actor
from app.auth.roles import SystemGroup
from app.auth.tokens import SESSION_PREFIX, token_digest
from app.clock import today
from app.db import utcnow
from app.errors import DomainError, ErrorCode, FieldError
from app.network.models import Library
from app.patrons.models import Patron
from app.settings import Settings


@dataclass(frozen=True)
class LoginResult:
    token: str
    expires_at: datetime
    actor: Actor


def _fail(code: ErrorCode, message: str, field: list[str] | None = None) -> DomainError:
    return DomainError(FieldError(code, message, field))


async def login(
    *,
    session: AsyncSession,
    settings: Settings,
    username: str,
    password: str,
    library_code: str,
    address: str,
) -> LoginResult:
    """Check credentials at a library and open a session; failures are counted and committed.

    An unknown username is answered exactly like a known one with a wrong password, in
    the same time, and locks after as many failures (app.auth.throttling)."""
    library = (
        await session.execute(
            select(Library).where(col(Library.code) == library_code.strip().upper())
        )
    ).scalar_one_or_none()
    if library is None:
        raise _fail(
            ErrorCode.INVALID_INPUT,
            f"There is no library with the code {library_code!r}.",
            ["library"],
        )
    patron = await home_account(session, library.institution_id, username)
    try:
        attempt = await throttling.begin_attempt(
            session,
            settings,
            address=address,
            patron_id=patron.id if patron is not None else None,
            unknown_name=(
                throttling.name_key(library.institution_id, username) if patron is None else None
            ),
        )
    except throttling.Refused as refused:
        raise refused.error() from None
    password_hash = patron.password_hash if patron is not None else None
    ok = await asyncio.to_thread(verify_password, settings, password_hash, password)
    if not ok or patron is None:
        await throttling.attempt_failed(session, settings, attempt)
        raise _fail(ErrorCode.INVALID_CREDENTIALS, "The username or password is not correct.")
    await throttling.attempt_succeeded(session, attempt)
    await session.refresh(patron)
    if not patron.enabled:
        raise _fail(ErrorCode.FORBIDDEN, "This account is disabled.")
    if patron.until is not None and patron.until < today():
        raise _fail(ErrorCode.FORBIDDEN, f"This account's access ended on {patron.until}.")
    allowed_libraries = await login_libraries(session, patron)
    if library.id not in allowed_libraries:
        raise _fail(
            ErrorCode.FORBIDDEN,
            f"This account may not log in at {library.code}.",
            ["library"],
        )
    assert patron.id is not None
    groups = await groups_of(session, patron.id)
    if SystemGroup.LIBRARY_USERS not in groups:
        raise _fail(ErrorCode.FORBIDDEN, "This account is not allowed to log in.")
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(minutes=settings.token_ttl_minutes)
    session.add(
        AuthToken(
            token_hash=token_digest(token),
            patron_id=patron.id,
            library_id=library.id,
            expires_at=expires_at,
        )
    )
    actor = staff_actor(patron, library.id, groups)
    await audit.record(
        session=session,
        actor=actor,
        action="login",
        entity_type="Patron",
        entity_id=patron.id,
        institution_id=patron.institution_id,
    )
    await session.commit()
    return LoginResult(token=token, expires_at=expires_at, actor=actor)


async def logout(*, session: AsyncSession, token: str | None, actor: Actor | None = None) -> None:
    """Revoke the session of this token (audited like the login that opened it)."""
    if token is None:
        return
    row = (
        await session.execute(
            select(AuthToken).where(col(AuthToken.token_hash) == token_digest(token))
        )
    ).scalar_one_or_none()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        patron = await session.get(Patron, row.patron_id)
        if actor is not None and patron is not None:
            await audit.record(
                session=session,
                actor=actor,
                action="logout",
                entity_type="Patron",
                entity_id=patron.id,
                institution_id=patron.institution_id,
            )
        await session.commit()
