"""API clients: creating them (the secret shown once), listing, revoking and rotating
their secrets, for the system administrators of their institution."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.auth.models import ApiClient
from app.auth.policy import (
    Actor,
    can_administer_institution,
    require_authenticated,
    require_institution_admin,
)
from app.auth.roles import Scope, is_valid_scope, normalize_scope
from app.auth.scope_grants import scope_refusals
from app.auth.tokens import CLIENT_PREFIX, token_digest
from app.errors import DomainError, ErrorCode, FieldError
from app.network.models import Institution, Library


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
    errors = _name_errors(name)
    scopes = [normalize_scope(scope) for scope in scopes]
    errors += _scope_errors(scopes)
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


def _name_errors(name: str) -> list[FieldError]:
    if not name.strip():
        return [FieldError(ErrorCode.MANDATORY_FIELD, "Give the client a name.", ["name"])]
    if len(name.strip()) > 200:
        return [FieldError(ErrorCode.INVALID_INPUT, "Names are at most 200 characters.", ["name"])]
    return []


def _scope_errors(scopes: list[str]) -> list[FieldError]:
    """Scopes (normalised) that are no scope at all."""
    known = ", ".join(s.value for s in Scope)
    return [
        FieldError(
            ErrorCode.INVALID_INPUT,
            f"Unknown scope {scope!r}; use one of {known} or attribute:<CODE>.",
            ["scopes", str(index)],
        )
        for index, scope in enumerate(scopes)
        if not is_valid_scope(scope)
    ]


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


async def _audit(
    session: AsyncSession, actor: Actor, client: ApiClient, action: str, changes: dict[str, Any]
) -> None:
    """The audit entry of a change of an existing client."""
    await audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type="ApiClient",
        entity_id=client.id,
        institution_id=client.institution_id,
        changes=changes,
    )


async def revoke_api_client(
    *, session: AsyncSession, actor: Actor, client_id: int | None
) -> ApiClientView:
    """Switch a client off: its secret stops working at once (a new one brings it back)."""
    view = await _administered_client(session, actor, client_id)
    client = view.client
    if client.enabled:
        client.enabled = False
        await _audit(
            session,
            actor,
            client,
            "revoke_api_client",
            {"enabled": {"before": True, "after": False}},
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
    await _audit(session, actor, client, "rotate_api_client_secret", changes)
    await session.commit()
    return view, secret


async def update_api_client(
    *,
    session: AsyncSession,
    actor: Actor,
    client_id: int | None,
    name: str | None = None,
    scopes: list[str] | None = None,
) -> ApiClientView:
    """Rename a client or change its scopes (None: left as it is); its secret stays. It
    needs the authority that creating the client with its current scopes needs, and the
    new scopes must be the actor's to give, as at creation (delegation, never creation)."""
    view = await _administered_client(session, actor, client_id)
    client = view.client
    errors = _name_errors(name) if name is not None else []
    wanted = None
    if scopes is not None:
        wanted = [normalize_scope(scope) for scope in scopes]
        errors += _scope_errors(wanted)
        errors += await scope_refusals(
            session, actor, client.institution_id, client.library_id, wanted, ["scopes"]
        )
    if errors:
        errors.sort(key=lambda e: (e.field != ["name"], e.field or []))
        raise DomainError(errors)
    changes: dict[str, Any] = {}
    if name is not None and name.strip() != client.name:
        changes["name"] = {"before": client.name, "after": name.strip()}
        client.name = name.strip()
    if wanted is not None and sorted(set(wanted)) != sorted(client.scopes):
        changes["scopes"] = {"before": list(client.scopes), "after": sorted(set(wanted))}
        client.scopes = sorted(set(wanted))
    if changes:
        await _audit(session, actor, client, "update_api_client", changes)
        await session.commit()
    return view
