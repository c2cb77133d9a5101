"""A prototype of the change the discrepancy reports need to scale (not used by the app).

`bench.attribute_reports --proposed` times these in place of the service functions, on
the same data, so the effect of the change can be measured before it is made in app/:

1. Two covering indexes on patron (PROPOSED_INDEXES), so that the in-scope patrons
   (MISSING_IN_SCOPE) and the institution's patrons with their home library
   (PRESENT_OUT_OF_SCOPE) are read from an index alone, in id order.
2. The page query finds the discrepancies first (a MATERIALIZED CTE: an anti/semi
   join of those index-only scans with ix_patron_attribute_type_value) and only then
   orders and limits them, instead of `ORDER BY patron.id LIMIT n` over the filtered
   patron table. The latter walks pk_patron until it has n matches: a few ms while
   discrepancies are common, the whole patron table when they are rare (the normal
   state once librarians have worked through the report).
3. Custom plans (`SET LOCAL plan_cache_mode = force_custom_plan`): asyncpg prepares
   each statement once per connection, and from the sixth run PostgreSQL may switch to
   a generic plan that cannot see how large the scope is (estimated 18 rows instead of
   about 31,600 in-scope patrons at 1M) and reads every in-scope patron's heap row.
"""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.attributes import service
from app.auth.policy import Actor
from app.patrons.models import Patron

PROPOSED_INDEXES = {
    # MISSING_IN_SCOPE: the in-scope libraries' patrons in id order, index-only.
    # (It also serves the home_library_id foreign key, so it can replace
    # ix_patron_home_library_id.)
    "bench_patron_home_library_report": "CREATE INDEX IF NOT EXISTS "
    "bench_patron_home_library_report ON patron (home_library_id, id) "
    "INCLUDE (institution_id, account_type, user_group_id)",
    # PRESENT_OUT_OF_SCOPE: the institution's patrons in id order with their home library.
    "bench_patron_institution_report": "CREATE INDEX IF NOT EXISTS "
    "bench_patron_institution_report ON patron (institution_id, id) "
    "INCLUDE (home_library_id, account_type)",
}


async def _custom_plans(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


async def discrepancies(
    *,
    session: AsyncSession,
    actor: Actor,
    type_code: str,
    kind: str,
    first: int,
    after_id: int | None,
) -> tuple[list[Patron], bool]:
    """As service.discrepancies, with the discrepancies found before they are ordered."""
    info = await service._report_type(session, actor, type_code)
    if info is None:
        return [], False
    await _custom_plans(session)
    ids = select(Patron.id).where(*service._discrepancy_clauses(info, kind))
    if after_id is not None:
        ids = ids.where(Patron.id > after_id)
    found = ids.cte("discrepancy").prefix_with("MATERIALIZED")
    page = (
        select(found.c.id)
        .order_by(found.c.id)
        .limit(first + 1)
        .cte("page")
        .prefix_with("MATERIALIZED")
    )
    query = select(Patron).join(page, page.c.id == Patron.id).order_by(Patron.id)
    rows = list((await session.execute(query)).scalars())
    return rows[:first], len(rows) > first


async def count_discrepancies(
    *, session: AsyncSession, actor: Actor, type_code: str, kind: str
) -> int:
    """As service.count_discrepancies, planned for the actual scope."""
    info = await service._report_type(session, actor, type_code)
    if info is None:
        return 0
    await _custom_plans(session)
    query = (
        select(func.count()).select_from(Patron).where(*service._discrepancy_clauses(info, kind))
    )
    return int(await session.scalar(query) or 0)
