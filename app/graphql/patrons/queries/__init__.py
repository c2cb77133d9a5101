"""Patron queries (their compiled read: .compiled)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import PageInfo, page_size
from app.graphql.dataloaders import MISSING
from app.graphql.ids import cursors
from app.graphql.patrons.inputs import PatronFilter
from app.graphql.patrons.types import Patron, PatronConnection, PatronEdge
from app.patrons import search as service
from app.sql import saved_id

SEARCH_LIMIT = 200  # characters: longer than any identifier, username or name


def domain_filter(flt: PatronFilter | None) -> service.PatronFilter:
    if flt is None:
        return service.PatronFilter()
    if flt.search is not None and len(flt.search.strip()) > SEARCH_LIMIT:
        raise GraphQLError(
            f"The search term has {len(flt.search.strip())} characters; at most {SEARCH_LIMIT}.",
            extensions={"code": "INVALID_INPUT"},
        )
    return service.PatronFilter(
        search=flt.search,
        home_library=flt.home_library,
        user_group=flt.user_group,
        account_type=flt.account_type.value if flt.account_type else None,
        attribute_type=flt.attribute.type if flt.attribute else None,
        attribute_value=flt.attribute.value if flt.attribute else None,
    )


# Relations of a page of patrons loaded before its fields resolve, by the fields that
# read them (the fields then resolve synchronously from what is in hand), by patron id
# (the barcode and the user group come with the page itself: app.patrons.search.With),
PREFETCHED_BY = {
    "adminSystemId": "identifiers_by_patron_id",
    "identifiers": "identifiers_by_patron_id",
    "blocks": "blocks_by_patron_id",
}
# and the to-one references by their own ids.
REFERENCES_BY = {
    "userGroup": "user_group",
    "homeLibrary": "home_library",
    "institution": "institution",
}


def _node_fields(selected: list[Any]) -> set[str]:
    """The fields asked of the connection's nodes (`edges { node { ... } }`), through
    fragments too."""
    found: set[str] = set()

    def walk(selections: list[Any], path: tuple[str, ...]) -> None:
        for selection in selections:
            name: str = getattr(selection, "name", "")
            inner = getattr(selection, "selections", None) or []
            if not hasattr(selection, "arguments"):  # a fragment: same level
                walk(inner, path)
            elif path == ("edges", "node"):
                found.add(name)
            elif len(path) < 2:
                walk(inner, (*path, name))

    for field in selected:
        walk(field.selections, ())
    return found


def _prefetched(fields: set[str]) -> set[str]:
    return {PREFETCHED_BY[f] for f in fields if f in PREFETCHED_BY}


@strawberry.type
class PatronQueries:
    @typed.field(
        description="Patrons of an institution in name order; empty unless you may read them."
    )
    async def patrons(
        self,
        info: Info[Context, None],
        institution: Annotated[
            str, strawberry.argument(description="Institution code, e.g. NEKLS.")
        ],
        filter: Annotated[
            PatronFilter | None,
            strawberry.argument(
                description="Narrows the list; omitted: every patron you may read."
            ),
        ] = None,
        first: Annotated[
            int | None, strawberry.argument(description="Page size: default 20, at most 100.")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`endCursor` of the previous page.")
        ] = None,
    ) -> PatronConnection:
        ctx = info.context
        size = page_size(first, 20, ctx.settings.max_page_size)
        flt = domain_filter(filter)
        sealed = await cursors(info, "patrons", institution.strip().upper(), flt)
        found = sealed.position(after, str, str, int)
        position = (str(found[0]), str(found[1]), int(found[2])) if found else None
        async with ctx.db.use() as session:
            fields = _node_fields(info.selected_fields)
            page = await service.search_patrons(
                session=session,
                actor=ctx.actor,
                institution_code=institution,
                flt=flt,
                first=size,
                after=position,
                with_=service.With(barcode="barcode" in fields, user_group="userGroup" in fields),
            )
        rows, has_next = page.patrons, page.has_next

        async def count() -> int:
            async with ctx.db.use() as session:
                return await service.count_patrons(
                    session=session, actor=ctx.actor, institution_code=institution, flt=flt
                )

        for group in page.user_groups:
            ctx.loaders.user_group_by_id.prime(saved_id(group), group)
        wanted = _prefetched(fields)
        references = {REFERENCES_BY[f] for f in fields if f in REFERENCES_BY} - {"user_group"}
        if len(references) > 1 or (references and "linkedFrom" in fields):
            # Several references (or the link's, which linkedFrom reads): all of them in
            # one statement (the references join) rather than one statement each.
            wanted.add("references_by_patron_id")
            references = set()
        if rows and (wanted or references):
            await asyncio.gather(
                ctx.loaders.prefetch(wanted, [saved_id(r) for r in rows]),
                ctx.loaders.prefetch_references(references, rows),
            )
        edges = [
            PatronEdge(
                cursor=sealed.encode(r.surname_key, r.given_key, r.id),
                node=Patron.of(r, barcode=page.barcodes.get(saved_id(r), MISSING)),
            )
            for r in rows
        ]
        return PatronConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=has_next,
                has_previous_page=position is not None,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            count=count,
        )
