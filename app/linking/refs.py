"""Who may link, and the opaque references network search hands out: each names a source
patron for one target institution and is signed with the deployment's key."""

from __future__ import annotations

import base64
import hashlib
import hmac

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.policy import (
    Actor,
    can_manage_patrons,
    is_desk_staff,
    require_authenticated,
)
from app.auth.roles import Scope
from app.errors import DomainError, ErrorCode
from app.keys import NETWORK_REF, deployment_key
from app.settings import Settings


def can_link(actor: Actor, institution_id: int) -> bool:
    """Librarians of the target institution, or its API clients with scope `linking`."""
    if actor.kind == "client":
        return actor.institution_id == institution_id and actor.has_scope(Scope.LINKING)
    return can_manage_patrons(actor, institution_id)


LINKERS_ONLY = (
    "Only librarians (or API clients with the linking scope) may search and link other "
    "members' patrons."
)


def require_linker(actor: Actor, *, desk: str | None = None) -> int:
    """The institution a search or link is for; `desk` says what the desk (CIRCULATION
    staff) may do here: None for nothing, else the message when it may not."""
    require_authenticated(actor)
    institution_id = actor.institution_id
    if institution_id is not None and can_link(actor, institution_id):
        return institution_id
    if desk is not None and institution_id is not None and is_desk_staff(actor, institution_id):
        if desk == "":
            return institution_id
        raise DomainError.of(ErrorCode.FORBIDDEN, desk)
    raise DomainError.of(ErrorCode.FORBIDDEN, LINKERS_ONLY)


# ---------------------------------------------------------------- opaque references


def _mac(key: bytes, target: int, source: int) -> str:
    message = f"{target}:{source}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:24]


async def ref_key(session: AsyncSession, settings: Settings) -> bytes:
    """The key that signs refs: this deployment's own (see app.keys)."""
    return await deployment_key(session, settings, NETWORK_REF)


def make_ref(key: bytes, target: int, source: int) -> str:
    raw = f"{target}:{source}:{_mac(key, target, source)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_ref(key: bytes, ref: str, target: int) -> int | None:
    """The source patron id of a reference made for this target institution, else None."""
    try:
        raw = base64.urlsafe_b64decode((ref + "=" * (-len(ref) % 4)).encode()).decode()
        target_text, source_text, mac = raw.split(":")
        ref_target, source = int(target_text), int(source_text)
    except (ValueError, UnicodeDecodeError):
        return None
    if ref_target != target or not hmac.compare_digest(mac, _mac(key, target, source)):
        return None
    return source
