"""Logins, sessions and API clients."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes.models import AttributeType, AttributeTypeLibraryLimit
from app.audit import service as audit
from app.auth import throttling
from app.auth.models import ApiClient, AuthToken
from app.auth.passwords import verify_password
from app.auth.policy import (
    FORBIDDEN_MESSAGE,
    Actor,
    can_administer_institution,
    library_may_hold_attribute,
    may_grant_scope,
    require_authenticated,
    require_institution_admin,
)
from app.auth.roles import Scope, SystemGroup, is_valid_scope, normalize_scope
from app.clock import today
from app.db import fetch_rows, utcnow
from app.errors import DomainError, ErrorCode, FieldError
from app.network.models import Institution, Library
from app.patrons.models import Patron, PatronLibraryAccess, PatronSystemGroup
from app.settings import Settings
from app.sql import pk

SESSION_PREFIX = "nzs_"
CLIENT_PREFIX = "nzc_"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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
    patron = (
        await session.execute(
            select(Patron).where(
                col(Patron.institution_id) == library.institution_id,
                col(Patron.username_key) == username.strip().lower(),
                col(Patron.account_type) == "HOME",
            )
        )
    ).scalar_one_or_none()
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
    allowed_libraries = set(
        (
            await session.execute(
                select(col(PatronLibraryAccess.library_id)).where(
                    col(PatronLibraryAccess.patron_id) == patron.id
                )
            )
        ).scalars()
    ) or {patron.home_library_id}
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
    actor = _staff_actor(patron, library.id, groups)
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


async def account_actor(session: AsyncSession, who: str) -> Actor:
    """`USERNAME@LIBRARY`: that staff account as if logged in at that library, with
    exactly its rights (for a drop folder the operator names; no password, as the
    operator vouches for the folder). Refused with the reason when the account could
    not log in there: unknown, disabled, past its end date, or not allowed there."""
    username, at, library_code = who.strip().rpartition("@")
    if not at or not username or not library_code:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            f"{who!r} does not name an account: give USERNAME@LIBRARY, e.g. "
            "northfield.admin@NORTHFIELD-MAIN.",
        )
    library = (
        await session.execute(select(Library).where(col(Library.code) == library_code.upper()))
    ).scalar_one_or_none()
    if library is None:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, f"There is no library with the code {library_code!r}."
        )
    patron = (
        await session.execute(
            select(Patron).where(
                col(Patron.institution_id) == library.institution_id,
                col(Patron.username_key) == username.strip().lower(),
                col(Patron.account_type) == "HOME",
            )
        )
    ).scalar_one_or_none()
    if patron is None or patron.id is None:
        raise DomainError.of(
            ErrorCode.NOT_FOUND,
            f"There is no account {username!r} in the institution of {library.code}.",
        )
    if not patron.enabled:
        raise DomainError.of(ErrorCode.FORBIDDEN, f"The account {username!r} is disabled.")
    if patron.until is not None and patron.until < today():
        raise DomainError.of(
            ErrorCode.FORBIDDEN, f"The access of {username!r} ended on {patron.until}."
        )
    allowed = set(
        (
            await session.execute(
                select(col(PatronLibraryAccess.library_id)).where(
                    col(PatronLibraryAccess.patron_id) == patron.id
                )
            )
        ).scalars()
    ) or {patron.home_library_id}
    groups = await groups_of(session, patron.id)
    if library.id not in allowed or SystemGroup.LIBRARY_USERS not in groups:
        raise DomainError.of(
            ErrorCode.FORBIDDEN, f"The account {username!r} may not log in at {library.code}."
        )
    assert library.id is not None
    return _staff_actor(patron, library.id, groups)


async def groups_of(session: AsyncSession, patron_id: int) -> frozenset[SystemGroup]:
    rows = await session.execute(
        select(col(PatronSystemGroup.system_group)).where(
            col(PatronSystemGroup.patron_id) == patron_id
        )
    )
    return frozenset(SystemGroup(value) for value in rows.scalars())


def _staff_actor(patron: Patron, library_id: int, groups: frozenset[SystemGroup]) -> Actor:
    return Actor(
        kind="staff",
        name=patron.username or f"patron {patron.id}",
        patron_id=patron.id,
        institution_id=patron.institution_id,
        library_id=library_id,
        groups=groups,
    )


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


# The token, its account, the account's institution code and its roles, in one
# statement (one row per role; the outer join keeps an account without any). It runs on
# every authenticated request: built once, sent through app.db.fetch_rows.
_TOKEN_ACTOR = (
    select(
        col(AuthToken.library_id),
        col(AuthToken.expires_at),
        col(AuthToken.revoked_at),
        pk(Patron.id),
        col(Patron.institution_id),
        col(Patron.username),
        col(Patron.enabled),
        col(Patron.until),
        col(Institution.code),
        col(PatronSystemGroup.system_group),
    )
    .join(Patron, col(Patron.id) == AuthToken.patron_id)
    .join(Institution, col(Institution.id) == Patron.institution_id)
    .outerjoin(PatronSystemGroup, col(PatronSystemGroup.patron_id) == Patron.id)
    .where(col(AuthToken.token_hash) == bindparam("digest"))
)


async def authenticate(*, session: AsyncSession, token: str) -> Actor | None:
    """The actor a bearer token stands for, or None when it is unknown, expired or revoked."""
    now = utcnow()
    digest = token_digest(token)
    if token.startswith(CLIENT_PREFIX):
        found = (
            await session.execute(
                select(ApiClient, col(Institution.code))
                .join(Institution, col(Institution.id) == ApiClient.institution_id)
                .where(col(ApiClient.token_hash) == digest)
            )
        ).one_or_none()
        if found is None or not found[0].enabled:
            return None
        client, institution_code = found
        return Actor(
            kind="client",
            name=f"client {client.name}",
            client_id=client.id,
            institution_id=client.institution_id,
            library_id=client.library_id,
            scopes=frozenset(client.scopes),
            institution_code=institution_code,
        )
    rows = await fetch_rows(session, _TOKEN_ACTOR, {"digest": digest})
    if not rows:
        return None
    first = rows[0]
    expires_at, revoked_at, enabled, until = first[1], first[2], first[6], first[7]
    if revoked_at is not None or expires_at <= now:
        return None
    if not enabled or (until is not None and until < today()):
        return None
    return Actor(
        kind="staff",
        name=first[5] or f"patron {first[3]}",
        patron_id=first[3],
        institution_id=first[4],
        library_id=first[0],
        groups=frozenset(SystemGroup(row[9]) for row in rows if row[9] is not None),
        institution_code=first[8],
    )


@dataclass(frozen=True)
class CreatedApiClient:
    client: ApiClient
    secret: str


async def create_api_client(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    name: str,
    scopes: list[str],
    library_code: str | None = None,
    secret: str | None = None,
) -> CreatedApiClient:
    """Create a client of an institution; the secret is returned once and stored hashed.

    `secret` is for the demo network only, whose clients have published secrets.
    """
    institution = (
        await session.execute(
            select(Institution).where(col(Institution.code) == institution_code.strip().upper())
        )
    ).scalar_one_or_none()
    if institution is None:
        raise DomainError.of(
            ErrorCode.NOT_FOUND,
            f"There is no institution with the code {institution_code!r}.",
            ["institution"],
        )
    assert institution.id is not None
    require_institution_admin(actor, institution.id, "create API clients")
    errors: list[FieldError] = []
    if not name.strip():
        errors.append(FieldError(ErrorCode.MANDATORY_FIELD, "Give the client a name.", ["name"]))
    elif len(name.strip()) > 200:
        errors.append(
            FieldError(ErrorCode.INVALID_INPUT, "Names are at most 200 characters.", ["name"])
        )
    scopes = [normalize_scope(scope) for scope in scopes]
    for index, scope in enumerate(scopes):
        if not is_valid_scope(scope):
            known = ", ".join(s.value for s in Scope)
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"Unknown scope {scope!r}; use one of {known} or attribute:<CODE>.",
                    ["scopes", str(index)],
                )
            )
    library_id = None
    if library_code:
        library = (
            await session.execute(
                select(Library).where(col(Library.code) == library_code.strip().upper())
            )
        ).scalar_one_or_none()
        if library is None or library.institution_id != institution.id:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"{library_code!r} is not a library of {institution.code}.",
                    ["library"],
                )
            )
        else:
            library_id = library.id
    if not any(e.field == ["library"] for e in errors):
        errors += await scope_refusals(
            session, actor, institution.id, library_id, scopes, ["scopes"]
        )
        errors.sort(key=lambda e: (e.field != ["name"], e.field or []))
    if errors:
        raise DomainError(errors)
    secret = secret or CLIENT_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(
        institution_id=institution.id,
        library_id=library_id,
        name=name.strip(),
        token_hash=token_digest(secret),
        scopes=sorted(set(scopes)),
    )
    session.add(client)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="create_api_client",
        entity_type="ApiClient",
        entity_id=client.id,
        institution_id=institution.id,
        changes={
            "name": {"before": None, "after": client.name},
            "scopes": {"before": None, "after": client.scopes},
        },
    )
    await session.commit()
    return CreatedApiClient(client=client, secret=secret)


@dataclass(frozen=True)
class AttributeScope:
    """What decides who may grant `attribute:<CODE>`: the type's libraries."""

    label: str
    limits: frozenset[int]
    limit_codes: tuple[str, ...]


