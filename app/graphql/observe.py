"""What each GraphQL operation is counted and logged as: its root fields and its outcome.

Operation names are chosen by clients, so an operation is known by the root fields it
selects instead, as the schema names them; a name the schema does not have (a typo, an
unparsable document) is `other`. See app.observability.metrics for the outcomes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_operation_ast,
)

from app.db import timed_out
from app.errors import NotAuthenticated
from app.graphql.limits import REQUEST_TIMEOUT, RESULT_TOO_LARGE
from app.observability.metrics import OTHER
from app.observability.requests import Operation, current_operation


def root_fields(
    document: DocumentNode, operation_name: str | None, schema: GraphQLSchema
) -> list[str]:
    """The root fields the operation selects: names the schema has, else `other`."""
    operation = get_operation_ast(document, operation_name)
    root = schema.get_root_type(operation.operation) if operation is not None else None
    if operation is None or root is None:
        return [OTHER]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    names = set(_field_names(operation.selection_set, fragments, set()))
    names.discard("__typename")
    return sorted({name if name in root.fields else OTHER for name in names}) or [OTHER]


def _field_names(
    selections: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> Iterator[str]:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _field_names(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                seen.add(name)
                yield from _field_names(fragments[name].selection_set, fragments, seen)


def note_fields(context: Any) -> None:
    """Note the root fields of the operation being run, once it is parsed (the view
    counts it when it ends: NetzoneGraphQL.execute_single)."""
    operation = current_operation()
    if operation is not None and context.graphql_document is not None:
        schema = context.schema._schema  # strawberry.Schema
        operation.fields = root_fields(context.graphql_document, context.operation_name, schema)


def note_executed() -> None:
    """Note that the operation got past validation."""
    operation = current_operation()
    if operation is not None:
        operation.executed = True


def outcome(errors: list[GraphQLError], operation: Operation) -> str:
    """ok, user_error, error or refused (before masking: the errors as resolvers raised them)."""
    if not errors:
        return "user_error" if operation.user_error else "ok"
    if any(_server_side(error) for error in errors):
        return "error"
    if not operation.executed or any(
        (error.extensions or {}).get("code") == RESULT_TOO_LARGE for error in errors
    ):
        return "refused"
    return "user_error"


def _server_side(error: GraphQLError) -> bool:
    """What app.graphql.view masks or reports as the server's failure."""
    if (error.extensions or {}).get("code") == REQUEST_TIMEOUT:
        return True
    original = error.original_error
    if original is None or isinstance(original, NotAuthenticated):
        return False
    if isinstance(original, GraphQLError):
        return timed_out(original)
    return True
