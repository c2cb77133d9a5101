"""Network search, linking, refreshing, unlinking, purging and live propagation."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app import clock
from app.audit import service as audit
from app.auth.policy import (
    Actor,
    can_manage_patrons,
    is_desk_staff,
    require_authenticated,
)
from app.auth.roles import Scope, SystemGroup
from app.circulation.models import Loan
from app.circulation.service import outstanding_loans
from app.db import utcnow
from app.emails.service import clear_flag_of_changed_address, release_flags
from app.errors import DomainError, ErrorCode, FieldError
from app.keys import NETWORK_REF, deployment_key
from app.linking import rules as rule_service
from app.linking.models import LinkedAccountRule
from app.linking.policies import FIELD_COLUMNS, SourcePolicy, lookup_types, source_policies
from app.network import service as network
from app.network.models import BlockType, IdentifierType, Institution, Library, Network, UserGroup
from app.patrons import events
from app.patrons.models import (
    Patron,
    PatronBlock,
    PatronContactEmail,
    PatronIdentifier,
    PatronPhoto,
    PatronSystemGroup,
)
from app.patrons.versions import bump_version
from app.settings import Settings
from app.sql import pk, saved_id

NAME_RESULTS_LIMIT = 20


def can_link(actor: Actor, institution_id: int) -> bool:
    """Librarians of the target institution, or its API clients with scope `linking`."""
    if actor.kind == "client":
        return actor.institution_id == institution_id and actor.has_scope(Scope.LINKING)
    return can_manage_patrons(actor, institution_id)


LINKERS_ONLY = (
    "Only librarians (or API clients with the linking scope) may search and link other "
    "members' patrons."
)


def _require_linker(actor: Actor, *, desk: str | None = None) -> int:
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


async def _not_looked_up_by(
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
    query = select(
        col(PatronIdentifier.patron_id),
        col(PatronIdentifier.institution_id),
        col(PatronIdentifier.identifier_type_id),
    ).where(
        col(PatronIdentifier.value_key) == value.lower(),
        col(PatronIdentifier.institution_id).in_(list(policies)),
    )
    if type_id is not None:
        query = query.where(col(PatronIdentifier.identifier_type_id) == type_id)
    candidates: dict[int, set[int]] = {}
    for patron_id, institution_id, found_type in (await session.execute(query)).all():
        searchable = policies[institution_id].searchable_types
        if searchable and found_type not in searchable:
            continue
        if lookup and found_type not in lookup:
            continue
        candidates.setdefault(institution_id, set()).add(patron_id)
    found: dict[int, list[Patron]] = {}
    for institution_id, ids in sorted(candidates.items()):
        rows = (
            await session.execute(
                select(Patron).where(col(Patron.id).in_(ids)).order_by(col(Patron.id))
            )
        ).scalars()
        visible = [
            p for p in rows if unavailable_reason(p, policies[institution_id], today) is None
        ]
        if visible:
            found[institution_id] = visible
    return found


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
    target = _require_linker(
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
            ["input"],
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
                    ["input", "institutions", str(index)],
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
                    ["input", "identifierType"],
                )
            type_id = type_row.id
        lookup = await lookup_types(session, target)
        if type_id is not None and lookup and type_id not in lookup:
            raise DomainError.of(
                ErrorCode.INVALID_INPUT,
                f"Your institution looks up other members' patrons by "
                f"{await _type_codes(session, lookup)} only, not by {identifier_type}.",
                ["input", "identifierType"],
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
                        ["input", "identifier"],
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
                        ["input", "institutions", str(index)],
                    )
                )
        if not allowed and not explicit:
            result.errors.append(
                FieldError(
                    ErrorCode.NAME_SEARCH_NOT_ALLOWED,
                    "No member allows searching its patrons by name; search by an identifier.",
                    ["input", "name"],
                )
            )
        if allowed:
            clauses = []
            for token in name.lower().split()[:5]:
                pattern = token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                clauses.append(
                    or_(
                        col(Patron.surname_key).like(pattern, escape="\\"),
                        col(Patron.given_key).like(pattern, escape="\\"),
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


# ---------------------------------------------------------------- copying


async def _copy_data(
    session: AsyncSession, copy: Patron, source: Patron, policy: SourcePolicy
) -> None:
    """Shared fields copied, the rest blanked; contact emails and consortial ids follow policy."""
    assert copy.id is not None
    assert source.id is not None
    address_before = copy.primary_email
    for shared_field, column in FIELD_COLUMNS.items():
        setattr(copy, column, getattr(source, column) if shared_field in policy.shared else None)
    if copy.primary_email != address_before:
        await session.flush()
        await clear_flag_of_changed_address(session=session, patron=copy)
    copy.surname_key = (copy.surname or "").lower()
    copy.given_key = (copy.given_name or "").lower()
    await session.execute(
        delete(PatronContactEmail).where(col(PatronContactEmail.patron_id) == copy.id)
    )
    if "CONTACT_EMAILS" in policy.shared:
        for contact in (
            await session.execute(
                select(PatronContactEmail)
                .where(col(PatronContactEmail.patron_id) == source.id)
                .order_by(col(PatronContactEmail.position))
            )
        ).scalars():
            session.add(
                PatronContactEmail(
                    patron_id=copy.id,
                    position=contact.position,
                    address=contact.address,
                    label=contact.label,
                )
            )
    await _copy_photo(session, copy, source, "PHOTO" in policy.shared)
    # Only network-unique identifiers (consortial ids) travel: the copy is the same person.
    await session.execute(
        delete(PatronIdentifier).where(col(PatronIdentifier.patron_id) == copy.id)
    )
    for identifier in (
        await session.execute(
            select(PatronIdentifier)
            .join(
                IdentifierType, col(IdentifierType.id) == col(PatronIdentifier.identifier_type_id)
            )
            .where(
                col(PatronIdentifier.patron_id) == source.id,
                col(IdentifierType.network_unique).is_(True),
            )
        )
    ).scalars():
        clash = await session.scalar(
            select(pk(PatronIdentifier.id)).where(
                col(PatronIdentifier.institution_id) == copy.institution_id,
                col(PatronIdentifier.identifier_type_id) == identifier.identifier_type_id,
                col(PatronIdentifier.value_key) == identifier.value_key,
            )
        )
        if clash is None:
            session.add(
                PatronIdentifier(
                    patron_id=copy.id,
                    institution_id=copy.institution_id,
                    identifier_type_id=identifier.identifier_type_id,
                    value=identifier.value,
                    value_key=identifier.value_key,
                )
            )


async def _copy_photo(session: AsyncSession, copy: Patron, source: Patron, shared: bool) -> None:
    """The source's photo when it shares photos; otherwise the copy has none."""
    photo = await session.get(PatronPhoto, source.id) if shared else None
    existing = await session.get(PatronPhoto, copy.id)
    if photo is None:
        if existing is not None:
            await session.delete(existing)
        return
    if existing is None:
        session.add(
            PatronPhoto(
                patron_id=copy.id,  # type: ignore[arg-type]
                content_type=photo.content_type,
                width=photo.width,
                height=photo.height,
                byte_size=photo.byte_size,
                data=photo.data,
                updated_at=photo.updated_at,
            )
        )
        return
    existing.content_type = photo.content_type
    existing.width, existing.height = photo.width, photo.height
    existing.byte_size = photo.byte_size
    existing.data = photo.data
    existing.updated_at = photo.updated_at


