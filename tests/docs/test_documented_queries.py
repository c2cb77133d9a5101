"""Every GraphQL operation the README and docs/ show is valid against the schema and
within the request limits (depth, aliases, cost), so what integrators copy runs."""

from __future__ import annotations

import pytest
from graphql import OperationDefinitionNode, parse, specified_rules, validate

from app.graphql.limits import document_cost, limit_rules
from app.graphql.schema import build_schema
from app.settings import Settings
from tests.docs.examples import documented_examples


def _documented() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for examples in documented_examples().values():
        seen: set[str] = set()
        for example in examples:
            if example.query not in seen:
                seen.add(example.query)
                found.append((example.where, example.query))
    return found


DOCUMENTED = _documented()


def test_the_readme_shows_operations() -> None:
    assert len(DOCUMENTED) >= 20


@pytest.mark.parametrize(("where", "operation"), DOCUMENTED, ids=[w for w, _ in DOCUMENTED])
def test_each_documented_operation_is_valid_and_within_the_limits(
    where: str, operation: str
) -> None:
    settings = Settings()
    schema = build_schema(settings)._schema
    document = parse(operation, max_tokens=settings.max_tokens)
    errors = validate(schema, document, [*specified_rules, *limit_rules(settings)])
    assert [e.message for e in errors] == [], where
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            name = definition.name.value if definition.name else None
            cost = document_cost(schema, document, name, settings.max_page_size)
            assert cost <= settings.max_cost, where
