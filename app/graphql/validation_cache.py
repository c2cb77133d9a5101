"""Validation results cached by the operation's text.

strawberry's ValidationCache keys its LRU cache by the parsed document, and a
graphql-core document hashes by walking its whole syntax tree: every request paid for
that walk (about as much as the rest of a small query's preparation). The text of
the query determines the document (ParserCache parses each text once), so the text,
hashed once per string, and the rule classes are the key here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions.base_extension import SchemaExtension


class _Key:
    """A validation to run, equal to another of the same schema, text and rules."""

    __slots__ = ("document", "hash", "query", "rules", "schema")

    def __init__(
        self,
        schema: GraphQLSchema,
        query: str,
        document: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
    ) -> None:
        self.schema, self.query, self.document, self.rules = schema, query, document, rules
        self.hash = hash((id(schema), query, rules))

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Key)
            and other.schema is self.schema
            and other.query == self.query
            and other.rules == self.rules
        )


@functools.cache
def _validator(maxsize: int) -> Any:
    from strawberry.schema.schema import validate_document

    @functools.lru_cache(maxsize=maxsize)
    def validate(key: _Key) -> list[GraphQLError]:
        return validate_document(key.schema, key.document, key.rules)

    return validate


class ValidationCacheByText(SchemaExtension):
    """In place of strawberry's ValidationCache (same results, cached by the text)."""

    def __init__(self, maxsize: int = 128) -> None:
        super().__init__()
        self.validate = _validator(maxsize)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.query is not None:
            key = _Key(
                context.schema._schema,  # strawberry.Schema
                context.query,
                document,
                tuple(context.validation_rules),
            )
            context.pre_execution_errors = self.validate(key)
        yield
