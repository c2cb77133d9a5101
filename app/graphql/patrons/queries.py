"""Patron queries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import strawberry
from graphql import FieldNode, GraphQLError
from strawberry.types import Info

from app.graphql import typed
from app.graphql.compiled import Reading, Runner, plain_fields
from app.graphql.context import Context
from app.graphql.core import PageInfo, page_size
from app.graphql.dataloaders import MISSING
from app.graphql.ids import cursors, encode_id
from app.graphql.patrons.inputs import PatronFilter
from app.graphql.patrons.types import Patron, PatronConnection, PatronEdge
from app.patrons import search as service
from app.sql import saved_id

SEARCH_LIMIT = 200  # characters: longer than any identifier, username or name


def _filter(flt: PatronFilter | None) -> service.PatronFilter:
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
        flt = _filter(filter)
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


# -- the compiled read (app.graphql.compiled): a page of patrons from one statement, for
# queries asking only for these fields of the nodes (output name -> Patron attribute).
LIGHT_FIELDS = {
    "givenName": "given_name",
    "middleName": "middle_name",
    "preferredName": "preferred_name",
    "surname": "surname",
    "username": "username",
    "primaryEmail": "primary_email",
    "phone": "phone",
    "cohort": "cohort",
    "formClass": "form_class",
    "enabled": "enabled",
    "isStaff": "is_staff",
    "isGeneric": "is_generic",
    "until": "until",
    "expiryDate": "expiry_date",
    "purgeDate": "purge_date",
}
DATE_FIELDS = frozenset({"until", "expiryDate", "purgeDate"})
LIGHT_USER_GROUP_FIELDS = {"code": "code", "name": "name", "loanPeriodDays": "loan_period_days"}
# What __typename answers at each level of the page.
TYPENAMES = ("PatronConnection", "PatronEdge", "Patron", "UserGroup")

Build = Callable[[Sequence[Any]], Any]


def _iso(value: Any) -> Any:
    return None if value is None else value.isoformat()


class _Columns:
    """The columns a compiled page reads, in the order of its rows (search.Light)."""

    def __init__(self) -> None:
        self.columns: list[str] = []
        self.barcode = False
        self.user_group: list[str] = []

    def light(self) -> service.Light:
        return service.Light(tuple(self.columns), self.barcode, tuple(self.user_group))

    def column(self, name: str) -> Callable[[], int]:
        """The index of a Patron column in the row, once every column is known."""
        if name not in self.columns:
            self.columns.append(name)
        return lambda: 1 + self.columns.index(name)

    def barcode_index(self) -> Callable[[], int]:
        self.barcode = True
        return lambda: 1 + len(self.columns)

    def user_group_index(self, name: str | None) -> Callable[[], int]:
        """The index of a user group column (None: its id), once every column is known."""
        # The user group is joined when any of its columns is read: its code at least.
        for column in ("code", name):
            if column is not None and column not in self.user_group:
                self.user_group.append(column)
        start = lambda: 1 + len(self.columns) + int(self.barcode)  # noqa: E731
        if name is None:
            return start
        return lambda: start() + 1 + self.user_group.index(name)


def _object(fields: list[tuple[str, Callable[[], Build]]]) -> Callable[[], Build]:
    """An output object of these (key, value builder) pairs, each built once indices
    are known."""

    def bind() -> Build:
        bound = [(key, make()) for key, make in fields]
        return lambda row: {key: build(row) for key, build in bound}

    return bind


def _constant(value: Any) -> Callable[[], Build]:
    return lambda: lambda _row: value


def _at(
    index: Callable[[], int], convert: Callable[[Any], Any] | None = None
) -> Callable[[], Build]:
    def bind() -> Build:
        position = index()
        if convert is None:
            return lambda row: row[position]
        return lambda row: convert(row[position])

    return bind


def _user_group(node: FieldNode, columns: _Columns) -> Callable[[], Build] | None:
    fields = plain_fields(node.selection_set)
    if fields is None or node.arguments:
        return None
    built: list[tuple[str, Callable[[], Build]]] = []
    present = columns.user_group_index(None)
    for key, field in fields:
        name = field.name.value
        if name == "__typename":
            built.append((key, _constant(TYPENAMES[3])))
        elif name == "id":
            built.append((key, _at(present, lambda v: encode_id("UserGroup", v))))
        elif name in LIGHT_USER_GROUP_FIELDS:
            built.append((key, _at(columns.user_group_index(LIGHT_USER_GROUP_FIELDS[name]))))
        else:
            return None
    group = _object(built)

    def bind() -> Build:
        position, build = present(), group()
        return lambda row: None if row[position] is None else build(row)

    return bind


def _node(node: FieldNode, columns: _Columns) -> Callable[[], Build] | None:
    fields = plain_fields(node.selection_set)
    if fields is None:
        return None
    built: list[tuple[str, Callable[[], Build]]] = []
    for key, field in fields:
        name = field.name.value
        if field.arguments:
            return None
        if name == "__typename":
            built.append((key, _constant(TYPENAMES[2])))
        elif name == "id":
            built.append((key, _at(lambda: 0, lambda v: encode_id("Patron", v))))
        elif name == "barcode":
            built.append((key, _at(columns.barcode_index())))
        elif name == "userGroup":
            group = _user_group(field, columns)
            if group is None:
                return None
            built.append((key, group))
        elif name in LIGHT_FIELDS:
            convert = _iso if name in DATE_FIELDS else None
            built.append((key, _at(columns.column(LIGHT_FIELDS[name]), convert)))
        else:
            return None
    return _object(built)


def _list_of(
    node: FieldNode, level: int, inner: Callable[[FieldNode], Callable[[], Build] | None]
) -> Callable[[], Callable[[list[Any]], Any]] | None:
    """An object of a page (the connection, level 0, or an edge, level 1) whose fields
    are __typename and `inner`'s one field (edges, node)."""
    fields = plain_fields(node.selection_set)
    if fields is None:
        return None
    built: list[tuple[str, Callable[[], Build]]] = []
    for key, field in fields:
        if field.name.value == "__typename" and not field.arguments:
            built.append((key, _constant(TYPENAMES[level])))
            continue
        made = inner(field)
        if made is None:
            return None
        built.append((key, made))
    return _object(built)


