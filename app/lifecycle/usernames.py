"""Changing many usernames at once: by a rule over an institution or as listed; all or nothing.

The checks are set-based (for a rule: one query for the candidates and one pass
over the institution's usernames; for a list: one query per chunk) and the writes
are batched, so a rule over hundreds of thousands of patrons costs a few hundred
statements, not several per patron.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth.policy import (
    Actor,
    Beyond,
    can_manage_patrons,
    may_grant,
    require,
    require_authenticated,
    ungrantable,
)
from app.auth.roles import STAFF_ROLES, SystemGroup
from app.errors import DomainError, ErrorCode, FieldError
from app.lifecycle.username_writes import apply_changes, chunks
from app.network import service as network
from app.network.models import Institution
from app.patrons.delegation import stored_grants
from app.patrons.edits import TEXT_LIMITS
from app.patrons.models import Patron, PatronIdentifier, PatronLibraryAccess, PatronSystemGroup
from app.sql import pk

USERNAME_LIMIT = TEXT_LIMITS["username"]


_SPACE = re.compile(r"\s")


_CONTROL = re.compile(r"[\x00-\x1f]")


class UsernameRule(StrEnum):
    """Where a rule takes each patron's new username from."""

    FROM_PRIMARY_EMAIL = "FROM_PRIMARY_EMAIL"
    FROM_ADMIN_SYSTEM_ID = "FROM_ADMIN_SYSTEM_ID"
    FROM_BARCODE = "FROM_BARCODE"


# rule -> (what the source is called in messages, identifier type code or None for the email)
_SOURCES: dict[UsernameRule, tuple[str, str | None]] = {
    UsernameRule.FROM_PRIMARY_EMAIL: ("primary email", None),
    UsernameRule.FROM_ADMIN_SYSTEM_ID: ("admin system id", network.ADMIN_SYSTEM_ID),
    UsernameRule.FROM_BARCODE: ("barcode", network.BARCODE),
}


@dataclass(frozen=True)
class RequestedUsername:
    """One explicit change as given; patron_id is None when the id named no patron."""

    patron_id: int | None
    new_username: str


@dataclass(frozen=True)
class UsernameChange:
    """A patron's username before and after."""

    patron_id: int
    old_username: str | None
    new_username: str


@dataclass(frozen=True)
class UsernameConflict:
    """Something that stops the batch. A rule's conflicts name the patron (patron_id)."""

    patron_id: int | None
    error: FieldError


@dataclass(frozen=True)
class UsernameChanges:
    """The planned (dry run) or applied changes, or the conflicts that stopped them."""

    changes: list[UsernameChange]
    conflicts: list[UsernameConflict]
    applied: bool


def _conflict(
    code: ErrorCode, message: str, field: list[str], patron_id: int | None = None
) -> UsernameConflict:
    return UsernameConflict(patron_id, FieldError(code, message, field))


@dataclass(slots=True)
class _Candidate:
    patron_id: int
    old_username: str | None
    new_username: str
    key: str
    field: list[str]
    rule: bool  # a rule's conflicts carry the patron id
    name: str | None = None  # for messages; explicit changes are named by position

    @property
    def label(self) -> str:
        if not self.rule:
            return f"Change {int(self.field[1]) + 1}"
        return _label(self.name, self.patron_id)

    def conflict(self, code: ErrorCode, message: str) -> UsernameConflict:
        return _conflict(code, message, self.field, self.patron_id if self.rule else None)


def _problem(username: str) -> str | None:
    """Why a value cannot be a username, or None."""
    if len(username) > USERNAME_LIMIT:
        return f"it is longer than {USERNAME_LIMIT} characters"
    if _SPACE.search(username):
        return "it contains spaces"
    if _CONTROL.search(username):
        return "it contains control characters"
    return None


def _protected_groups(actor: Actor) -> list[str]:
    """Roles the actor may not grant: it may not change the login of accounts holding them."""
    return [g.value for g in SystemGroup if not may_grant(actor, g)]


def _staff_beyond_session(actor: Actor) -> Any:
    """Staff accounts (one's own aside) allowed at a library the session does not hold,
    as a condition on Patron; None when the session holds every library."""
    if actor.kind == "system" or actor.has_role(SystemGroup.SYSTEM_ADMIN):
        return None
    staff = select(col(PatronSystemGroup.patron_id)).where(
        col(PatronSystemGroup.system_group).in_([g.value for g in STAFF_ROLES])
    )
    elsewhere = select(col(PatronLibraryAccess.patron_id)).where(
        col(PatronLibraryAccess.library_id) != (actor.library_id or -1)
    )
    explicit = select(col(PatronLibraryAccess.patron_id))
    return and_(
        col(Patron.id).in_(staff),
        col(Patron.id) != (actor.patron_id or -1),
        or_(
            col(Patron.id).in_(elsewhere),
            and_(
                col(Patron.id).not_in(explicit),
                col(Patron.home_library_id) != (actor.library_id or -1),
            ),
        ),
    )


