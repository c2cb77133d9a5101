"""Patron.loans."""

from __future__ import annotations

from strawberry.types import Info

from app.circulation import service
from app.graphql.circulation.types import Loan, LoanConnection, LoanEdge
from app.graphql.context import Context
from app.graphql.core import PageInfo, page_size
from app.graphql.ids import cursors
from app.patrons.models import Patron


async def patron_loans(
    info: Info[Context, None],
    patron: Patron,
    *,
    first: int | None,
    after: str | None,
    active: bool | None,
) -> LoanConnection:
    ctx = info.context
    size = page_size(first, 20, ctx.settings.max_page_size)
    sealed = await cursors(info, "loans", patron.id, active)
    found = sealed.position(after, int)
    after_id = int(found[0]) if found else None
    async with ctx.db.use() as session:
        rows, has_next, total = await service.loans_page(
            session=session,
            actor=ctx.actor,
            patron=patron,
            active=active,
            first=size,
            after_id=after_id,
        )
    edges = [LoanEdge(cursor=sealed.encode(r.id), node=Loan.of(r)) for r in rows]
    return LoanConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=after_id is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=total,
    )
