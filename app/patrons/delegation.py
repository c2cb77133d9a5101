"""Delegation: a session changes an account only if it could have granted everything the
account holds, grants only login libraries it holds itself, and never removes the
institution's last system administrator (spec: Delegation)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth.policy import AccountGrants, Actor, libraries_not_held, ungrantable
from app.auth.roles import SystemGroup
from app.clock import today
from app.errors import DomainError, ErrorCode, FieldError
from app.patrons.lookups import lookups_of
from app.patrons.models import Patron, PatronLibraryAccess, PatronSystemGroup
from app.patrons.state import PatronState
from app.sql import pk


def account_grants(
    institution_id: int, state: PatronState, library_codes: dict[int, str]
) -> AccountGrants:
    """What an account in this state holds (app.auth.policy decides who may grant it)."""
    home = state.scalars.get("home_library_id")
    libraries = state.libraries or ({home} if home is not None else set())
    return AccountGrants(
        institution_id=institution_id,
        roles=frozenset(state.system_groups),
        login_libraries={i: library_codes.get(i, str(i)) for i in libraries},
        enabled=bool(state.scalars.get("enabled", True)),
        until=state.scalars.get("until"),
    )


LAST_ADMINISTRATOR = (
    "This is the institution's last enabled system administrator: make another account "
    "SYSTEM_ADMIN first."
)

# Fields that are themselves grants: changing them on one's own account needs the same
# authority as on anyone else's (a librarian does not extend its own end date).
_GRANT_SCALARS = ("enabled", "until")


async def check_delegation(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_id: int,
    patron_id: int | None,
    before: PatronState,
    after: PatronState,
    fields: dict[str, Any],
    errors: list[FieldError],
) -> None:
    """A session changes an account only if it could have granted everything the account
    holds, and grants only login libraries it holds itself (spec: Delegation)."""
    old = account_grants(institution_id, before, {}) if patron_id is not None else None
    new = account_grants(institution_id, after, {})
    if (old is not None and ungrantable(actor, old)) or libraries_not_held(actor, old, new):
        # Library codes for the messages (read only when something is refused).
        codes: dict[int, str] = (await lookups_of(session).name_maps(session, institution_id))[
            "library"
        ]
        old = account_grants(institution_id, before, codes) if old is not None else None
        new = account_grants(institution_id, after, codes)
    if old is not None:
        beyond = ungrantable(actor, old)
        own = actor.patron_id == patron_id
        grant_fields = [
            name
            for name in _GRANT_SCALARS
            if name in fields and after.scalars.get(name) != before.scalars.get(name)
        ]
        if beyond and not own:
            errors.append(
                FieldError(
                    ErrorCode.FORBIDDEN,
                    f"Only {beyond.who()} can change this account.",
                    ["id"],
                )
            )
            return
        for name in grant_fields if beyond else []:
            errors.append(
                FieldError(
                    ErrorCode.FORBIDDEN,
                    f"Only {beyond.who()} can change {name} of this account, your own included.",
                    [name],
                )
            )
    not_held = libraries_not_held(actor, old, new)
    if not_held:
        from_home = not after.libraries
        errors.append(
            FieldError(
                ErrorCode.FORBIDDEN,
                f"You may not let a staff account log in at {', '.join(not_held)}: a session "
                "grants only libraries it holds (the library it is logged in at; every "
                "library for the institution's system administrators).",
                ["home_library" if from_home else "libraries"],
            )
        )
    if old is not None and old.is_administrator and not new.is_administrator:
        if not await _other_administrator(session, institution_id, patron_id):
            errors.append(
                FieldError(
                    ErrorCode.CONFLICT,
                    LAST_ADMINISTRATOR,
                    ["id"],
                )
            )


async def refusal_to_change(
    session: AsyncSession,
    actor: Actor,
    institution_id: int,
    patron_id: int,
    before: PatronState,
) -> DomainError | None:
    """FORBIDDEN when the actor could not have granted everything this (other) account
    holds, else None: the first check of any change, before a value of the change is
    compared with the stored one (an import row's password cell included)."""
    if actor.patron_id == patron_id:
        return None
    if not ungrantable(actor, account_grants(institution_id, before, {})):
        return None
    codes = (await lookups_of(session).name_maps(session, institution_id))["library"]
    beyond = ungrantable(actor, account_grants(institution_id, before, codes))
    return DomainError.of(
        ErrorCode.FORBIDDEN, f"Only {beyond.who()} can change this account.", ["id"]
    )


async def _other_administrator(
    session: AsyncSession, institution_id: int, patron_id: int | None
) -> bool:
    """Does the institution have an enabled SYSTEM_ADMIN other than this account?"""
    return await other_administrators(session, institution_id, [patron_id or -1]) > 0


async def other_administrators(
    session: AsyncSession, institution_id: int, excluding: list[int]
) -> int:
    """Enabled HOME accounts of the institution, not past their end date, holding
    SYSTEM_ADMIN, other than `excluding` (the last one is never removed: spec Delegation)."""
    found = await session.scalar(
        select(func.count(func.distinct(col(Patron.id))))
        .join(PatronSystemGroup, col(PatronSystemGroup.patron_id) == col(Patron.id))
        .where(
            col(Patron.institution_id) == institution_id,
            col(Patron.account_type) == "HOME",
            col(Patron.enabled).is_(True),
            or_(col(Patron.until).is_(None), col(Patron.until) >= today()),
            col(PatronSystemGroup.system_group) == SystemGroup.SYSTEM_ADMIN.value,
            col(Patron.id).not_in(excluding),
        )
    )
    return int(found or 0)


async def stored_grants(session: AsyncSession, patron_ids: list[int]) -> dict[int, AccountGrants]:
    """What these stored accounts hold (roles, effective login libraries with codes)."""
    if not patron_ids:
        return {}
    rows = (
        await session.execute(
            select(
                pk(Patron.id),
                col(Patron.institution_id),
                col(Patron.home_library_id),
                col(Patron.enabled),
                col(Patron.until),
            ).where(col(Patron.id).in_(patron_ids))
        )
    ).all()
    roles: dict[int, set[str]] = {i: set() for i in patron_ids}
    for patron_id, group in (
        await session.execute(
            select(col(PatronSystemGroup.patron_id), col(PatronSystemGroup.system_group)).where(
                col(PatronSystemGroup.patron_id).in_(patron_ids)
            )
        )
    ).all():
        roles[patron_id].add(group)
    libraries: dict[int, set[int]] = {i: set() for i in patron_ids}
    for patron_id, library_id in (
        await session.execute(
            select(col(PatronLibraryAccess.patron_id), col(PatronLibraryAccess.library_id)).where(
                col(PatronLibraryAccess.patron_id).in_(patron_ids)
            )
        )
    ).all():
        libraries[patron_id].add(library_id)
    out: dict[int, AccountGrants] = {}
    names: dict[int, dict[int, str]] = {}
    for patron_id, institution_id, home, enabled, until in rows:
        if institution_id not in names:
            maps = await lookups_of(session).name_maps(session, institution_id)
            names[institution_id] = maps["library"]
        codes = names[institution_id]
        state = PatronState(
            scalars={"home_library_id": home, "enabled": enabled, "until": until},
            system_groups=roles[patron_id],
            libraries=libraries[patron_id],
        )
        out[patron_id] = account_grants(institution_id, state, codes)
    return out
