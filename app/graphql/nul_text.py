"""Text with NUL characters is refused before anything runs.

PostgreSQL cannot store or even compare a NUL character (U+0000) in text: a value
holding one made every query it reached fail with a driver error. A string argument or
variable with one is refused, on both databases alike, with an error that names where it is.
"""

from __future__ import annotations

from typing import Any

from graphql import DocumentNode, GraphQLError, StringValueNode, Visitor, visit

NUL = "\x00"
CODE = "INVALID_INPUT"


def _message(where: str) -> str:
    return f"Text may not contain NUL characters (\\u0000): {where} holds one."


def nul_in(value: Any, path: str) -> str | None:
    """The path of the first string holding a NUL in a variable's value, if any."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = (NUL in key and f"{path}.{key!r}") or nul_in(item, f"{path}.{key}")
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_in(item, f"{path}[{index}]")
            if found:
                return found
    return None


class _Literals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: StringValueNode | None = None

    def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
        if NUL in node.value:
            self.found = node
            return self.BREAK
        return None


def nul_literal(document: DocumentNode) -> StringValueNode | None:
    visitor = _Literals()
    visit(document, visitor)
    return visitor.found


def nul_error(context: Any) -> GraphQLError | None:
    """The refusal of a valid operation whose string literals or variables hold a NUL
    character (app.graphql.preparation asks after validation: a document with
    validation errors gets those), or None."""
    for name, value in (context.variables or {}).items():
        where = nul_in(value, f"${name}")
        if where:
            return GraphQLError(_message(f"variable {where}"), extensions={"code": CODE})
    document = context.graphql_document
    # A literal holds a NUL as it is or through an escape (\u0000, \u{0}).
    query = context.query or ""
    if document is not None and (NUL in query or "\\u" in query):
        node = nul_literal(document)
        if node is not None:
            return GraphQLError(
                _message("the string at this location"), node, extensions={"code": CODE}
            )
    return None
