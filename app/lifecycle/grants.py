"""Grants that break the delegation rule, for an operator to review (`netzone check-grants`).

Deployments that ran before the rule was enforced may hold authority that was created
rather than delegated: a librarian who gave itself another library, an API client or SIP
account carrying a branch-limited attribute outside its libraries, an institution left
without an administrator. Nothing is changed here; each finding says what to look at.

Grants recorded in the audit trail are judged with the granting account's roles as they
are now (the trail keeps the session library, not the roles held at the time).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes.models import AttributeType, AttributeTypeLibraryLimit
from app.audit.models import AuditEntry
from app.auth.models import ApiClient
from app.auth.policy import (
    Actor,
    holds_library,
    library_may_hold_attribute,
    may_grant,
    may_grant_attribute,
)
from app.auth.roles import STAFF_ROLES, SystemGroup
from app.network.models import Institution, Library
from app.patrons.delegation import other_administrators, stored_grants
from app.patrons.models import Patron, PatronSystemGroup
from app.sip2.models import SipAccount
from app.sql import pk


@dataclass(frozen=True)
class GrantFinding:
    """One thing an operator should review."""

    kind: str  # ACCOUNT, API_CLIENT, SIP_ACCOUNT, INSTITUTION
    institution: str
    subject: str  # the account, client or SIP login
    problem: str


@dataclass(frozen=True)
class _Type:
    code: str
    label: str
    limits: frozenset[int]
    limit_codes: tuple[str, ...]


async def check_grants(session: AsyncSession) -> list[GrantFinding]:
    """Every account, API client, SIP account and institution whose grants break the rule."""
    institutions = {
        i.id: i.code for i in (await session.execute(select(Institution))).scalars().all()
    }
    libraries = {lib.id: lib for lib in (await session.execute(select(Library))).scalars().all()}
    types = await _types(session, libraries)
    findings: list[GrantFinding] = []
    findings += await _accounts(session, institutions, libraries)
    findings += await _clients(session, institutions, libraries, types)
    findings += await _sip_accounts(session, institutions, libraries, types)
    for institution_id, code in sorted(institutions.items(), key=lambda item: item[1]):
        assert institution_id is not None
        if not await other_administrators(session, institution_id, []):
            findings.append(
                GrantFinding(
                    "INSTITUTION",
                    code,
                    code,
                    "has no enabled SYSTEM_ADMIN: nobody can administer it (use `netzone "
                    "bootstrap` or the database to restore one).",
                )
            )
    return findings


async def _types(
    session: AsyncSession, libraries: dict[int | None, Library]
) -> dict[tuple[int, str], _Type]:
    limits: dict[int, list[int]] = defaultdict(list)
    for type_id, library_id in (
        await session.execute(
            select(
                col(AttributeTypeLibraryLimit.attribute_type_id),
                col(AttributeTypeLibraryLimit.library_id),
            )
        )
    ).all():
        limits[type_id].append(library_id)
    out: dict[tuple[int, str], _Type] = {}
    for row in (await session.execute(select(AttributeType))).scalars().all():
        assert row.id is not None
        ids = limits.get(row.id, [])
        out[(row.institution_id, row.code)] = _Type(
            row.code,
            row.label,
            frozenset(ids),
            tuple(sorted(libraries[i].code for i in ids)),
        )
    return out


async def _granters(session: AsyncSession, entries: list[AuditEntry]) -> dict[int, Actor]:
    """The staff accounts behind audit entries, as actors with their current roles
    (the session library is set per entry)."""
    ids = sorted({e.actor_patron_id for e in entries if e.actor_patron_id is not None})
    if not ids:
        return {}
    roles: dict[int, set[SystemGroup]] = defaultdict(set)
    for patron_id, group in (
        await session.execute(
            select(col(PatronSystemGroup.patron_id), col(PatronSystemGroup.system_group)).where(
                col(PatronSystemGroup.patron_id).in_(ids)
            )
        )
    ).all():
        roles[patron_id].add(SystemGroup(group))
    out: dict[int, Actor] = {}
    for account_id, institution_id, username in (
        await session.execute(
            select(pk(Patron.id), col(Patron.institution_id), col(Patron.username)).where(
                col(Patron.id).in_(ids)
            )
        )
    ).all():
        out[account_id] = Actor(
            kind="staff",
            name=username or f"patron {account_id}",
            patron_id=account_id,
            institution_id=institution_id,
            groups=frozenset(roles[account_id]),
        )
    return out


def _as_of(actor: Actor, entry: AuditEntry) -> Actor:
    return Actor(
        kind=actor.kind,
        name=actor.name,
        patron_id=actor.patron_id,
        institution_id=actor.institution_id,
        library_id=entry.library_id,
        groups=actor.groups,
    )


def _codes(value: Any) -> set[str]:
    return {str(v) for v in value} if isinstance(value, list) else set()


async def _accounts(
    session: AsyncSession,
    institutions: dict[int | None, str],
    libraries: dict[int | None, Library],
) -> list[GrantFinding]:
    """Roles and staff login libraries the audit trail shows granted by a session that did
    not hold them, and still held."""
    entries = list(
        (
            await session.execute(
                select(AuditEntry)
                .where(
                    col(AuditEntry.entity_type) == "Patron",
                    col(AuditEntry.actor_patron_id).is_not(None),
                    or_(
                        col(AuditEntry.action).like("create%"),
                        col(AuditEntry.action).like("update%"),
                        col(AuditEntry.action).like("import%"),
                    ),
                )
                .order_by(col(AuditEntry.id))
            )
        )
        .scalars()
        .all()
    )
    entries = [
        e for e in entries if {"systemGroups", "libraries", "homeLibrary"} & set(e.changes or {})
    ]
    granters = await _granters(session, entries)
    current = await stored_grants(session, sorted({e.entity_id for e in entries if e.entity_id}))
    by_code = {(lib.institution_id, lib.code): lib.id for lib in libraries.values()}
    seen: set[tuple[int, str]] = set()
    findings: list[GrantFinding] = []
    for entry in entries:
        grants = current.get(entry.entity_id or -1)
        granter = granters.get(entry.actor_patron_id or -1)
        if grants is None or granter is None:
            continue
        actor = _as_of(granter, entry)
        changes = entry.changes
        institution = institutions.get(grants.institution_id, "?")
        subject = f"account {entry.entity_id}"
        roles = changes.get("systemGroups", {})
        for role in sorted(_codes(roles.get("after")) ^ _codes(roles.get("before"))):
            if role in grants.roles and not may_grant(actor, SystemGroup(role)):
                key = (entry.entity_id or 0, f"role:{role}")
                if key not in seen:
                    seen.add(key)
                    findings.append(
                        GrantFinding(
                            "ACCOUNT",
                            institution,
                            subject,
                            f"holds {role}, granted by {actor.name} who may not grant it "
                            f"(audit entry {entry.id}, {entry.at:%Y-%m-%d}).",
                        )
                    )
        if not grants.is_staff:
            continue
        granted: set[str] = set()
        if "libraries" in changes:
            granted |= _codes(changes["libraries"].get("after")) - _codes(
                changes["libraries"].get("before")
            )
        if "homeLibrary" in changes:
            granted.add(str(changes["homeLibrary"].get("after")))
        if "systemGroups" in changes:
            was_staff = any(SystemGroup(r) in STAFF_ROLES for r in _codes(roles.get("before")))
            if not was_staff:
                granted |= set(grants.login_libraries.values())
        for code in sorted(granted & set(grants.login_libraries.values())):
            library_id = by_code.get((grants.institution_id, code))
            if library_id is None or holds_library(actor, library_id, grants.institution_id):
                continue
            key = (entry.entity_id or 0, f"library:{code}")
            if key not in seen:
                seen.add(key)
                where = libraries[entry.library_id].code if entry.library_id in libraries else "?"
                findings.append(
                    GrantFinding(
                        "ACCOUNT",
                        institution,
                        subject,
                        f"may log in at {code} as staff, granted by {actor.name} logged in at "
                        f"{where}, which does not hold {code} (audit entry {entry.id}, "
                        f"{entry.at:%Y-%m-%d}).",
                    )
                )
    names = dict(
        (
            await session.execute(
                select(col(Patron.id), col(Patron.username)).where(
                    col(Patron.id).in_([int(f.subject.split()[1]) for f in findings] or [-1])
                )
            )
        ).all()
    )
    return [
        GrantFinding(
            f.kind,
            f.institution,
            f"{names.get(int(f.subject.split()[1])) or f.subject} ({f.subject})",
            f.problem,
        )
        for f in findings
    ]


async def _creators(
    session: AsyncSession, entity_type: str, actions: tuple[str, ...]
) -> dict[int, list[AuditEntry]]:
    entries = list(
        (
            await session.execute(
                select(AuditEntry)
                .where(
                    col(AuditEntry.entity_type) == entity_type,
                    col(AuditEntry.action).in_(actions),
                    col(AuditEntry.actor_patron_id).is_not(None),
                )
                .order_by(col(AuditEntry.id))
            )
        )
        .scalars()
        .all()
    )
    out: dict[int, list[AuditEntry]] = defaultdict(list)
    for entry in entries:
        if entry.entity_id is not None:
            out[entry.entity_id].append(entry)
    return out


def _attribute_problems(
    *,
    what: str,
    institution_id: int,
    library_id: int | None,
    codes: list[str],
    types: dict[tuple[int, str], _Type],
    granted_by: list[tuple[Actor, AuditEntry]],
    libraries: dict[int | None, Library],
) -> list[str]:
    problems: list[str] = []
    for code in codes:
        info = types.get((institution_id, code))
        if info is None:
            problems.append(f"names attribute type {code}, which does not exist.")
            continue
        if not library_may_hold_attribute(library_id, info.limits):
            problems.append(
                f"carries {info.label} ({code}) but its library is "
                f"{libraries[library_id].code if library_id in libraries else 'none'}, not one "
                f"of {', '.join(info.limit_codes)}."
            )
        for actor, entry in granted_by:
            if not may_grant_attribute(actor, institution_id, info.limits):
                where = libraries[entry.library_id].code if entry.library_id in libraries else "?"
                problems.append(
                    f"{what} {info.label} ({code}) was set by {actor.name} logged in at "
                    f"{where}, which may not see it (audit entry {entry.id}, "
                    f"{entry.at:%Y-%m-%d})."
                )
                break
    return problems


async def _clients(
    session: AsyncSession,
    institutions: dict[int | None, str],
    libraries: dict[int | None, Library],
    types: dict[tuple[int, str], _Type],
) -> list[GrantFinding]:
    creators = await _creators(session, "ApiClient", ("create_api_client",))
    granters = await _granters(session, [e for es in creators.values() for e in es])
    findings: list[GrantFinding] = []
    for client in (await session.execute(select(ApiClient).order_by(col(ApiClient.id)))).scalars():
        assert client.id is not None
        codes = [s.partition(":")[2] for s in client.scopes if s.startswith("attribute:")]
        by = [
            (_as_of(granters[e.actor_patron_id], e), e)
            for e in creators.get(client.id, [])
            if e.actor_patron_id in granters
        ]
        for problem in _attribute_problems(
            what="Scope",
            institution_id=client.institution_id,
            library_id=client.library_id,
            codes=codes,
            types=types,
            granted_by=by,
            libraries=libraries,
        ):
            findings.append(
                GrantFinding(
                    "API_CLIENT",
                    institutions.get(client.institution_id, "?"),
                    f"{client.name} (id {client.id})",
                    problem,
                )
            )
    return findings


async def _sip_accounts(
    session: AsyncSession,
    institutions: dict[int | None, str],
    libraries: dict[int | None, Library],
    types: dict[tuple[int, str], _Type],
) -> list[GrantFinding]:
    creators = await _creators(session, "SipAccount", ("create_sip_account", "update_sip_account"))
    granters = await _granters(session, [e for es in creators.values() for e in es])
    findings: list[GrantFinding] = []
    for account in (
        await session.execute(select(SipAccount).order_by(col(SipAccount.id)))
    ).scalars():
        assert account.id is not None
        codes = [str(f.get("type")) for f in account.attribute_fields]
        by = [
            (_as_of(granters[e.actor_patron_id], e), e)
            for e in creators.get(account.id, [])
            if e.actor_patron_id in granters and "attributeFields" in (e.changes or {})
        ]
        for problem in _attribute_problems(
            what="Field for",
            institution_id=account.institution_id,
            library_id=account.library_id,
            codes=codes,
            types=types,
            granted_by=by,
            libraries=libraries,
        ):
            findings.append(
                GrantFinding(
                    "SIP_ACCOUNT",
                    institutions.get(account.institution_id, "?"),
                    account.login_id,
                    problem,
                )
            )
    return findings
