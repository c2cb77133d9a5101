"""Merging duplicate accounts into one survivor, in one transaction.

What the survivor has, it keeps; what it lacks, it takes from the duplicates (in
the order given). Everything attached to a duplicate that is not a role moves:
loans, blocks, contact emails, library groups, identifiers of types the survivor
has no value of, attribute values (hidden ones too), its photo if the survivor
has none, and the linked copies other members made of it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.auth.policy import Actor, can_read_patron, require_authenticated, ungrantable
from app.circulation.models import Loan
from app.db import utcnow
from app.emails.service import clear_flag_of_changed_address, release_flags
from app.errors import DomainError, ErrorCode, FieldError
from app.lifecycle import moves
from app.network import choice_lists
from app.network.models import Institution
from app.patrons.delegation import LAST_ADMINISTRATOR, other_administrators, stored_grants
from app.patrons.edits import key_of
from app.patrons.models import Patron
from app.patrons.service import editable_patron, propagate_source
from app.patrons.state import load_state, name_maps
from app.patrons.versions import bump_version


@dataclass(frozen=True)
class MergeResult:
    """The survivor after the merge and how many loans (current and past) it received."""

    patron: Patron
    loans_moved: int


async def merge_patrons(
    *, session: AsyncSession, actor: Actor, survivor_id: int | None, duplicate_ids: list[int | None]
) -> MergeResult:
    """Merge duplicate accounts into a survivor of the same institution (LIBRARIAN)."""
    require_authenticated(actor)
    if survivor_id is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, "There is no such patron.", ["survivor"])
    survivor = await editable_patron(session, actor, survivor_id, ["survivor"])
    duplicates = await _duplicates(session, actor, survivor, duplicate_ids)
    _check_kinds(survivor, duplicates)
    await _check_roles(session, actor, survivor, duplicates)
    spellings = await _listed_values_taken(session, survivor, duplicates)
    loans = await _merge_into(
        session=session,
        actor=actor,
        survivor=survivor,
        duplicates=duplicates,
        spellings=spellings,
    )
    await session.commit()
    await session.refresh(survivor)
    return MergeResult(patron=survivor, loans_moved=loans)


async def _duplicates(
    session: AsyncSession, actor: Actor, survivor: Patron, duplicate_ids: list[int | None]
) -> list[Patron]:
    """The duplicates in the order given (locked), or every reason they cannot be merged."""
    if not duplicate_ids:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, "Name at least one duplicate.", ["duplicates"]
        )
    wanted = [pid for pid in duplicate_ids if pid is not None]
    rows = {
        p.id: p
        for p in (
            await session.execute(
                select(Patron)
                .where(col(Patron.id).in_([survivor.id, *wanted]))
                .order_by(col(Patron.id))
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalars()
    }
    errors: list[FieldError] = []
    duplicates: list[Patron] = []
    seen: set[int] = set()
    for index, patron_id in enumerate(duplicate_ids):
        field = ["duplicates", str(index)]
        patron = rows.get(patron_id) if patron_id is not None else None
        if patron is None or not can_read_patron(actor, patron.institution_id, patron.id):  # type: ignore[arg-type]
            errors.append(FieldError(ErrorCode.NOT_FOUND, "There is no such patron.", field))
        elif patron.id == survivor.id:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT, "The survivor cannot also be a duplicate.", field
                )
            )
        elif patron.id in seen:
            errors.append(
                FieldError(ErrorCode.INVALID_INPUT, "This patron is listed twice.", field)
            )
        elif patron.institution_id != survivor.institution_id:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    "Only accounts of the same institution can be merged.",
                    field,
                )
            )
        else:
            seen.add(patron.id)  # type: ignore[arg-type]
            duplicates.append(patron)
    if errors:
        raise DomainError(errors)
    return duplicates


def _check_kinds(survivor: Patron, duplicates: list[Patron]) -> None:
    """All HOME accounts, or all LINKED copies of one source; never generic accounts."""
    errors: list[FieldError] = []
    if survivor.is_generic:
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT,
                "Generic accounts hold no personal data and are not merged.",
                ["survivor"],
            )
        )
    for index, duplicate in enumerate(duplicates):
        field = ["duplicates", str(index)]
        if duplicate.is_generic:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    "Generic accounts hold no personal data and are not merged.",
                    field,
                )
            )
        elif survivor.account_type == "HOME" and duplicate.account_type != "HOME":
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    "The survivor is a HOME account: only HOME accounts can be merged into it.",
                    field,
                )
            )
        elif survivor.account_type == "LINKED" and (
            duplicate.account_type != "LINKED"
            or survivor.link_source_patron_id is None
            or duplicate.link_source_patron_id != survivor.link_source_patron_id
        ):
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    "The survivor is a linked account: only linked accounts of the same "
                    "source can be merged into it.",
                    field,
                )
            )
    if errors:
        raise DomainError(errors)


async def _check_roles(
    session: AsyncSession, actor: Actor, survivor: Patron, duplicates: list[Patron]
) -> None:
    """Nobody removes or changes accounts holding what they could not have granted
    (roles, a staff account's login libraries), and the last administrator stays."""
    ids = [survivor.id, *(d.id for d in duplicates)]
    grants = await stored_grants(session, [i for i in ids if i is not None])
    errors: list[FieldError] = []
    for index, duplicate in enumerate(duplicates):
        field = ["duplicates", str(index)]
        protected = ungrantable(actor, grants[duplicate.id])  # type: ignore[index]
        if duplicate.id == actor.patron_id:
            errors.append(
                FieldError(ErrorCode.FORBIDDEN, "You cannot merge away your own account.", field)
            )
        elif protected:
            errors.append(
                FieldError(
                    ErrorCode.FORBIDDEN,
                    f"Only {protected.who()} can remove this account.",
                    field,
                )
            )
    protected = ungrantable(actor, grants[survivor.id])  # type: ignore[index]
    if protected and survivor.id != actor.patron_id:
        errors.append(
            FieldError(
                ErrorCode.FORBIDDEN,
                f"Only {protected.who()} can change this account.",
                ["survivor"],
            )
        )
    gone = [d.id for d in duplicates if d.id is not None]
    if any(grants[i].is_administrator for i in gone) and not await other_administrators(
        session, survivor.institution_id, gone
    ):
        errors.append(
            FieldError(
                ErrorCode.CONFLICT,
                LAST_ADMINISTRATOR,
                ["duplicates"],
            )
        )
    if errors:
        raise DomainError(errors)


async def _listed_values_taken(
    session: AsyncSession, survivor: Patron, duplicates: list[Patron]
) -> dict[str, str]:
    """A cohort or form class the survivor takes from a duplicate is set by the merge, so
    it must be on the institution's list where there is one: the listed spellings, or
    every refusal. (Linked copies carry their home institution's values.)"""
    if survivor.account_type != "HOME":
        return {}
    taken = moves.blank_fields(survivor, duplicates)
    institution = await session.get(Institution, survivor.institution_id)
    assert institution is not None
    spellings: dict[str, str] = {}
    errors: list[FieldError] = []
    for name, kind in choice_lists.KIND_OF_COLUMN.items():
        if name not in taken:
            continue
        listed = [
            c.value for c in await choice_lists.choices_of(session, survivor.institution_id, kind)
        ]
        spelling = choice_lists.listed_spelling(listed, taken[name]) if listed else taken[name]
        if spelling is not None:
            spellings[name] = spelling
            continue
        index = next(i for i, d in enumerate(duplicates) if getattr(d, name) == taken[name])
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT,
                choice_lists.not_listed(kind, taken[name], institution.code, listed)
                + f" The survivor would take it from this duplicate: give the duplicate a "
                f"listed {kind.label} (or none) first.",
                ["duplicates", str(index)],
            )
        )
    if errors:
        raise DomainError(errors)
    return spellings


