"""Token verification: the actor a bearer token stands for (run on every authenticated
request, so kept to this one statement-built path) and the digest tokens are stored as."""

from __future__ import annotations

import hashlib

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth.models import ApiClient, AuthToken
from app.auth.policy import Actor
from app.auth.roles import SystemGroup
from app.clock import today
from app.db import fetch_rows, utcnow
from app.network.models import Institution
from app.patrons.models import Patron, PatronSystemGroup
from app.sql import pk

SESSION_PREFIX = "nzs_"
CLIENT_PREFIX = "nzc_"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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
