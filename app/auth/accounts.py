"""Staff accounts as actors: an account's system groups, and the actor it stands for when
logged in at a library (or named by the operator as USERNAME@LIBRARY)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth.policy import Actor
from app.auth.roles import SystemGroup
from app.clock import today
from app.errors import DomainError, ErrorCode
from app.network.models import Library
from app.patrons.models import Patron, PatronLibraryAccess, PatronSystemGroup


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
    patron = await home_account(session, library.institution_id, username)
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
    allowed = await login_libraries(session, patron)
    groups = await groups_of(session, patron.id)
    if library.id not in allowed or SystemGroup.LIBRARY_USERS not in groups:
        raise DomainError.of(
            ErrorCode.FORBIDDEN, f"The account {username!r} may not log in at {library.code}."
        )
    assert library.id is not None
    return staff_actor(patron, library.id, groups)


async def home_account(session: AsyncSession, institution_id: int, username: str) -> Patron | None:
    """The institution's HOME account of this username (spaces and case aside), if any."""
    found: Patron | None = (
        await session.execute(
            select(Patron).where(
                col(Patron.institution_id) == institution_id,
                col(Patron.username_key) == username.strip().lower(),
                col(Patron.account_type) == "HOME",
            )
        )
    ).scalar_one_or_none()
    return found


async def login_libraries(session: AsyncSession, patron: Patron) -> set[int]:
    """The libraries an account may log in at: those it is given, else its home library."""
    return set(
        (
            await session.execute(
                select(col(PatronLibraryAccess.library_id)).where(
                    col(PatronLibraryAccess.patron_id) == patron.id
                )
            )
        ).scalars()
    ) or {patron.home_library_id}


async def groups_of(session: AsyncSession, patron_id: int) -> frozenset[SystemGroup]:
    rows = await session.execute(
        select(col(PatronSystemGroup.system_group)).where(
            col(PatronSystemGroup.patron_id) == patron_id
        )
    )
    return frozenset(SystemGroup(value) for value in rows.scalars())


def staff_actor(patron: Patron, library_id: int, groups: frozenset[SystemGroup]) -> Actor:
    return Actor(
        kind="staff",
        name=patron.username or f"patron {patron.id}",
        patron_id=patron.id,
        institution_id=patron.institution_id,
        library_id=library_id,
        groups=groups,
    )
