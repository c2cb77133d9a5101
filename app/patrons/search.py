"""Finding patrons: search, filters, keyset pages, counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, tuple_, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes import service as attributes
from app.auth.policy import (
    Actor,
    can_read_patrons,
    require_authenticated,
)
from app.network import service as network
from app.patrons.models import (
    Patron,
    PatronIdentifier,
)
from app.sql import pk


@dataclass(frozen=True)
class PatronFilter:
    search: str | None = None
    home_library: str | None = None
    user_group: str | None = None
    account_type: str | None = None
    attribute_type: str | None = None
    attribute_value: str | None = None


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _filtered_query(
    session: AsyncSession, actor: Actor, institution_id: int, flt: PatronFilter
) -> Any | None:
    """The WHERE clauses of a patron search, or None when it cannot match anything."""
    clauses: list[Any] = [col(Patron.institution_id) == institution_id]
    if flt.home_library:
        library = await network.library_by_code(session, flt.home_library)
        if library is None or library.institution_id != institution_id:
            return None
        clauses.append(col(Patron.home_library_id) == library.id)
    if flt.user_group:
        group = await network.user_group_by_code(session, institution_id, flt.user_group)
        if group is None:
            return None
        clauses.append(col(Patron.user_group_id) == group.id)
    if flt.account_type:
        clauses.append(col(Patron.account_type) == flt.account_type)
    if flt.attribute_type:
        having = await attributes.filter_clause(
            session, actor, institution_id, flt.attribute_type, flt.attribute_value
        )
        if having is None:
            return None  # a type the actor may not see filters like one that does not exist
        clauses.append(having)
    if flt.search and flt.search.strip():
        term = flt.search.strip().lower()[:200]
        # Each way of matching is its own index lookup, and the patrons are those any of
        # them finds: an OR over one scan of the institution's patrons would read them
        # all when the term matches nothing (a barcode is no name prefix).
        matches = [
            select(col(PatronIdentifier.patron_id)).where(
                col(PatronIdentifier.institution_id) == institution_id,
                col(PatronIdentifier.value_key) == term,
            ),
        ]
        if not any(c.isspace() for c in term):
            # Usernames by prefix ("ava.ngu" finds ava.nguyen), on their own index.
            matches.append(
                select(pk(Patron.id)).where(
                    col(Patron.institution_id) == institution_id,
                    col(Patron.username_key).like(_escape_like(term) + "%", escape="\\"),
                )
            )
        name_clauses = []
        for token in term.split():
            pattern = _escape_like(token) + "%"
            name_clauses.append(
                or_(
                    col(Patron.surname_key).like(pattern, escape="\\"),
                    col(Patron.given_key).like(pattern, escape="\\"),
                    func.lower(col(Patron.preferred_name)).like(pattern, escape="\\"),
                )
            )
        if name_clauses:
            matches.append(
                select(pk(Patron.id)).where(
                    col(Patron.institution_id) == institution_id, *name_clauses
                )
            )
        clauses.append(col(Patron.id).in_(union(*matches)))
    return clauses


async def _readable_institution(
    session: AsyncSession, actor: Actor, institution_code: str
) -> int | None:
    """The id of the institution of this code if the actor may read its patrons, else None."""
    code = network.normalize_code(institution_code)
    if actor.kind != "system" and actor.institution_code is not None:
        # Staff and clients read the patrons of their own institution only, whose code
        # came with the token: no lookup, and any other code finds nothing.
        if code != actor.institution_code or actor.institution_id is None:
            return None
        return actor.institution_id if can_read_patrons(actor, actor.institution_id) else None
    institution = await network.institution_by_code(session, code)
    if institution is None or not can_read_patrons(actor, institution.id):  # type: ignore[arg-type]
        return None
    return institution.id


async def search_patrons(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    flt: PatronFilter,
    first: int,
    after: tuple[str, str, int] | None,
) -> tuple[list[Patron], bool]:
    """One page of an institution's patrons in name order (keyset); empty when not allowed."""
    require_authenticated(actor)
    institution_id = await _readable_institution(session, actor, institution_code)
    if institution_id is None:
        return [], False
    clauses = await _filtered_query(session, actor, institution_id, flt)
    if clauses is None:
        return [], False
    query = select(Patron).where(*clauses)
    if after is not None:
        query = query.where(
            tuple_(col(Patron.surname_key), col(Patron.given_key), col(Patron.id)) > tuple_(*after)
        )
    if flt.search and flt.search.strip():
        # The matches are found by index lookups, then sorted. In the name index's own
        # order, the planner would walk that index hoping to meet the matches early,
        # and read the whole institution when they sit together elsewhere (every
        # "smith" under S). Ordering by an expression (same values, same order) sorts
        # the matches instead.
        query = query.order_by(
            func.coalesce(col(Patron.surname_key), ""),
            func.coalesce(col(Patron.given_key), ""),
            col(Patron.id),
        )
    else:
        query = query.order_by(col(Patron.surname_key), col(Patron.given_key), col(Patron.id))
    query = query.limit(first + 1)
    rows = list((await session.execute(query)).scalars())
    return rows[:first], len(rows) > first


async def count_patrons(
    *, session: AsyncSession, actor: Actor, institution_code: str, flt: PatronFilter
) -> int:
    """How many patrons a search matches (0 when not allowed)."""
    require_authenticated(actor)
    institution_id = await _readable_institution(session, actor, institution_code)
    if institution_id is None:
        return 0
    clauses = await _filtered_query(session, actor, institution_id, flt)
    if clauses is None:
        return 0
    return int(await session.scalar(select(func.count()).select_from(Patron).where(*clauses)) or 0)
