"""Preparing an operation for execution: parse, validate, refuse, note; in one extension.

strawberry runs every hook of every extension for every request, so the six small
extensions this took (ParserCache, ValidationCache, MaxTokensLimiter,
AddValidationRules and ours for NUL text and for the metrics) cost more per request
than the work itself. This one does the same in the same order:

- on_operation: the token limit for the parser and the request limits' validation
  rules (app.graphql.limits.limit_rules, built once so the cache below can hit);
- on_parse: the document, parsed once per text (an LRU cache);
- on_validate: the validation errors, cached by the operation's text (strawberry's
  ValidationCache keys by the parsed document, whose hash walks the whole syntax tree
  on every request), then text with NUL characters refused (app.graphql.nul_text),
  then the root fields noted for the metrics and the log (app.graphql.observe);
- on_execute: the operation noted as executed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, parse
from strawberry.extensions.base_extension import SchemaExtension

from app.graphql import nul_text, observe


class _Validation:
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
            isinstance(other, _Validation)
            and other.schema is self.schema
            and other.query == self.query
            and other.rules == self.rules
        )


@functools.cache
def _caches(maxsize: int) -> tuple[Any, Any]:
    """The parse and validation caches, shared by every request (per cache size)."""
    from strawberry.schema.schema import validate_document

    @functools.lru_cache(maxsize=maxsize)
    def validate(key: _Validation) -> list[GraphQLError]:
        return validate_document(key.schema, key.document, key.rules)

    return functools.lru_cache(maxsize=maxsize)(parse), validate


def validation_cache(maxsize: int) -> Any:
    """The validation cache (its cache_info() and cache_clear(), for tests)."""
    return _caches(maxsize)[1]


class PrepareOperation(SchemaExtension):
    def __init__(
        self, *, rules: list[type[ASTValidationRule]], max_tokens: int, cache_size: int
    ) -> None:
        super().__init__()
        self.rules = tuple(rules)
        self.max_tokens = max_tokens
        self.parse, self.validate = _caches(cache_size)

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        context.validation_rules = context.validation_rules + self.rules
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.graphql_document = self.parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.query is not None:
            key = _Validation(
                context.schema._schema,  # strawberry.Schema
                context.query,
                document,
                tuple(context.validation_rules),
            )
            context.pre_execution_errors = self.validate(key)
            if not context.pre_execution_errors:
                error = nul_text.nul_error(context)
                if error is not None:
                    context.pre_execution_errors = [error]
        observe.note_fields(context)
        yield

    def on_execute(self) -> Iterator[None]:
        observe.note_executed()
        yield
