"""Finding patrons: search, filters, keyset pages, counts."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, or_, select, tuple_, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes import service as attributes
from app.auth.policy import (
    Actor,
    can_read_patrons,
    require_authenticated,
)
from app.db import fetch_rows
from app.network import service as network
from app.network.models import IdentifierType, UserGroup
from app.network.service import BARCODE
from app.patrons.models import (
    Patron,
    PatronIdentifier,
)
from app.sql import StartsWith, pk, prefix_range


@dataclass(frozen=True)
class PatronFilter:
    search: str | None = None
    home_library: str | None = None
    user_group: str | None = None
    account_type: str | None = None
    attribute_type: str | None = None
    attribute_value: str | None = None


# The longest name or username a patron has (their columns' length).
NAME_LENGTH = 200


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class _Shape:
    """What a search looks like, without its values: its statement is built once."""

    home_library: bool = False
    user_group: bool = False
    account_type: bool = False
    tokens: int = 0  # name tokens of the search term (0: no search)
    username: bool = False  # the term is one word: usernames by prefix too


@dataclass
class _Search:
    shape: _Shape
    params: dict[str, Any]
    extra: Any | None = None  # a clause with its values in it (the attribute filter)


async def _prepare(
    session: AsyncSession, actor: Actor, institution_id: int, flt: PatronFilter
) -> _Search | None:
    """The shape and the values of a patron search, or None when it cannot match."""
    params: dict[str, Any] = {"institution_id": institution_id}
    shape: dict[str, Any] = {}
    if flt.home_library:
        library = await network.library_by_code(session, flt.home_library)
        if library is None or library.institution_id != institution_id:
            return None
        shape["home_library"], params["home_library_id"] = True, library.id
    if flt.user_group:
        group = await network.user_group_by_code(session, institution_id, flt.user_group)
        if group is None:
            return None
        shape["user_group"], params["user_group_id"] = True, group.id
    if flt.account_type:
        shape["account_type"], params["account_type"] = True, flt.account_type
    extra = None
    if flt.attribute_type:
        extra = await attributes.filter_clause(
            session, actor, institution_id, flt.attribute_type, flt.attribute_value
        )
        if extra is None:
            return None  # a type the actor may not see filters like one that does not exist
    if flt.search and flt.search.strip():
        term = flt.search.strip().lower()[:200]
        tokens = term.split()
        params["term"] = term
        for index, token in enumerate(tokens):
            params[f"name_{index}"] = _escape_like(token) + "%"
            params[f"name_{index}_low"], params[f"name_{index}_high"] = prefix_range(
                token, NAME_LENGTH
            )
        shape["tokens"] = len(tokens)
        if len(tokens) == 1:
            shape["username"] = True
            params["username_prefix"] = _escape_like(term) + "%"
            params["username_low"], params["username_high"] = prefix_range(term, NAME_LENGTH)
    return _Search(_Shape(**shape), params, extra)


def _clauses(shape: _Shape) -> list[Any]:
    """The WHERE clauses of a search of this shape, its values as bound parameters."""
    institution_id: Any = bindparam("institution_id")
    clauses: list[Any] = [col(Patron.institution_id) == institution_id]
    if shape.home_library:
        clauses.append(col(Patron.home_library_id) == bindparam("home_library_id"))
    if shape.user_group:
        clauses.append(col(Patron.user_group_id) == bindparam("user_group_id"))
    if shape.account_type:
        clauses.append(col(Patron.account_type) == bindparam("account_type"))
    if shape.tokens:
        # Each way of matching is its own index lookup, and the patrons are those any of
        # them finds: an OR over one scan of the institution's patrons would read them
        # all when the term matches nothing (a barcode is no name prefix).
        matches: list[Any] = [
            select(col(PatronIdentifier.patron_id)).where(
                col(PatronIdentifier.institution_id) == institution_id,
                col(PatronIdentifier.value_key) == bindparam("term"),
            )
        ]
        if shape.username:
            # Usernames by prefix ("ava.ngu" finds ava.nguyen), on their own index.
            matches.append(
                select(pk(Patron.id)).where(
                    col(Patron.institution_id) == institution_id,
                    StartsWith(
                        col(Patron.username_key),
                        bindparam("username_prefix"),
                        bindparam("username_low"),
                        bindparam("username_high"),
                    ),
                )
            )
        name_clauses = []
        for index in range(shape.tokens):
            bounds: tuple[Any, Any, Any] = (
                bindparam(f"name_{index}"),
                bindparam(f"name_{index}_low"),
                bindparam(f"name_{index}_high"),
            )
            name_clauses.append(
                or_(
                    StartsWith(col(Patron.surname_key), *bounds),
                    StartsWith(col(Patron.given_key), *bounds),
                    StartsWith(func.lower(col(Patron.preferred_name)), *bounds),
                )
            )
        matches.append(
            select(pk(Patron.id)).where(col(Patron.institution_id) == institution_id, *name_clauses)
        )
        clauses.append(col(Patron.id).in_(union(*matches)))
    return clauses


# A patron's barcode, as a column of the page (a correlated subquery: a lookup by barcode
# that shows the barcode is then one statement, not two).
_BARCODE: Any = (
    select(col(PatronIdentifier.value))
    .join(IdentifierType, col(IdentifierType.id) == PatronIdentifier.identifier_type_id)
    .where(col(PatronIdentifier.patron_id) == Patron.id, col(IdentifierType.code) == BARCODE)
    .order_by(col(PatronIdentifier.id))
    .limit(1)
    .correlate(Patron)
    .scalar_subquery()
)


@dataclass(frozen=True)
class With:
    """What a page brings along with each patron, in the same statement."""

    barcode: bool = False
    user_group: bool = False


@dataclass
class Page:
    patrons: list[Patron]
    has_next: bool
    # Brought along as With asked: patron id -> barcode (or None); the user groups.
    barcodes: dict[int, str | None] = field(default_factory=dict)
    user_groups: list[UserGroup] = field(default_factory=list)


def _paged(query: Select[Any], shape: _Shape, after: bool) -> Select[Any]:
    """A page of a search of this shape, in name order (keyset), of what `query` selects."""
    query = query.where(*_clauses(shape))
    if after:
        query = query.where(
            tuple_(col(Patron.surname_key), col(Patron.given_key), col(Patron.id))
            > tuple_(bindparam("after_surname"), bindparam("after_given"), bindparam("after_id"))
        )
    if shape.tokens:
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
    return query.limit(bindparam("limit", type_=Integer))


@functools.lru_cache(maxsize=256)
def _page_statement(shape: _Shape, after: bool, with_: With = With()) -> Select[Any]:
    """One page of a search of this shape: the patrons, with what `with_` asks."""
    columns: list[Any] = [Patron]
    if with_.user_group:
        columns.append(UserGroup)
    if with_.barcode:
        columns.append(_BARCODE)
    query = select(*columns).select_from(Patron)
    if with_.user_group:
        query = query.outerjoin(UserGroup, col(UserGroup.id) == Patron.user_group_id)
    return _paged(query, shape, after)


@dataclass(frozen=True)
class Light:
    """The plain columns a light page brings of each patron, as a row: the patron's id,
    then `columns` of Patron (attribute names), the barcode if asked, then the user
    group's id and `user_group` columns of UserGroup if any are asked (the id is None
    for a patron without a group)."""

    columns: tuple[str, ...] = ()
    barcode: bool = False
    user_group: tuple[str, ...] = ()


@functools.lru_cache(maxsize=256)
def _light_statement(shape: _Shape, light: Light) -> Select[Any]:
    columns: list[Any] = [pk(Patron.id), *(col(getattr(Patron, c)) for c in light.columns)]
    if light.barcode:
        columns.append(_BARCODE)
    if light.user_group:
        columns.append(col(UserGroup.id))
        columns.extend(col(getattr(UserGroup, c)) for c in light.user_group)
    query = select(*columns).select_from(Patron)
    if light.user_group:
        query = query.outerjoin(UserGroup, col(UserGroup.id) == Patron.user_group_id)
    return _paged(query, shape, after=False)


@functools.lru_cache(maxsize=256)
def _count_statement(shape: _Shape) -> Select[int]:
    return select(func.count()).select_from(Patron).where(*_clauses(shape))


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
    with_: With = With(),
) -> Page:
    """One page of an institution's patrons in name order (keyset); empty when not allowed."""
    require_authenticated(actor)
    institution_id = await _readable_institution(session, actor, institution_code)
    if institution_id is None:
        return Page([], False)
    search = await _prepare(session, actor, institution_id, flt)
    if search is None:
        return Page([], False)
    query = _page_statement(search.shape, after is not None, with_)
    if search.extra is not None:
        query = query.where(search.extra)
    params = {**search.params, "limit": first + 1}
    if after is not None:
        params["after_surname"], params["after_given"], params["after_id"] = after
    rows = (await session.execute(query, params)).all()[: first + 1]
    page = Page([row[0] for row in rows[:first]], len(rows) > first)
    for row in rows[:first]:
        if with_.user_group and row[1] is not None:
            page.user_groups.append(row[1])
        if with_.barcode:
            page.barcodes[row[0].id] = row[-1]
    return page