async def attribute_scopes(
    session: AsyncSession, institution_id: int, codes: list[str]
) -> dict[str, AttributeScope]:
    """The institution's attribute types with these codes and their library limits."""
    if not codes:
        return {}
    rows = (
        await session.execute(
            select(
                col(AttributeType.code),
                col(AttributeType.label),
                col(Library.id),
                col(Library.code),
            )
            .outerjoin(
                AttributeTypeLibraryLimit,
                col(AttributeTypeLibraryLimit.attribute_type_id) == col(AttributeType.id),
            )
            .outerjoin(Library, col(Library.id) == col(AttributeTypeLibraryLimit.library_id))
            .where(
                col(AttributeType.institution_id) == institution_id,
                col(AttributeType.code).in_(codes),
            )
            .order_by(col(Library.code))
        )
    ).all()
    found: dict[str, tuple[str, list[tuple[int, str]]]] = {}
    for code, label, library_id, library_code in rows:
        entry = found.setdefault(code, (label, []))
        if library_id is not None:
            entry[1].append((library_id, library_code))
    return {
        code: AttributeScope(label, frozenset(i for i, _ in libs), tuple(c for _, c in libs))
        for code, (label, libs) in found.items()
    }


async def scope_refusals(
    session: AsyncSession,
    actor: Actor,
    institution_id: int,
    library_id: int | None,
    scopes: list[str],
    path: list[str],
) -> list[FieldError]:
    """Why the actor may not give a client of this library these scopes (spec: Delegation):
    attribute types must exist, be visible to the session, and include the client's library."""
    codes = [s.partition(":")[2] for s in scopes if s.startswith("attribute:")]
    types = await attribute_scopes(session, institution_id, codes)
    errors: list[FieldError] = []
    for index, scope in enumerate(scopes):
        field = [*path, str(index)]
        if not is_valid_scope(scope):
            continue  # reported as unknown by the caller
        if not scope.startswith("attribute:"):
            if not may_grant_scope(actor, institution_id, scope):
                errors.append(FieldError(ErrorCode.FORBIDDEN, FORBIDDEN_MESSAGE, field))
            continue
        info = types.get(scope.partition(":")[2])
        if info is None:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"There is no attribute type {scope.partition(':')[2]!r} in this institution.",
                    field,
                )
            )
        elif not may_grant_scope(actor, institution_id, scope, info.limits):
            errors.append(
                FieldError(
                    ErrorCode.ATTRIBUTE_FORBIDDEN,
                    f"{info.label} can only be given by staff logged in at "
                    f"{', '.join(info.limit_codes)}.",
                    field,
                )
            )
        elif not library_may_hold_attribute(library_id, info.limits):
            errors.append(
                FieldError(
                    ErrorCode.ATTRIBUTE_FORBIDDEN,
                    f"{info.label} can only be given to clients of "
                    f"{', '.join(info.limit_codes)}: set the client's library to one of them.",
                    field,
                )
            )
    return errors