def _name(given: str | None, surname: str | None) -> str | None:
    return " ".join(part for part in (given, surname) if part) or None


def _label(name: str | None, patron_id: int) -> str:
    return f"{name} (patron {patron_id})" if name else f"Patron {patron_id}"


async def change_usernames(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    rule: UsernameRule | None,
    changes: list[RequestedUsername] | None,
    dry_run: bool,
) -> UsernameChanges:
    """Plan (dry run) or apply username changes in an institution (LIBRARIAN); all or nothing."""
    require_authenticated(actor)
    institution = await network.require_institution(session, institution_code, ["institution"])
    assert institution.id is not None
    require(
        can_manage_patrons(actor, institution.id),
        actor,
        f"Only librarians of {institution.code} may change its patrons' usernames.",
    )
    if (rule is None) == (changes is None):
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            "Give either a rule or a list of changes (one of the two).",
            ["rule"],
        )
    if rule is not None:
        candidates, conflicts = await _rule_candidates(session, actor, institution, rule)
    else:
        assert changes is not None
        candidates, conflicts = await _listed_candidates(session, actor, institution, changes)
    conflicts += await _clashes(session, institution, candidates, whole=rule is not None)
    planned = [UsernameChange(c.patron_id, c.old_username, c.new_username) for c in candidates]
    if dry_run:
        return UsernameChanges(planned, conflicts, applied=False)
    if conflicts:
        return UsernameChanges([], conflicts, applied=False)
    if candidates:
        await apply_changes(session, actor, institution.id, candidates)
        await session.commit()
    return UsernameChanges(planned, [], applied=True)


async def _rule_candidates(
    session: AsyncSession, actor: Actor, institution: Institution, rule: UsernameRule
) -> tuple[list[_Candidate], list[UsernameConflict]]:
    """Every HOME patron in scope whose username is not already the rule's value.

    Generic accounts carry no personal data, so no rule applies to them; accounts
    holding roles the actor may not grant are left to someone who may (one's own aside).
    """
    what, type_code = _SOURCES[rule]
    columns = (col(Patron.id), col(Patron.username), col(Patron.given_name), col(Patron.surname))
    if type_code is None:
        value: Any = col(Patron.primary_email)
        query = select(*columns, value)
    else:
        identifier_type = await network.identifier_type_by_code(session, type_code)
        assert identifier_type is not None  # built in, created with the network
        value = col(PatronIdentifier.value)
        query = select(*columns, value).outerjoin(
            PatronIdentifier,
            and_(
                col(PatronIdentifier.patron_id) == col(Patron.id),
                col(PatronIdentifier.identifier_type_id) == identifier_type.id,
            ),
        )
    query = query.where(
        col(Patron.institution_id) == institution.id,
        col(Patron.account_type) == "HOME",
        col(Patron.is_generic).is_(False),
        or_(value.is_(None), col(Patron.username).is_distinct_from(value)),
    )
    protected = _protected_groups(actor)
    if protected:
        # NOT IN a (small) set of staff accounts: one hashed lookup, not a probe per row.
        holders = select(col(PatronSystemGroup.patron_id)).where(
            col(PatronSystemGroup.system_group).in_(protected),
            col(PatronSystemGroup.patron_id) != (actor.patron_id or -1),
        )
        query = query.where(col(Patron.id).not_in(holders))
    foreign = _staff_beyond_session(actor)
    if foreign is not None:
        query = query.where(~foreign)
    candidates: list[_Candidate] = []
    conflicts: list[UsernameConflict] = []
    field = ["rule"]
    for patron_id, username, given, surname, raw in (
        await session.execute(query.order_by(col(Patron.id)))
    ).all():
        new = (raw or "").strip()
        if new == username:
            continue
        label = _label(_name(given, surname), patron_id)
        if not new:
            conflicts.append(
                _conflict(ErrorCode.MANDATORY_FIELD, f"{label} has no {what}.", field, patron_id)
            )
            continue
        problem = _problem(new)
        if problem is not None:
            conflicts.append(
                _conflict(
                    ErrorCode.INVALID_INPUT,
                    f"{label}: the {what} {new!r} cannot be a username: {problem}.",
                    field,
                    patron_id,
                )
            )
            continue
        candidates.append(
            _Candidate(patron_id, username, new, new.lower(), field, True, _name(given, surname))
        )
    return candidates, conflicts


