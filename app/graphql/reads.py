"""Which requests only read: those run without a transaction (app.db.SerialSession).

A query operation only reads unless one of its root fields needs a transaction:
networkPatronSearch records who searched for whom, and attributeDiscrepancies sets its
planner mode for the transaction (SET LOCAL). The session of a request found to only
read refuses any statement that writes, sets or locks, so a query that starts needing
a transaction without being listed here fails at once instead of running without one.
"""

from __future__ import annotations

import functools

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse

# Query fields that need a transaction: one writes an audit entry, one sets a planner
# setting for its statements (SET LOCAL, which needs a transaction block).
TRANSACTIONAL_QUERIES = frozenset({"networkPatronSearch", "attributeDiscrepancies"})

# Operations are parsed once per text; strawberry's own parse is cached apart from this.
MAX_TOKENS = 2000


@functools.lru_cache(maxsize=512)
def reads_only(query: str | None, operation_name: str | None) -> bool:
    """Whether the operation of this request (by name, or the only one) is a query whose
    root fields only read. Anything unclear (no query, a syntax error, an unknown name,
    fragments at the root) counts as not only reading."""
    if not isinstance(query, str) or not isinstance(operation_name, str | None):
        return False
    try:
        document = parse(query, max_tokens=MAX_TOKENS, no_location=True)
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return False
    selections = operations[0].selection_set.selections
    return all(
        isinstance(s, FieldNode) and s.name.value not in TRANSACTIONAL_QUERIES for s in selections
    )