@dataclass(frozen=True)
class ApiClientView:
    client: ApiClient
    institution_code: str
    library_code: str | None


async def list_api_clients(
    *, session: AsyncSession, actor: Actor, institution_code: str
) -> list[ApiClientView]:
    """An institution's API clients, for its system administrators (others see none)."""
    require_authenticated(actor)
    institution = (
        await session.execute(
            select(Institution).where(col(Institution.code) == institution_code.strip().upper())
        )
    ).scalar_one_or_none()
    if institution is None or institution.id is None:
        return []
    if not can_administer_institution(actor, institution.id):
        return []
    rows = await session.execute(
        select(ApiClient, col(Library.code))
        .outerjoin(Library, col(Library.id) == col(ApiClient.library_id))
        .where(col(ApiClient.institution_id) == institution.id)
        .order_by(col(ApiClient.name), col(ApiClient.id))
    )
    return [ApiClientView(client, institution.code, library) for client, library in rows.all()]


async def _administered_client(
    session: AsyncSession, actor: Actor, client_id: int | None
) -> ApiClientView:
    """The client if the actor administers its institution; NOT_FOUND otherwise (whether
    it exists elsewhere is not told)."""
    require_authenticated(actor)
    found = None
    if client_id is not None:
        found = (
            await session.execute(
                select(ApiClient, col(Institution.code), col(Library.code))
                .join(Institution, col(Institution.id) == col(ApiClient.institution_id))
                .outerjoin(Library, col(Library.id) == col(ApiClient.library_id))
                .where(col(ApiClient.id) == client_id)
            )
        ).one_or_none()
    if found is None or not can_administer_institution(actor, found[0].institution_id):
        raise DomainError.of(ErrorCode.NOT_FOUND, "There is no such API client.", ["id"])
    client = found[0]
    # Changing a client needs the authority that creating it needs: every scope it holds.
    refused = [
        error
        for error in await scope_refusals(
            session, actor, client.institution_id, client.library_id, list(client.scopes), []
        )
        if error.code != ErrorCode.INVALID_INPUT  # a scope whose type is gone grants nothing
    ]
    if refused:
        raise DomainError.of(
            ErrorCode.FORBIDDEN,
            f"Only someone who may grant all of this client's scopes ({', '.join(client.scopes)}) "
            f"can change it: {refused[0].message}",
            ["id"],
        )
    return ApiClientView(client, found[1], found[2])


