"""Linking: linking a patron of another member, refreshing, unlinking and purging
linked copies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import clock
from app.audit import service as audit
from app.auth.policy import (
    Actor,
)
from app.auth.roles import SystemGroup
from app.circulation.models import Loan
from app.circulation.service import outstanding_loans
from app.db import utcnow
from app.emails.service import release_flags
from app.errors import DomainError, ErrorCode
from app.linking import evaluation as rule_evaluation
from app.linking.copies import copy_data, refresh_copy, replace_copied_blocks
from app.linking.policies import source_policies
from app.linking.refs import read_ref, ref_key, require_linker
from app.linking.search import local_accounts, not_looked_up_by, unavailable_reason
from app.network.models import Library, UserGroup
from app.patrons.models import (
    Patron,
    PatronSystemGroup,
)
from app.settings import Settings
from app.sql import pk, saved_id


@dataclass(frozen=True)
class LinkResult:
    patron: Patron
    created: bool


async def _home_library(session: AsyncSession, actor: Actor, target: int) -> int:
    if actor.library_id is not None:
        return actor.library_id
    library_id = await session.scalar(
        select(pk(Library.id))
        .where(col(Library.institution_id) == target)
        .order_by(col(Library.code))
        .limit(1)
    )
    if library_id is None:
        raise DomainError.of(
            ErrorCode.CONFLICT, "This institution has no library to home linked accounts at."
        )
    return int(library_id)


async def link_account(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    ref: str,
    reason: str,
    commit: bool = True,
    walk_in_checkout: bool = False,
) -> LinkResult:
    """Create the viewer institution's linked account of a source patron, or refresh it.

    With commit=False the caller commits (a walk-in loan: linked and lent together, or
    neither). The desk (CIRCULATION) links only as part of a walk-in checkout
    (`walk_in_checkout`, reason WALK_IN).
    """
    target = require_linker(actor, desk="" if walk_in_checkout else None)
    if walk_in_checkout:
        reason = "WALK_IN"
    source_id = read_ref(await ref_key(session, settings), ref, target)
    source = await session.get(Patron, source_id) if source_id else None
    if source is None or source.institution_id == target:
        raise DomainError.of(
            ErrorCode.SOURCE_NOT_FOUND,
            "The patron was not found; search again.",
            ["source_patron"],
        )
    policy = (await source_policies(session, [source.institution_id]))[source.institution_id]
    reason_text = unavailable_reason(source, policy, clock.today())
    if reason_text is None:
        reason_text = await not_looked_up_by(session, target, source, policy)
    if reason_text is None:
        # One person, no primary: where the target already has the person's HOME
        # account (a shared consortial id), that account is the answer, and no copy
        # is made (nor refreshed, nor given the source's blocks).
        local = (await local_accounts(session, target, [saved_id(source)])).get(saved_id(source))
        if local is not None:
            return LinkResult(patron=local, created=False)
    existing = await _existing_copy(session, target, source.id)  # type: ignore[arg-type]
    if reason_text is not None:
        if existing is not None and existing.link_status != "SOURCE_UNAVAILABLE":
            # A re-link is a refresh: the existing copy says SOURCE_UNAVAILABLE from now on.
            await refresh_copy(
                session=session,
                actor=actor,
                copy=existing,
                policies={source.institution_id: policy},
                action="relink_account",
            )
            if commit:
                await session.commit()
        raise DomainError.of(ErrorCode.SOURCE_RESTRICTED, reason_text, ["source_patron"])
    if existing is not None:
        await refresh_copy(
            session=session,
            actor=actor,
            copy=existing,
            policies={source.institution_id: policy},
            action="relink_account",
        )
        if commit:
            await session.commit()
        return LinkResult(patron=existing, created=False)
    group_code = (
        (await session.get(UserGroup, source.user_group_id)).code  # type: ignore[union-attr]
        if source.user_group_id
        else None
    )
    evaluation = await rule_evaluation.evaluate(
        session, target, policy.institution.code, group_code, source.expiry_date
    )
    if evaluation is None:
        raise DomainError.of(
            ErrorCode.CONFLICT,
            "This institution has no user groups yet, so it cannot receive linked accounts.",
        )
    now = utcnow()
    home_library = await _home_library(session, actor, target)
    copy = Patron(
        institution_id=target,
        home_library_id=evaluation.rule.resource_sharing_library_id or home_library,
        user_group_id=evaluation.user_group_id,
        account_type="LINKED",
        enabled=True,
        expiry_date=evaluation.expiry_date,
        purge_date=evaluation.purge_date,
        link_source_patron_id=source.id,
        link_source_institution_id=source.institution_id,
        link_rule_id=evaluation.rule.id,
        linked_at=now,
        refreshed_at=now,
        link_status="ACTIVE",
        link_reason=reason,
    )
    try:
        async with session.begin_nested():
            session.add(copy)
            await session.flush()
    except IntegrityError:
        # Someone linked the same source a moment ago: the database kept one account.
        existing = await _existing_copy(session, target, source.id)  # type: ignore[arg-type]
        if existing is None:
            raise
        await refresh_copy(
            session=session,
            actor=actor,
            copy=existing,
            policies={source.institution_id: policy},
            action="relink_account",
        )
        if commit:
            await session.commit()
        return LinkResult(patron=existing, created=False)
    await copy_data(session, copy, source, policy)
    session.add(PatronSystemGroup(patron_id=copy.id, system_group=SystemGroup.LIBRARY_USERS.value))  # type: ignore[arg-type]
    if evaluation.rule.copy_network_blocks:
        await replace_copied_blocks(session, copy, source)
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="link_account",
        entity_type="Patron",
        entity_id=copy.id,
        institution_id=target,
        changes={
            "source": {"before": None, "after": f"{policy.institution.code}:{source.id}"},
            "rule": {"before": None, "after": evaluation.rule.name},
            "reason": {"before": None, "after": reason},
        },
    )
    if commit:
        await session.commit()
    return LinkResult(patron=copy, created=True)


async def _existing_copy(session: AsyncSession, target: int, source_id: int) -> Patron | None:
    return (
        await session.execute(
            select(Patron).where(
                col(Patron.institution_id) == target, col(Patron.link_source_patron_id) == source_id
            )
        )
    ).scalar_one_or_none()


async def _linked_account_for(session: AsyncSession, actor: Actor, copy_id: int) -> Patron:
    target = require_linker(actor)
    copy = await session.get(Patron, copy_id)
    if copy is None or copy.institution_id != target or copy.account_type != "LINKED":
        raise DomainError.of(ErrorCode.NOT_FOUND, "There is no such linked account.", ["id"])
    return copy


async def refresh_linked_account(
    *, session: AsyncSession, actor: Actor, copy_id: int
) -> LinkResult:
    """Refresh a linked account from its source now."""
    copy = await _linked_account_for(session, actor, copy_id)
    await refresh_copy(session=session, actor=actor, copy=copy)
    await session.commit()
    return LinkResult(patron=copy, created=False)


async def unlink_account(*, session: AsyncSession, actor: Actor, copy_id: int) -> int:
    """Delete a linked account (refused while it has loans outstanding)."""
    copy = await _linked_account_for(session, actor, copy_id)
    loans = await outstanding_loans(session, copy_id)
    if loans:
        raise DomainError.of(
            ErrorCode.LOANS_OUTSTANDING,
            f"The linked account still has {loans} item(s) on loan; check them in first.",
            ["id"],
        )
    await release_flags(session, [copy_id])
    await session.execute(delete(Patron).where(col(Patron.id) == copy_id))
    await audit.record(
        session=session,
        actor=actor,
        action="unlink_account",
        entity_type="Patron",
        entity_id=copy_id,
        institution_id=copy.institution_id,
    )
    await session.commit()
    return copy_id


async def purge_linked_accounts(
    *, session: AsyncSession, actor: Actor, today: date | None = None
) -> int:
    """Delete linked accounts past their purge date; returns how many."""
    today = today or clock.today()
    rows = list(
        (
            await session.execute(
                select(pk(Patron.id), col(Patron.institution_id)).where(
                    col(Patron.account_type) == "LINKED",
                    col(Patron.purge_date).is_not(None),
                    col(Patron.purge_date) < today,
                    # Never an account that is still valid (copies made under older
                    # rules may have a purge date before their expiry).
                    col(Patron.expiry_date).is_not(None),
                    col(Patron.expiry_date) < today,
                    # Never while items are on loan: those wait for the next run.
                    ~exists().where(
                        col(Loan.patron_id) == col(Patron.id), col(Loan.returned_at).is_(None)
                    ),
                )
            )
        ).all()
    )
    for patron_id, institution_id in rows:
        await release_flags(session, [patron_id])
        await session.execute(delete(Patron).where(col(Patron.id) == patron_id))
        await audit.record(
            session=session,
            actor=actor,
            action="purge_linked_account",
            entity_type="Patron",
            entity_id=patron_id,
            institution_id=institution_id,
        )
    await session.commit()
    return len(rows)
