"""Use-cases of the patron registry: create, update, remove."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.auth.models import AuthToken
from app.auth.policy import (
    Actor,
    can_manage_patrons,
    can_read_patron,
    require,
    require_authenticated,
    ungrantable,
)
from app.db import utcnow
from app.emails.service import (
    clear_flag_of_changed_address,
    flag_blacklisted_patrons,
    release_flags,
)
from app.errors import DomainError, ErrorCode
from app.network.models import Institution, Library
from app.patrons import events
from app.patrons.delegation import LAST_ADMINISTRATOR, other_administrators, stored_grants
from app.patrons.lookups import lookups_of
from app.patrons.models import (
    Patron,
)
from app.patrons.state import PatronState, load_state
from app.patrons.validation import PatronPlan, validate_changes
from app.patrons.versions import bump_version, stale_version
from app.patrons.writing import audit_change, translate_integrity, write_plan
from app.settings import Settings
from app.sql import pk, saved_id


async def create_patron(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    institution_code: str,
    fields: dict[str, Any],
) -> Patron:
    """Register a HOME patron in an institution the actor manages."""
    patron = await add_patron(
        session=session,
        settings=settings,
        actor=actor,
        institution_code=institution_code,
        fields=fields,
    )
    await session.commit()
    return patron


async def add_patron(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    institution_code: str,
    fields: dict[str, Any],
    action: str = "create_patron",
) -> Patron:
    """create_patron without the commit."""
    institution, plan = await plan_new_patron(
        session=session,
        settings=settings,
        actor=actor,
        institution_code=institution_code,
        fields=fields,
    )
    assert institution.id is not None
    patron = Patron(
        institution_id=institution.id,
        home_library_id=plan.state.scalars["home_library_id"],
        account_type="HOME",
    )
    try:
        async with session.begin_nested():
            session.add(patron)
            await session.flush()
            await write_plan(session=session, patron=patron, before=PatronState(), plan=plan)
    except IntegrityError as exc:
        raise translate_integrity(exc) from exc
    if patron.primary_email:
        await flag_blacklisted_patrons(session, [saved_id(patron)])
    await audit_change(
        session=session,
        actor=actor,
        action=action,
        patron=patron,
        before=None,
        after=plan.state,
        password_changed=bool(plan.password_hash),
    )
    return patron


async def plan_new_patron(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    institution_code: str,
    fields: dict[str, Any],
) -> tuple[Institution, PatronPlan]:
    """Check a new HOME patron (nothing written): the institution and the validated plan."""
    require_authenticated(actor)
    institution = await lookups_of(session).institution_by_code(session, institution_code)
    if institution is None or not can_manage_patrons(actor, institution.id):  # type: ignore[arg-type]
        require(
            False, actor, "You may register patrons only in your own institution, as a librarian."
        )
    assert institution is not None
    fields = {"enabled": True, "is_staff": False, "is_generic": False, **fields}
    if not fields.get("home_library"):
        # By default the library the patron is registered at: the session's, or the API
        # client's (without either, MANDATORY_FIELD asks for it).
        fields["home_library"] = await _registering_library(session, actor, institution.id)
    if "surname" not in fields:
        fields["surname"] = None
    plan = await validate_changes(
        session=session,
        settings=settings,
        actor=actor,
        institution=institution,
        patron_id=None,
        current=PatronState(),
        fields=fields,
    )
    return institution, plan


async def _registering_library(
    session: AsyncSession, actor: Actor, institution_id: int | None
) -> str | None:
    """The code of the library the actor works at, if it is one of this institution."""
    if actor.library_id is None or actor.institution_id != institution_id:
        return None
    library = await session.get(Library, actor.library_id)
    return library.code if library is not None else None


async def editable_patron(
    session: AsyncSession, actor: Actor, patron_id: int, field: list[str] | None = None
) -> Patron:
    """The patron if the actor may change it; NOT_FOUND when it may not even see it."""
    require_authenticated(actor)
    patron = await session.get(Patron, patron_id)
    if patron is None or not can_read_patron(actor, patron.institution_id, patron_id):
        raise DomainError.of(ErrorCode.NOT_FOUND, "There is no such patron.", field or ["id"])
    if not can_manage_patrons(actor, patron.institution_id):
        raise DomainError.of(
            ErrorCode.FORBIDDEN, "Only librarians of the patron's institution may change it."
        )
    return patron


async def propagate_source(*, session: AsyncSession, actor: Actor, source_id: int) -> None:
    """Refresh linked copies of a changed HOME account (the linking use cases listen)."""
    await events.announce(events.SOURCE_CHANGED, session=session, actor=actor, source_id=source_id)


async def mark_source_deleted(*, session: AsyncSession, actor: Actor, source_id: int) -> None:
    await events.announce(events.SOURCE_DELETED, session=session, actor=actor, source_id=source_id)


async def update_patron(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    patron_id: int,
    expected_version: int,
    fields: dict[str, Any],
) -> Patron:
    """Change the given fields (partial update) if the version still matches."""
    patron = await editable_patron(session, actor, patron_id)
    if patron.version != expected_version:
        raise stale_version()
    if await change_patron(
        session=session,
        settings=settings,
        actor=actor,
        patron=patron,
        fields=fields,
        expected_version=expected_version,
    ):
        await session.commit()
    return patron


async def change_patron(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    patron: Patron,
    fields: dict[str, Any],
    expected_version: int | None = None,
    action: str = "update_patron",
    before: PatronState | None = None,
    written: list[PatronState] | None = None,
) -> bool:
    """update_patron without the commit; False when nothing would change (nothing written)."""
    assert patron.id is not None
    patron_id = patron.id
    if before is None:
        before = await load_state(session, patron)
    plan = await plan_change(
        session=session, settings=settings, actor=actor, patron=patron, fields=fields, before=before
    )
    if plan is None:
        return False  # nothing changes: no new version, no audit entry
    try:
        async with session.begin_nested():
            patron.version = await bump_version(session, patron_id, expected_version)
            await write_plan(session=session, patron=patron, before=before, plan=plan)
    except IntegrityError as exc:
        raise translate_integrity(exc) from exc
    await end_sessions_at_lost_libraries(session, patron_id, before, plan.state)
    if before.scalars.get("primary_email") != patron.primary_email:
        await clear_flag_of_changed_address(session=session, patron=patron)
    await audit_change(
        session=session,
        actor=actor,
        action=action,
        patron=patron,
        before=before,
        after=plan.state,
        password_changed=plan.password_hash is not False,
    )
    if patron.account_type == "HOME":
        await propagate_source(session=session, actor=actor, source_id=patron_id)
    if written is not None:
        written.append(plan.state)
    return True


async def plan_change(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    patron: Patron,
    fields: dict[str, Any],
    before: PatronState,
) -> PatronPlan | None:
    """The checked plan of an edit of a stored patron (nothing written); None when the
    edit would change nothing."""
    institution = await lookups_of(session).institution_by_id(session, patron.institution_id)
    plan = await validate_changes(
        session=session,
        settings=settings,
        actor=actor,
        institution=institution,
        patron_id=patron.id,
        current=before,
        fields=fields,
        account_type=patron.account_type,
    )
    if plan.password_hash is not False:
        return plan
    if before == plan.state:  # the same state shows the same (a re-imported file's rows)
        return None
    names = await lookups_of(session).name_maps(session, patron.institution_id)
    return None if before.snapshot(names) == plan.state.snapshot(names) else plan


async def end_sessions_at_lost_libraries(
    session: AsyncSession, patron_id: int, before: PatronState, after: PatronState
) -> None:
    """A login library taken away ends the account's sessions there at once (roles,
    `enabled` and `until` are read again by every token check)."""

    def allowed(state: PatronState) -> set[int]:
        home = state.scalars.get("home_library_id")
        return set(state.libraries) or ({home} if home is not None else set())

    kept = allowed(after)
    if allowed(before) - kept:
        await session.execute(
            update(AuthToken)
            .where(
                col(AuthToken.patron_id) == patron_id,
                col(AuthToken.revoked_at).is_(None),
                col(AuthToken.library_id).not_in(kept or {-1}),
            )
            .values(revoked_at=utcnow())
        )


async def delete_patron(*, session: AsyncSession, actor: Actor, patron_id: int) -> int:
    """Permanently remove a patron and everything personal attached to it."""
    patron = await editable_patron(session, actor, patron_id)
    if actor.patron_id == patron_id:
        raise DomainError.of(ErrorCode.FORBIDDEN, "You cannot remove your own account.", ["id"])
    grants = (await stored_grants(session, [patron_id]))[patron_id]
    protected = ungrantable(actor, grants)
    if protected:
        raise DomainError.of(
            ErrorCode.FORBIDDEN,
            f"Only {protected.who()} can remove this account.",
            ["id"],
        )
    if grants.is_administrator and not await other_administrators(
        session, patron.institution_id, [patron_id]
    ):
        raise DomainError.of(
            ErrorCode.CONFLICT,
            LAST_ADMINISTRATOR,
            ["id"],
        )
    from app.circulation.service import outstanding_loans

    # Lock the patron so a checkout cannot slip in between the count and the delete.
    await session.execute(
        select(pk(Patron.id)).where(col(Patron.id) == patron_id).with_for_update()
    )
    loans = await outstanding_loans(session, patron_id)
    if loans:
        raise DomainError.of(
            ErrorCode.LOANS_OUTSTANDING,
            f"The patron still has {loans} item(s) on loan; check them in first.",
            ["id"],
        )
    # Loan history stays, anonymised: loan.patron_id is set to NULL by the database.
    institution_id = patron.institution_id
    await mark_source_deleted(session=session, actor=actor, source_id=patron_id)
    await audit.redact_entity(session=session, entity_type="Patron", entity_id=patron_id)
    await release_flags(session, [patron_id])
    await session.execute(delete(Patron).where(col(Patron.id) == patron_id))
    await audit.record(
        session=session,
        actor=actor,
        action="delete_patron",
        entity_type="Patron",
        entity_id=patron_id,
        institution_id=institution_id,
    )
    await session.commit()
    return patron_id