async def _merge_into(
    *,
    session: AsyncSession,
    actor: Actor,
    survivor: Patron,
    duplicates: list[Patron],
    spellings: dict[str, str] | None = None,
) -> int:
    """Move everything of the duplicates to the survivor and delete them; loans moved."""
    assert survivor.id is not None
    survivor_id = survivor.id
    duplicate_ids: list[int] = [d.id for d in duplicates]  # type: ignore[misc]
    before = await load_state(session, survivor)
    moved = await session.execute(
        update(Loan)
        .where(col(Loan.patron_id).in_(duplicate_ids))
        .values(patron_id=survivor_id)
        .execution_options(synchronize_session=False)
    )
    loans = cast("CursorResult[Any]", moved).rowcount
    await moves.move_blocks(session, survivor, duplicates)
    await moves.move_contact_emails(session, survivor_id, duplicate_ids)
    await moves.move_library_groups(session, survivor_id, duplicate_ids)
    await moves.move_identifiers(session, survivor_id, duplicate_ids)
    await moves.move_attributes(session, survivor, duplicate_ids)
    await moves.move_photo(session, survivor_id, duplicate_ids)
    if survivor.account_type == "HOME":
        await _repoint_copies(session, actor, survivor, duplicate_ids)

    taken = {**moves.blank_fields(survivor, duplicates), **(spellings or {})}
    login = None
    if survivor.username is None:
        login = next(((d.username, d.password_hash) for d in duplicates if d.username), None)
    for duplicate in duplicates:
        await audit.record(
            session=session,
            actor=actor,
            action="merge_patrons",
            entity_type="Patron",
            entity_id=duplicate.id,
            institution_id=duplicate.institution_id,
            changes={"mergedInto": {"before": None, "after": survivor_id}},
        )
    await release_flags(session, list(duplicate_ids))
    await session.execute(
        delete(Patron)
        .where(col(Patron.id).in_(duplicate_ids))
        .execution_options(synchronize_session=False)
    )
    for duplicate in duplicates:
        session.expunge(duplicate)

    # Written once the duplicates are gone, so a username taken over is free by then.
    for name, value in taken.items():
        setattr(survivor, name, value)
    password_changed = False
    if login is not None:
        survivor.username, password_hash = login
        if survivor.password_hash is None and password_hash is not None:
            survivor.password_hash = password_hash
            password_changed = True
    survivor.username_key = key_of(survivor.username)
    survivor.surname_key = key_of(survivor.surname) or ""
    survivor.given_key = key_of(survivor.given_name) or ""
    survivor.updated_at = utcnow()
    session.add(survivor)
    await session.flush()
    survivor.version = await bump_version(session, survivor_id)
    if survivor.primary_email != before.scalars.get("primary_email"):
        await clear_flag_of_changed_address(session=session, patron=survivor)

    after = await load_state(session, survivor)
    names = await name_maps(session, survivor.institution_id)
    changes = audit.diff(before.snapshot(names), after.snapshot(names))
    changes.pop("password", None)
    if password_changed:
        changes["password"] = {"before": "(hidden)", "after": "(changed)"}
    changes["mergedFrom"] = {"before": None, "after": duplicate_ids}
    changes["loansMoved"] = {"before": None, "after": loans}
    await audit.record(
        session=session,
        actor=actor,
        action="merge_patrons",
        entity_type="Patron",
        entity_id=survivor_id,
        institution_id=survivor.institution_id,
        changes=changes,
    )
    if survivor.account_type == "HOME":
        await propagate_source(session=session, actor=actor, source_id=survivor_id)
    return int(loans or 0)