async def _listed_candidates(
    session: AsyncSession,
    actor: Actor,
    institution: Institution,
    requested: list[RequestedUsername],
) -> tuple[list[_Candidate], list[UsernameConflict]]:
    """The explicit changes, each checked on its own (patron, roles, the name itself)."""
    ids = list(dict.fromkeys(r.patron_id for r in requested if r.patron_id is not None))
    current: dict[int, str | None] = {}
    for chunk in chunks(ids):
        rows = await session.execute(
            select(pk(Patron.id), col(Patron.username)).where(
                col(Patron.id).in_(chunk), col(Patron.institution_id) == institution.id
            )
        )
        current.update(rows.all())
    roles: dict[int, Beyond] = {}
    for chunk in chunks(list(current)):
        for holder_id, grants in (await stored_grants(session, list(chunk))).items():
            beyond = ungrantable(actor, grants)
            if beyond and holder_id != actor.patron_id:
                roles[holder_id] = beyond
    candidates: list[_Candidate] = []
    conflicts: list[UsernameConflict] = []
    seen: set[int] = set()
    for index, item in enumerate(requested):
        base = ["changes", str(index)]
        patron_id = item.patron_id
        if patron_id is None or patron_id not in current:
            conflicts.append(
                _conflict(
                    ErrorCode.NOT_FOUND,
                    f"There is no such patron in {institution.code}.",
                    [*base, "patron_id"],
                )
            )
            continue
        if patron_id in seen:
            conflicts.append(
                _conflict(
                    ErrorCode.INVALID_INPUT,
                    "This patron is listed more than once.",
                    [*base, "patron_id"],
                )
            )
            continue
        seen.add(patron_id)
        field = [*base, "new_username"]
        if roles.get(patron_id):
            conflicts.append(
                _conflict(
                    ErrorCode.FORBIDDEN,
                    f"Only {roles[patron_id].who()} can change this account's username.",
                    field,
                )
            )
            continue
        new = (item.new_username or "").strip()
        problem = _problem(new) if new else None
        if not new:
            conflicts.append(_conflict(ErrorCode.MANDATORY_FIELD, "Give the new username.", field))
        elif problem is not None:
            conflicts.append(
                _conflict(
                    ErrorCode.INVALID_INPUT, f"{new!r} cannot be a username: {problem}.", field
                )
            )
        elif new != current[patron_id]:
            candidates.append(
                _Candidate(patron_id, current[patron_id], new, new.lower(), field, False)
            )
    return candidates, conflicts


async def _owners(
    session: AsyncSession, institution_id: int, keys: Counter[str], whole: bool
) -> dict[str, int]:
    """Who holds each of these username keys now.

    For a rule (most of the institution changes) one pass over the institution's
    usernames is far cheaper than looking the new names up; for a list, the lookups.
    """
    owners: dict[str, int] = {}
    held = select(col(Patron.username_key), pk(Patron.id)).where(
        col(Patron.institution_id) == institution_id
    )
    if whole:
        rows = await session.execute(held.where(col(Patron.username_key).is_not(None)))
        owners.update(
            (key, patron_id) for key, patron_id in rows if key is not None and key in keys
        )
        return owners
    for chunk in chunks(sorted(keys)):
        rows = await session.execute(held.where(col(Patron.username_key).in_(chunk)))
        owners.update((key, patron_id) for key, patron_id in rows if key is not None)
    return owners


async def _clashes(
    session: AsyncSession, institution: Institution, candidates: list[_Candidate], whole: bool
) -> list[UsernameConflict]:
    """New names given twice in the batch, or held by a patron who keeps theirs."""
    assert institution.id is not None
    keys = Counter(c.key for c in candidates)
    changing = {c.patron_id for c in candidates}
    owners = await _owners(session, institution.id, keys, whole)
    conflicts: list[UsernameConflict] = []
    for candidate in candidates:
        key = candidate.key
        others = keys[key] - 1
        if others:
            conflicts.append(
                candidate.conflict(
                    ErrorCode.DUPLICATE_USERNAME,
                    f"{candidate.label}: {candidate.new_username!r} would also be the new "
                    f"username of {others} other patron{'s' if others > 1 else ''}.",
                )
            )
        owner = owners.get(key)
        # A name whose holder changes in the same batch is free by then (all or nothing).
        if owner is not None and owner != candidate.patron_id and owner not in changing:
            conflicts.append(
                candidate.conflict(
                    ErrorCode.DUPLICATE_USERNAME,
                    f"{candidate.label}: {candidate.new_username!r} is already the username "
                    f"of another patron in {institution.code}.",
                )
            )
    return conflicts
