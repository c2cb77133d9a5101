"""Network search: what a searcher may find of other members' patrons, as each source's
policy allows and the searcher's own lookup list asks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import String, and_, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app import clock
from app.audit import service as audit
from app.auth.policy import (
    Actor,
)
from app.errors import DomainError, ErrorCode, FieldError
from app.linking.policies import SourcePolicy, lookup_types, source_policies
from app.linking.refs import make_ref, ref_key, require_linker
from app.network import service as network
from app.network.models import IdentifierType, Institution
from app.patrons.models import (
    Patron,
    PatronIdentifier,
)
from app.patrons.search import NAME_LENGTH
from app.settings import Settings
from app.sql import StartsWith, in_chunks, prefix_range, saved_id

NAME_RESULTS_LIMIT = 20


# ---------------------------------------------------------------- visibility of sources


def unavailable_reason(patron: Patron, policy: SourcePolicy, today: date) -> str | None:
    """Why other members may not see this source account, or None when they may."""
    if patron.account_type != "HOME":
        return "It is itself a linked account."
    if patron.user_group_id is not None and patron.user_group_id in policy.restricted_groups:
        return f"{policy.institution.code} does not share patrons of this user group."
    if not patron.enabled:
        return "The account is disabled at its home institution."
    if patron.expiry_date is not None and patron.expiry_date < today:
        return "The account has expired at its home institution."
    if patron.until is not None and patron.until < today:
        return "The account's access has ended at its home institution."
    return None


async def _type_codes(session: AsyncSession, type_ids: frozenset[int]) -> str:
    codes = (
        await session.execute(
            select(col(IdentifierType.code))
            .where(col(IdentifierType.id).in_(list(type_ids)))
            .order_by(col(IdentifierType.code))
        )
    ).scalars()
    return ", ".join(codes)


async def not_looked_up_by(
    session: AsyncSession, target: int, source: Patron, policy: SourcePolicy
) -> str | None:
    """Why the target may not link this patron under its own lookup types, if so: the
    patron must hold an identifier of a type the target looks up by and the source lets
    others search (a ref made before the target narrowed its list links nothing)."""
    lookup = await lookup_types(session, target)
    if not lookup:
        return None
    usable = lookup & policy.searchable_types if policy.searchable_types else lookup
    held = (
        await session.execute(
            select(col(PatronIdentifier.identifier_type_id)).where(
                col(PatronIdentifier.patron_id) == source.id,
                col(PatronIdentifier.identifier_type_id).in_(list(usable)),
            )
        )
    ).first()
    if held is not None:
        return None
    return (
        "The patron has no identifier of the types your institution looks up other "
        f"members' patrons by ({await _type_codes(session, lookup)})."
    )


async def local_accounts(
    session: AsyncSession, target: int, source_ids: list[int]
) -> dict[int, Patron]:
    """Per source patron, the target institution's HOME account of the same person: the
    one account there holding a value of a network-unique identifier type (a consortial
    id) the source holds too. Several such accounts name none (an ambiguity to resolve
    at the target, not by guessing)."""
    if not source_ids:
        return {}
    theirs = aliased(PatronIdentifier)
    ours = aliased(PatronIdentifier)
    rows = (
        await session.execute(
            select(col(theirs.patron_id), col(ours.patron_id))
            .join(IdentifierType, col(IdentifierType.id) == col(theirs.identifier_type_id))
            .join(
                ours,
                and_(
                    col(ours.identifier_type_id) == col(theirs.identifier_type_id),
                    col(ours.value_key) == col(theirs.value_key),
                    col(ours.institution_id) == target,
                ),
            )
            .join(Patron, col(Patron.id) == col(ours.patron_id))
            .where(
                col(theirs.patron_id).in_(source_ids),
                col(IdentifierType.network_unique).is_(True),
                col(Patron.account_type) == "HOME",
            )
        )
    ).all()
    candidates: dict[int, set[int]] = {}
    for source_id, local_id in rows:
        candidates.setdefault(source_id, set()).add(local_id)
    single = {s: next(iter(ids)) for s, ids in candidates.items() if len(ids) == 1}
    if not single:
        return {}
    patrons = {
        saved_id(p): p
        for p in (
            await session.execute(select(Patron).where(col(Patron.id).in_(list(single.values()))))
        ).scalars()
    }
    return {s: patrons[local] for s, local in single.items() if local in patrons}


async def login_matches(
    session: AsyncSession, value: str, policies: dict[int, SourcePolicy], today: date
) -> dict[int, list[Patron]]:
    """The accounts found by username (sources with networkSearchByUsername) or by
    primary email (sources with networkSearchByEmail that share PRIMARY_EMAIL): how a
    discovery layer holding an SSO subject or an email finds the patron. Only accounts
    each source shares (see unavailable_reason)."""
    key = value.strip().lower()
    by_username = [i for i, p in policies.items() if p.institution.network_search_by_username]
    by_email = [
        i
        for i, p in policies.items()
        if p.institution.network_search_by_email and "PRIMARY_EMAIL" in p.shared
    ]
    clauses = []
    if by_username:
        clauses.append(
            and_(col(Patron.institution_id).in_(by_username), col(Patron.username_key) == key)
        )
    if by_email and "@" in key:
        clauses.append(
            and_(
                col(Patron.institution_id).in_(by_email),
                func.lower(col(Patron.primary_email)) == key,
            )
        )
    if not clauses:
        return {}
    rows = (
        await session.execute(
            select(Patron)
            .where(col(Patron.account_type) == "HOME", or_(*clauses))
            .order_by(col(Patron.id))
        )
    ).scalars()
    found: dict[int, list[Patron]] = {}
    for patron in rows:
        if unavailable_reason(patron, policies[patron.institution_id], today) is None:
            found.setdefault(patron.institution_id, []).append(patron)
    return found


async def identifier_matches(
    session: AsyncSession,
    value: str,
    type_id: int | None,
    policies: dict[int, SourcePolicy],
    today: date,
    lookup: frozenset[int] = frozenset(),
) -> dict[int, list[Patron]]:
    """The accounts other members may find by this identifier value, per source
    institution: only of the institutions in `policies`, only by the identifier types
    each lets others search and the searcher looks up by (`lookup`, empty: any), only
    accounts each shares (see unavailable_reason).

    The one rule of what an identifier reveals across the wall: network search and a
    patron's consortial accounts both go through it. More than one account of an
    institution is an ambiguity the caller must not resolve by guessing."""
    found = await identifier_matches_many(session, [(value, type_id)], policies, today, lookup)
    return found[(value, type_id)]


async def identifier_matches_many(
    session: AsyncSession,
    wanted: Sequence[tuple[str, int | None]],
    policies: dict[int, SourcePolicy],
    today: date,
    lookup: frozenset[int] = frozenset(),
) -> dict[tuple[str, int | None], dict[int, list[Patron]]]:
    """identifier_matches for several (value, identifier type or None) pairs at once, in
    two statements however many pairs (the identifiers, then the accounts they name)."""
    answers: dict[tuple[str, int | None], dict[int, list[Patron]]] = {w: {} for w in wanted}
    if not wanted or not policies:
        return answers
    by_key: dict[str, list[tuple[str, int | None]]] = {}
    for pair in answers:
        by_key.setdefault(pair[0].lower(), []).append(pair)
    # (pair, institution) -> the accounts' ids that institution reveals for the pair
    candidates: dict[tuple[tuple[str, int | None], int], set[int]] = {}
    for keys in in_chunks(sorted(by_key)):
        rows = await session.execute(
            select(
                col(PatronIdentifier.patron_id),
                col(PatronIdentifier.institution_id),
                col(PatronIdentifier.identifier_type_id),
                col(PatronIdentifier.value_key),
            ).where(
                col(PatronIdentifier.value_key).in_(keys),
                col(PatronIdentifier.institution_id).in_(list(policies)),
            )
        )
        for patron_id, institution_id, found_type, value_key in rows.all():
            searchable = policies[institution_id].searchable_types
            if searchable and found_type not in searchable:
                continue
            if lookup and found_type not in lookup:
                continue
            for pair in by_key[value_key]:
                if pair[1] is None or pair[1] == found_type:
                    candidates.setdefault((pair, institution_id), set()).add(patron_id)
    ids = sorted({i for found in candidates.values() for i in found})
    patrons: dict[int, Patron] = {}
    for chunk in in_chunks(ids):
        accounts = await session.execute(select(Patron).where(col(Patron.id).in_(chunk)))
        patrons.update((saved_id(p), p) for p in accounts.scalars())
    for (pair, institution_id), found in sorted(candidates.items(), key=lambda c: c[0][1]):
        visible = [
            patrons[i]
            for i in sorted(found)
            if i in patrons
            and unavailable_reason(patrons[i], policies[institution_id], today) is None
        ]
        if visible:
            answers[pair][institution_id] = visible
    return answers


@dataclass
class NetworkMatch:
    source: Patron
    policy: SourcePolicy
    ref: str
    linked_account: Patron | None = None
    local_account: Patron | None = None  # the searcher's HOME account of the same person


@dataclass
class SearchResult:
    matches: list[NetworkMatch] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)


async def network_search(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    identifier: str | None,
    identifier_type: str | None,
    name: str | None,
    institutions: list[str] | None,
) -> SearchResult:
    """Find HOME accounts of other members by identifier (or name where allowed); audited.

    The desk (CIRCULATION) searches by identifier only."""
    identifier = (identifier or "").strip() or None
    name = (name or "").strip() or None
    target = require_linker(
        actor,
        desk=(
            "The desk (CIRCULATION) may search other members' patrons by identifier only; "
            "a search by name needs a librarian."
            if name is not None
            else ""
        ),
    )
    if (identifier is None) == (name is None):
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            "Search by an identifier or by a name (one of the two).",
            [],
        )
    result = SearchResult()
    sources: list[Institution] = []
    explicit = institutions is not None
    if institutions is not None:
        for index, code in enumerate(institutions):
            institution = await network.institution_by_code(session, code)
            if institution is None:
                raise DomainError.of(
                    ErrorCode.INVALID_INPUT,
                    f"There is no institution {code!r}.",
                    ["institutions", str(index)],
                )
            if institution.id != target:
                sources.append(institution)
    else:
        sources = list(
            (
                await session.execute(
                    select(Institution)
                    .where(col(Institution.id) != target)
                    .order_by(col(Institution.code))
                )
            ).scalars()
        )
    policies = await source_policies(session, [s.id for s in sources])  # type: ignore[misc]
    today = clock.today()
    found: dict[int, list[Patron]] = {}
    if identifier is not None:
        type_id = None
        if identifier_type:
            type_row = await network.identifier_type_by_code(session, identifier_type)
            if type_row is None:
                raise DomainError.of(
                    ErrorCode.INVALID_INPUT,
                    f"There is no identifier type {identifier_type!r}.",
                    ["identifier_type"],
                )
            type_id = type_row.id
        lookup = await lookup_types(session, target)
        if type_id is not None and lookup and type_id not in lookup:
            raise DomainError.of(
                ErrorCode.INVALID_INPUT,
                f"Your institution looks up other members' patrons by "
                f"{await _type_codes(session, lookup)} only, not by {identifier_type}.",
                ["identifier_type"],
            )
        matched = await identifier_matches(session, identifier, type_id, policies, today, lookup)
        if type_id is None and not lookup:
            for institution_id, patrons in (
                await login_matches(session, identifier, policies, today)
            ).items():
                ids = {saved_id(p) for p in matched.get(institution_id, [])}
                extra = [p for p in patrons if saved_id(p) not in ids]
                if extra:
                    matched[institution_id] = matched.get(institution_id, []) + extra
        for institution_id, visible in matched.items():
            if len(visible) > 1:
                result.errors.append(
                    FieldError(
                        ErrorCode.AMBIGUOUS_IDENTIFIER,
                        f"{identifier!r} matches more than one patron of {policies[institution_id].institution.code}; "
                        "ask the patron for another identifier.",
                        ["identifier"],
                    )
                )
            else:
                found[institution_id] = visible
    else:
        assert name is not None
        allowed: list[int] = []
        for index, institution in enumerate(sources):
            if institution.network_search_by_name:
                allowed.append(institution.id)  # type: ignore[arg-type]
            elif explicit:
                result.errors.append(
                    FieldError(
                        ErrorCode.NAME_SEARCH_NOT_ALLOWED,
                        f"{institution.code} does not allow other members to search its patrons by name.",
                        ["institutions", str(index)],
                    )
                )
        if not allowed and not explicit:
            result.errors.append(
                FieldError(
                    ErrorCode.NAME_SEARCH_NOT_ALLOWED,
                    "No member allows searching its patrons by name; search by an identifier.",
                    ["name"],
                )
            )
        if allowed:
            clauses = []
            for token in name.lower().split()[:5]:
                pattern = token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                low, high = prefix_range(token, NAME_LENGTH)
                bounds = (literal(pattern, String), literal(low, String), literal(high, String))
                clauses.append(
                    or_(
                        StartsWith(col(Patron.surname_key), *bounds),
                        StartsWith(col(Patron.given_key), *bounds),
                    )
                )
            rows = (
                await session.execute(
                    select(Patron)
                    .where(
                        col(Patron.institution_id).in_(allowed),
                        col(Patron.account_type) == "HOME",
                        and_(*clauses),
                    )
                    .order_by(col(Patron.surname_key), col(Patron.given_key), col(Patron.id))
                    .limit(NAME_RESULTS_LIMIT * 4)
                )
            ).scalars()
            for patron in rows:
                if unavailable_reason(patron, policies[patron.institution_id], today) is None:
                    found.setdefault(patron.institution_id, []).append(patron)
    matches = [p for institution_id in sorted(found) for p in found[institution_id]][
        :NAME_RESULTS_LIMIT
    ]
    existing = {}
    if matches:
        existing = {
            p.link_source_patron_id: p
            for p in (
                await session.execute(
                    select(Patron).where(
                        col(Patron.institution_id) == target,
                        col(Patron.link_source_patron_id).in_([m.id for m in matches]),
                    )
                )
            ).scalars()
        }
    key = await ref_key(session, settings)
    local = await local_accounts(session, target, [saved_id(m) for m in matches])
    result.matches = [
        NetworkMatch(
            source=p,
            policy=policies[p.institution_id],
            ref=make_ref(key, target, p.id),  # type: ignore[arg-type]
            linked_account=existing.get(p.id),
            local_account=local.get(saved_id(p)),
        )
        for p in matches
    ]
    await audit.record(
        session=session,
        actor=actor,
        action="network_patron_search",
        entity_type="NetworkSearch",
        entity_id=None,
        institution_id=target,
        changes={
            "query": {
                "before": None,
                "after": {
                    "identifier": identifier,
                    "identifierType": identifier_type,
                    "name": name,
                    "institutions": institutions,
                },
            },
            "matches": {
                "before": None,
                "after": [f"{m.policy.institution.code}:{m.source.id}" for m in result.matches],
            },
        },
    )
    await session.commit()
    return result