async def _remove_copied_blocks(session: AsyncSession, copy: Patron) -> None:
    await session.execute(
        delete(PatronBlock).where(
            col(PatronBlock.patron_id) == copy.id, col(PatronBlock.origin) == "COPIED"
        )
    )


async def _replace_copied_blocks(session: AsyncSession, copy: Patron, source: Patron) -> None:
    """All COPIED blocks deleted; the source's current network blocks copied (local ones stay)."""
    await _remove_copied_blocks(session, copy)
    consortial = await network.block_type_by_code(
        session, copy.institution_id, network.CONSORTIAL_BLOCK
    )
    if consortial is None:
        return
    assert copy.id is not None
    assert consortial.id is not None
    source_institution = await session.get(Institution, source.institution_id)
    now = utcnow()
    for block, block_type in (
        await session.execute(
            select(PatronBlock, BlockType)
            .join(BlockType, col(BlockType.id) == col(PatronBlock.block_type_id))
            .where(col(PatronBlock.patron_id) == source.id, col(BlockType.network).is_(True))
            .order_by(col(PatronBlock.id))
        )
    ).all():
        if block.expires_at is not None and block.expires_at <= now:
            continue
        note = f"{block_type.description} ({source_institution.code if source_institution else 'home institution'})"
        if block.note:
            note = f"{note}: {block.note}"
        session.add(
            PatronBlock(
                patron_id=copy.id,
                block_type_id=consortial.id,
                note=note[:1000],
                origin="COPIED",
                expires_at=block.expires_at,
            )
        )