async def revoke_api_client(
    *, session: AsyncSession, actor: Actor, client_id: int | None
) -> ApiClientView:
    """Switch a client off: its secret stops working at once (a new one brings it back)."""
    view = await _administered_client(session, actor, client_id)
    client = view.client
    if client.enabled:
        client.enabled = False
        await audit.record(
            session=session,
            actor=actor,
            action="revoke_api_client",
            entity_type="ApiClient",
            entity_id=client.id,
            institution_id=client.institution_id,
            changes={"enabled": {"before": True, "after": False}},
        )
        await session.commit()
    return view


async def rotate_api_client_secret(
    *, session: AsyncSession, actor: Actor, client_id: int | None
) -> tuple[ApiClientView, str]:
    """A new secret for a client (shown once); the old one stops working, and a revoked
    client is switched on again with the new one."""
    view = await _administered_client(session, actor, client_id)
    client = view.client
    secret = CLIENT_PREFIX + secrets.token_urlsafe(32)
    changes: dict[str, Any] = {"secret": {"before": "(hidden)", "after": "(changed)"}}
    if not client.enabled:
        changes["enabled"] = {"before": False, "after": True}
    client.token_hash = token_digest(secret)
    client.enabled = True
    await audit.record(
        session=session,
        actor=actor,
        action="rotate_api_client_secret",
        entity_type="ApiClient",
        entity_id=client.id,
        institution_id=client.institution_id,
        changes=changes,
    )
    await session.commit()
    return view, secret