async def _repoint_copies(
    session: AsyncSession, actor: Actor, survivor: Patron, duplicate_ids: list[int]
) -> None:
    """Linked copies of the duplicates become copies of the survivor.

    A member holds at most one copy of a source (a database constraint), so where a
    member has copies of several of the merged accounts, they are merged too: into
    its copy of the survivor if it has one, else into the copy of the first duplicate.
    """
    copies = list(
        (
            await session.execute(
                select(Patron)
                .where(col(Patron.link_source_patron_id).in_([survivor.id, *duplicate_ids]))
                .order_by(col(Patron.id))
                .with_for_update()
            )
        ).scalars()
    )
    if not copies:
        return
    order = {pid: n for n, pid in enumerate([survivor.id, *duplicate_ids])}
    by_member: dict[int, list[Patron]] = defaultdict(list)
    for copy in sorted(copies, key=lambda c: order[c.link_source_patron_id]):
        by_member[copy.institution_id].append(copy)
    source_code = (await session.get(Institution, survivor.institution_id)).code  # type: ignore[union-attr]
    for group in by_member.values():
        keep, others = group[0], group[1:]
        if others:
            await _merge_into(session=session, actor=actor, survivor=keep, duplicates=others)
        if keep.link_source_patron_id == survivor.id:
            continue
        previous = keep.link_source_patron_id
        keep.link_source_patron_id = survivor.id
        session.add(keep)
        await session.flush()
        keep.version = await bump_version(session, keep.id)  # type: ignore[arg-type]
        await audit.record(
            session=session,
            actor=actor,
            action="merge_source",
            entity_type="Patron",
            entity_id=keep.id,
            institution_id=keep.institution_id,
            changes={
                "source": {
                    "before": f"{source_code}:{previous}",
                    "after": f"{source_code}:{survivor.id}",
                }
            },
        )