def _snapshot(copy: Patron) -> dict[str, object]:
    return {
        column: getattr(copy, column)
        for column in (
            *FIELD_COLUMNS.values(),
            "user_group_id",
            "expiry_date",
            "purge_date",
            "link_status",
            "link_rule_id",
        )
    } | {"expiry_date": str(copy.expiry_date), "purge_date": str(copy.purge_date)}


async def refresh_copy(
    *,
    session: AsyncSession,
    actor: Actor,
    copy: Patron,
    policies: dict[int, SourcePolicy] | None = None,
    action: str = "refresh_linked_account",
) -> Patron:
    """Bring a linked account up to date with its source, by the refresh semantics."""
    assert copy.id is not None
    before = _snapshot(copy)
    now = utcnow()
    today = clock.today()
    source = (
        await session.get(Patron, copy.link_source_patron_id)
        if copy.link_source_patron_id
        else None
    )
    if source is None:
        copy.link_status = "SOURCE_DELETED"
    else:
        policy = (policies or {}).get(source.institution_id) or (
            await source_policies(session, [source.institution_id])
        )[source.institution_id]
        if unavailable_reason(source, policy, today) is not None:
            copy.link_status = "SOURCE_UNAVAILABLE"
        else:
            await _copy_data(session, copy, source, policy)
            expired = copy.expiry_date is not None and copy.expiry_date < today
            rule = (
                await session.get(LinkedAccountRule, copy.link_rule_id)
                if copy.link_rule_id
                else None
            )
            if expired or rule is None:
                group_code = (
                    (await session.get(UserGroup, source.user_group_id)).code  # type: ignore[union-attr]
                    if source.user_group_id
                    else None
                )
                evaluation = await rule_service.evaluate(
                    session,
                    copy.institution_id,
                    policy.institution.code,
                    group_code,
                    source.expiry_date,
                )
                if evaluation is not None:
                    rule = evaluation.rule
                    copy.link_rule_id = rule.id
                    if expired:
                        copy.user_group_id = evaluation.user_group_id
            if rule is not None:
                if expired or rule.refresh_expiry_date:
                    copy.expiry_date = rule_service.expiry_for(rule, source.expiry_date)
                if (
                    expired
                    or rule.refresh_purge_date
                    # The expiry moved past the purge date (or went away): the purge
                    # date moves with it, whatever refreshPurgeDate says.
                    or (
                        copy.purge_date is not None
                        and (copy.expiry_date is None or copy.purge_date < copy.expiry_date)
                    )
                ):
                    copy.purge_date = rule_service.purge_for(rule, copy.expiry_date)
                if rule.copy_network_blocks:
                    await _replace_copied_blocks(session, copy, source)
                else:
                    # Copied under a rule that copied blocks (or before it stopped): nobody
                    # would ever replace them again, and only the source can lift them.
                    await _remove_copied_blocks(session, copy)
            copy.link_status = "ACTIVE"
    copy.refreshed_at = now
    copy.updated_at = now
    await session.flush()
    copy.version = await bump_version(session, copy.id)
    after = _snapshot(copy)
    await audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type="Patron",
        entity_id=copy.id,
        institution_id=copy.institution_id,
        changes=audit.diff(before, after),
    )
    return copy


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
    target = _require_linker(actor, desk="" if walk_in_checkout else None)
    if walk_in_checkout:
        reason = "WALK_IN"
    source_id = read_ref(await ref_key(session, settings), ref, target)
    source = await session.get(Patron, source_id) if source_id else None
    if source is None or source.institution_id == target:
        raise DomainError.of(
            ErrorCode.SOURCE_NOT_FOUND,
            "The patron was not found; search again.",
            ["input", "sourcePatron"],
        )
    policy = (await source_policies(session, [source.institution_id]))[source.institution_id]
    reason_text = unavailable_reason(source, policy, clock.today())
    if reason_text is None:
        reason_text = await _not_looked_up_by(session, target, source, policy)
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
        raise DomainError.of(ErrorCode.SOURCE_RESTRICTED, reason_text, ["input", "sourcePatron"])
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
    evaluation = await rule_service.evaluate(
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
    await _copy_data(session, copy, source, policy)
    session.add(PatronSystemGroup(patron_id=copy.id, system_group=SystemGroup.LIBRARY_USERS.value))  # type: ignore[arg-type]
    if evaluation.rule.copy_network_blocks:
        await _replace_copied_blocks(session, copy, source)
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
    target = _require_linker(actor)
    copy = await session.get(Patron, copy_id)
    if copy is None or copy.institution_id != target or copy.account_type != "LINKED":
        raise DomainError.of(
            ErrorCode.NOT_FOUND, "There is no such linked account.", ["input", "id"]
        )
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
            ["input", "id"],
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


# ---------------------------------------------------------------- live propagation


async def _live(session: AsyncSession) -> bool:
    mode = await session.scalar(
        select(col(Network.propagation_mode)).order_by(col(Network.id)).limit(1)
    )
    return mode != "ON_INTERACTION"


async def propagate_source(*, session: AsyncSession, actor: Actor, source_id: int) -> int:
    """Refresh every linked copy of a changed source in the current transaction (LIVE mode)."""
    if not await _live(session):
        return 0
    copies = list(
        (
            await session.execute(
                select(Patron).where(col(Patron.link_source_patron_id) == source_id)
            )
        ).scalars()
    )
    for copy in copies:
        await refresh_copy(
            session=session, actor=actor, copy=copy, action="propagate_source_change"
        )
    return len(copies)


async def mark_source_deleted(*, session: AsyncSession, actor: Actor, source_id: int) -> None:
    """Before a source is removed: its copies say SOURCE_DELETED (whatever the mode)."""
    copies = list(
        (
            await session.execute(
                select(Patron).where(col(Patron.link_source_patron_id) == source_id)
            )
        ).scalars()
    )
    for copy in copies:
        copy.link_status = "SOURCE_DELETED"
        copy.refreshed_at = utcnow()
        await audit.record(
            session=session,
            actor=actor,
            action="source_deleted",
            entity_type="Patron",
            entity_id=copy.id,
            institution_id=copy.institution_id,
            changes={"linkStatus": {"before": "ACTIVE", "after": "SOURCE_DELETED"}},
        )
    await session.flush()


async def propagate_institution(*, session: AsyncSession, actor: Actor, institution_id: int) -> int:
    """After a source institution's sharing policy changed: refresh copies of its patrons."""
    if not await _live(session):
        return 0
    policies = await source_policies(session, [institution_id])
    copies = list(
        (
            await session.execute(
                select(Patron).where(col(Patron.link_source_institution_id) == institution_id)
            )
        ).scalars()
    )
    for copy in copies:
        await refresh_copy(
            session=session,
            actor=actor,
            copy=copy,
            policies=policies,
            action="propagate_policy_change",
        )
    return len(copies)


async def linked_copies_count(session: AsyncSession, source_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Patron)
            .where(col(Patron.link_source_patron_id) == source_id)
        )
        or 0
    )


async def resource_sharing_library(session: AsyncSession, copy: Patron) -> int | None:
    """The library walk-in loans of a linked account are made at (its rule's), if any."""
    if copy.link_rule_id is None:
        return None
    rule = await session.get(LinkedAccountRule, copy.link_rule_id)
    return rule.resource_sharing_library_id if rule is not None else None


@events.listen(events.SOURCE_CHANGED)
async def _source_changed(*, session: AsyncSession, actor: Actor, source_id: int) -> None:
    await propagate_source(session=session, actor=actor, source_id=source_id)


events.listen(events.SOURCE_DELETED)(mark_source_deleted)
