"""The compiled read of `patrons` (app.graphql.compiled): a page of patrons from one
statement, and one more for each per-patron list asked for."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from graphql import FieldNode

from app.graphql.compiled import Reading, Runner, TooLarge, plain_fields
from app.graphql.core import page_size
from app.graphql.ids import encode_id
from app.graphql.patrons.queries import domain_filter
from app.patrons import queries as patron_rows
from app.patrons import search as service

# The fields of a Patron answered from the columns of its row (output name -> attribute).
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
        # Per-patron lists (app.patrons.queries.LIGHT_RELATIONS), after the columns.
        self.relations: list[str] = []
        # How many times each list is asked for ("edges" and the relations, aliases and
        # all): what the answer's lists hold in all, as the general path counts it.
        self.lists: Counter[str] = Counter()

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

        def start() -> int:
            return 1 + len(self.columns) + int(self.barcode)

        if name is None:
            return start
        return lambda: start() + 1 + self.user_group.index(name)

    def relation_index(self, name: str) -> Callable[[], int]:
        """The index of a per-patron list, appended to the row once it is read."""
        if name not in self.relations:
            self.relations.append(name)

        def index() -> int:
            group = 1 + len(self.user_group) if self.user_group else 0
            return 1 + len(self.columns) + int(self.barcode) + group + self.relations.index(name)

        return index


def _fields(node: FieldNode) -> list[tuple[str, str, FieldNode]] | None:
    """The fields asked of an object as (response key, name, field), or None unless each
    is a plain field without arguments (plain_fields)."""
    fields = plain_fields(node.selection_set)
    if fields is None or any(field.arguments for _, field in fields):
        return None
    return [(key, field.name.value, field) for key, field in fields]


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
    fields = _fields(node)
    if fields is None or node.arguments:
        return None
    built: list[tuple[str, Callable[[], Build]]] = []
    present = columns.user_group_index(None)
    for key, name, _field in fields:
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


# The items of the per-patron lists, from their rows (app.patrons.queries.LIGHT_RELATIONS):
# the item's __typename and its fields by output name -> (position in the row,
# conversion), or a nested object (__typename, fields) read from the same row.
Spec = tuple[str, dict[str, Any]]
RELATIONS: dict[str, Spec] = {
    "identifiers": (
        "Identifier",
        {
            "value": (1, None),
            "type": (
                "IdentifierType",
                {"code": (2, None), "name": (3, None), "networkUnique": (4, None)},
            ),
        },
    ),
    "blocks": (
        "PatronBlock",
        {
            "id": (1, lambda v: encode_id("PatronBlock", v)),
            "note": (2, None),
            "origin": (3, None),
            "createdAt": (4, _iso),
            "expiresAt": (5, _iso),
            "type": (
                "BlockType",
                {
                    "code": (6, None),
                    "description": (7, None),
                    "network": (8, None),
                    "blocksLoans": (9, None),
                },
            ),
        },
    ),
}


def _fixed(node: FieldNode, typename: str, spec: dict[str, Any]) -> Callable[[], Build] | None:
    """An object whose fields sit at fixed positions of a row (see RELATIONS)."""
    fields = _fields(node)
    if fields is None:
        return None
    built: list[tuple[str, Callable[[], Build]]] = []
    for key, name, field in fields:
        entry = spec.get(name)
        if name == "__typename":
            built.append((key, _constant(typename)))
        elif entry is None:
            return None
        elif isinstance(entry[1], dict):
            inner = _fixed(field, *entry)
            if inner is None:
                return None
            built.append((key, inner))
        else:
            position, convert = entry
            built.append((key, _at(_fixed_index(position), convert)))
    return _object(built)


def _fixed_index(position: int) -> Callable[[], int]:
    return lambda: position


def _list_at(index: Callable[[], int], item: Callable[[], Build]) -> Callable[[], Build]:
    def bind() -> Build:
        position, build = index(), item()
        return lambda row: [build(child) for child in row[position]]

    return bind


def _node(node: FieldNode, columns: _Columns) -> Callable[[], Build] | None:
    fields = _fields(node)
    if fields is None:
        return None
    built: list[tuple[str, Callable[[], Build]]] = []
    for key, name, field in fields:
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
        elif name in RELATIONS:
            item = _fixed(field, *RELATIONS[name])
            if item is None:
                return None
            built.append((key, _list_at(columns.relation_index(name), item)))
            columns.lists[name] += 1
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
    fields = _fields(node)
    if fields is None:
        return None
    built: list[tuple[str, Callable[[], Build]]] = []
    for key, name, field in fields:
        if name == "__typename":
            built.append((key, _constant(TYPENAMES[level])))
            continue
        made = inner(field)
        if made is None:
            return None
        built.append((key, made))
    return _object(built)


def compile_patrons(root: FieldNode) -> Runner | None:
    """The plan of `patrons(institution, filter, first) { edges { node { ... } } }` with
    node fields of LIGHT_FIELDS, id, barcode, userGroup (code, name, loanPeriodDays, id)
    and the lists of RELATIONS (identifiers, blocks), __typename at any level; None for
    anything else (cursors, pageInfo, totalCount, after, other fields)."""
    if any(a.name.value not in {"institution", "filter", "first"} for a in root.arguments or ()):
        return None
    columns = _Columns()

    def node_of(edge_field: FieldNode) -> Callable[[], Build] | None:
        if edge_field.name.value != "node":
            return None
        return _node(edge_field, columns)

    def edges_of(field: FieldNode) -> Callable[[], Build] | None:
        if field.name.value != "edges":
            return None
        columns.lists["edges"] += 1
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
    light, relations = columns.light(), tuple(columns.relations)
    counted = columns.lists

    async def run(reading: Reading, args: dict[str, Any]) -> Any:
        settings = reading.settings
        size = page_size(args.get("first"), 20, settings.max_page_size)
        flt = domain_filter(args.get("filter"))
        async with reading.db.use() as session:
            rows, _ = await service.search_light(
                session=session,
                actor=reading.actor,
                institution_code=args["institution"],
                flt=flt,
                first=size,
                light=light,
            )
            if relations and rows:
                ids = [row[0] for row in rows]
                lists = [await patron_rows.light_relation(session, name, ids) for name in relations]
                rows = [(*row, *(found.get(row[0], []) for found in lists)) for row in rows]
        items = counted["edges"] * len(rows)
        if rows:
            first_list = len(rows[0]) - len(relations)  # the relations end each row
            for offset, name in enumerate(relations, start=first_list):
                items += counted[name] * sum(len(row[offset]) for row in rows)
        if items > settings.max_cost:
            raise TooLarge(items)  # the general path refuses it (RESULT_TOO_LARGE)
        return build(rows)

    return run
