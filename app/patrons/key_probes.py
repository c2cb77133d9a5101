"""Looking up a batch of keys (an import's 1,000 match keys, usernames or identifiers) with
one statement whose plan does not depend on the tables' statistics.

`column IN (1,000 values)` is planned from the statistics: once a table holds a few
hundred thousand rows, PostgreSQL estimates the index probes (random page reads at the
default costs) dearer than reading the whole table, and scans every patron of the
institution for each batch (15-45 ms a lookup at 100,000 patrons, growing with the table:
the import slows down as it goes). On PostgreSQL the keys are therefore sent as one array
and each is looked up on its own (`unnest` joined LATERAL to a subquery fenced with
`OFFSET 0`, which the planner cannot flatten into a hash join): one index probe per key,
whatever the statistics say (about 2 us a key). Elsewhere (SQLite) an IN list, which
SQLite answers from the index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Subquery, Text, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY


def probed(
    dialect: str,
    key_column: ColumnElement[Any],
    keys: Sequence[str],
    columns: Sequence[Any],
    *where: ColumnElement[bool],
) -> Subquery:
    """The rows whose `key_column` is one of `keys` and which meet `where`, as a subquery
    of `columns` (by their names); on PostgreSQL one index probe per key (see the
    module's docstring)."""
    if dialect != "postgresql":
        return select(*columns).where(key_column.in_(list(keys)), *where).subquery("probed")
    wanted = (
        func.unnest(bindparam("probe_keys", list(keys), type_=ARRAY(Text)))
        .table_valued("key")
        .render_derived(name="wanted")
    )
    found = (
        select(*columns)
        .where(key_column == wanted.c.key, *where)
        .offset(0)  # a fence: planned once per key, from the index
        .lateral("found")
    )
    return select(found).select_from(wanted).join(found, true()).subquery("probed")