def compile_patrons(root: FieldNode) -> Runner | None:
    """The plan of `patrons(institution, filter, first) { edges { node { ... } } }` with
    node fields of LIGHT_FIELDS, id, barcode and userGroup (code, name, loanPeriodDays,
    id), __typename at any level; None for anything else (cursors, pageInfo, totalCount,
    after, other fields)."""
    if any(a.name.value not in {"institution", "filter", "first"} for a in root.arguments):
        return None
    columns = _Columns()

    def node_of(edge_field: FieldNode) -> Callable[[], Build] | None:
        if edge_field.name.value != "node" or edge_field.arguments:
            return None
        return _node(edge_field, columns)

    def edges_of(field: FieldNode) -> Callable[[], Build] | None:
        if field.name.value != "edges" or field.arguments:
            return None
        edge = _list_of(field, 1, node_of)
        if edge is None:
            return None

        def bind() -> Build:
            build = edge()
            return lambda rows: [build(row) for row in rows]

        return bind

    connection = _list_of(root, 0, edges_of)
    if connection is None:
        return None
    build = connection()
    light = columns.light()

    async def run(reading: Reading, args: dict[str, Any]) -> Any:
        settings = reading.settings
        size = page_size(args.get("first"), 20, settings.max_page_size)
        flt = _filter(args.get("filter"))
        async with reading.db.use() as session:
            rows, _ = await service.search_light(
                session=session,
                actor=reading.actor,
                institution_code=args["institution"],
                flt=flt,
                first=size,
                light=light,
            )
        return build(rows)

    return run
