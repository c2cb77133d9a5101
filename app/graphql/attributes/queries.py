"""Attribute queries: the discrepancy report."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry
from strawberry.types import Info

from app.attributes import discrepancies
from app.graphql import typed
from app.graphql.attributes.types import AttributeDiscrepancyKind
from app.graphql.context import Context
from app.graphql.core import PageInfo, page_size
from app.graphql.ids import cursors
from app.graphql.patrons.types import Patron, PatronConnection, PatronEdge


@strawberry.type
class AttributeQueries:
    @typed.field(
        description="Patrons whose value disagrees with the type's home-library rule, by id; "
        "for sessions allowed to see the type."
    )
    async def attribute_discrepancies(
        self,
        info: Info[Context, None],
        attribute_type: Annotated[
            str,
            strawberry.argument(description="Code of an attribute type with a home-library rule."),
        ],
        kind: Annotated[
            AttributeDiscrepancyKind, strawberry.argument(description="Which disagreement to list.")
        ],
        first: Annotated[
            int | None, strawberry.argument(description="Page size: default 20, at most 100.")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> PatronConnection:
        ctx = info.context
        # strawberry replaces the enum_value() definitions by their values
        kind_value = cast(str, kind.value)
        size = page_size(first, 20, ctx.settings.max_page_size)
        sealed = await cursors(info, "attributeDiscrepancies", attribute_type.upper(), kind_value)
        found = sealed.position(after, int)
        after_id = int(found[0]) if found else None
        async with ctx.db.use() as session:
            rows, has_next = await discrepancies.discrepancies(
                session=session,
                actor=ctx.actor,
                type_code=attribute_type,
                kind=kind_value,
                first=size,
                after_id=after_id,
            )

        async def count() -> int:
            async with ctx.db.use() as session:
                return await discrepancies.count_discrepancies(
                    session=session, actor=ctx.actor, type_code=attribute_type, kind=kind_value
                )

        edges = [PatronEdge(cursor=sealed.encode(r.id), node=Patron.of(r)) for r in rows]
        return PatronConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next,
                has_previous_page=after_id is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            count=count,
        )