async def search_light(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    flt: PatronFilter,
    first: int,
    light: Light,
) -> tuple[list[Sequence[Any]], bool]:
    """The first page of a search as plain rows (see Light), and whether more follow: the
    same patrons, in the same order, under the same rules as search_patrons, read
    without building a Patron per row."""
    require_authenticated(actor)
    institution_id = await _readable_institution(session, actor, institution_code)
    if institution_id is None:
        return [], False
    search = await _prepare(session, actor, institution_id, flt)
    if search is None:
        return [], False
    query = _light_statement(search.shape, light)
    params = {**search.params, "limit": first + 1}
    if search.extra is None:
        rows = list(await fetch_rows(session, query, params))
    else:
        rows = list((await session.execute(query.where(search.extra), params)).all())
    return rows[:first], len(rows) > first


async def count_patrons(
    *, session: AsyncSession, actor: Actor, institution_code: str, flt: PatronFilter
) -> int:
    """How many patrons a search matches (0 when not allowed)."""
    require_authenticated(actor)
    institution_id = await _readable_institution(session, actor, institution_code)
    if institution_id is None:
        return 0
    search = await _prepare(session, actor, institution_id, flt)
    if search is None:
        return 0
    query = _count_statement(search.shape)
    if search.extra is not None:
        query = query.where(search.extra)
    return int(await session.scalar(query, search.params) or 0)
