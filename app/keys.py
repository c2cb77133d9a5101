"""Keys of this deployment: one random secret per database, kept in it.

Every deployment (the demo and the tests included) gets its own random secret when
its database is first migrated, so nothing that signs or seals is a value anyone can
read in the source. Each use has its own key, derived from that secret by purpose.
NETZONE_SECRET_KEY, when an operator sets it, takes the place of the stored secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import Field, SQLModel, col

from app.db import READS_ONLY
from app.settings import Settings

# The stored secret's name; other names are free for later secrets.
ROOT = "root"

# Purposes (each gives an independent key).
NETWORK_REF = "network-ref"
CURSOR = "cursor"

# The secret per database, read once per process.
_ROOTS: dict[str, bytes] = {}


class DeploymentSecret(SQLModel, table=True):
    """A random secret of this deployment, made when its database was first migrated."""

    __tablename__ = "deployment_secret"

    name: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=200)


def new_secret() -> str:
    return secrets.token_urlsafe(48)


_ROOT_VALUE = select(col(DeploymentSecret.value)).where(col(DeploymentSecret.name) == ROOT)


async def _make_root(session: AsyncSession) -> str | None:
    """Store a new root secret unless one is there, and read back the one that is. A
    request that only reads (app.db: its session writes nothing) does both through a
    connection of its own, committed at once (its own snapshot may predate the row)."""
    statement = insert(DeploymentSecret).values(name=ROOT, value=new_secret())
    bind = session.bind
    if session.info.get(READS_ONLY) and isinstance(bind, AsyncEngine):
        try:
            async with bind.begin() as conn:
                await conn.execute(statement)
        except IntegrityError:
            pass
        async with bind.connect() as conn:
            return (await conn.execute(_ROOT_VALUE)).scalar_one_or_none()
    try:
        async with session.begin_nested():
            await session.execute(statement)
    except IntegrityError:
        pass
    return await session.scalar(_ROOT_VALUE)


async def _root(session: AsyncSession, settings: Settings) -> bytes:
    if settings.secret_key:
        return settings.secret_key.encode()
    root = _ROOTS.get(settings.database_url)
    if root is not None:
        return root
    value = await session.scalar(_ROOT_VALUE)
    if value is None:
        # A database migrated before the table was seeded: make it now. Two processes
        # racing here agree, as the first insert wins and both read it back.
        value = await _make_root(session)
        assert value is not None
    root = _ROOTS[settings.database_url] = value.encode()
    return root


async def deployment_key(session: AsyncSession, settings: Settings, purpose: str) -> bytes:
    """The key of this deployment for one purpose (e.g. NETWORK_REF)."""
    root = await _root(session, settings)
    return hmac.new(root, f"netzone:{purpose}".encode(), hashlib.sha256).digest()


def forget_cached_keys() -> None:
    """Read the secrets again on next use (tests that swap databases)."""
    _ROOTS.clear()
