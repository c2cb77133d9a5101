"""Request limits: depth, aliases, tokens, cost and batches; refused before anything runs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import Database
from app.graphql.limits import query_cost
from app.main import create_app
from app.patrons import search as patron_service
from app.settings import Settings
from tests.conftest import GraphQL

CREATE_GROUP = 'createLibraryGroup(input: {institution: "NEKLS", name: "%s"}) { errors { code } }'


async def _library_groups(connection: AsyncConnection) -> list[str]:
    rows = await connection.execute(text("SELECT name FROM library_group ORDER BY name"))
    return [r[0] for r in rows]


def _nested(depth: int) -> str:
    """A query of this depth: root fields are at depth 0, as strawberry counts."""
    # viewer(0) > institution(1) > libraries(2) > institution(3) > ... > code(depth)
    inner = "code"
    fields: list[str] = []
    for level in range(1, depth):
        fields.append("institution" if level % 2 == 1 else "libraries")
    for name in reversed(fields):
        inner = f"{name} {{ {inner} }}"
    return f"{{ viewer {{ {inner} }} }}"


@pytest.fixture
def count_searches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls of the patron search: a refused query must not reach it."""
    calls: list[int] = []
    original = patron_service.search_patrons

    async def counting(**kwargs: Any) -> Any:
        calls.append(1)
        return await original(**kwargs)

    monkeypatch.setattr(patron_service, "search_patrons", counting)
    return calls


def _refused(body: dict[str, Any], code: str | None = None) -> list[str]:
    assert "data" not in body or body["data"] is None, body
    if code is not None:
        assert all(e["extensions"]["code"] == code for e in body["errors"]), body
    return [e["message"] for e in body["errors"]]


# ---------------------------------------------------------------- depth


async def test_depth_twelve_is_allowed(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    data = await gql.ok(_nested(12), token=token)
    level = data["viewer"]
    for _ in range(5):
        level = level["institution"]["libraries"][0]
    assert level["institution"] == {"code": "NEKLS"}


async def test_depth_thirteen_is_refused(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    body = await gql(_nested(13), token=token)
    assert _refused(body, "GRAPHQL_VALIDATION_FAILED") == [
        "'anonymous' exceeds maximum operation depth of 12"
    ]


async def test_too_deep_mutation_is_not_executed(gql: GraphQL, connection: AsyncConnection) -> None:
    token = await gql.login("nekls.admin", "LANSING")
    before = await _library_groups(connection)
    # createLibrary(0) > library(1) > institution(2) > ... > code(13)
    deep = "institution { libraries { " * 5 + "institution { code }" + " } }" * 5
    mutation = (
        'mutation { a: createLibraryGroup(input: {institution: "NEKLS", name: "Deep"}) '
        "{ errors { code } } "
        'b: createLibrary(input: {institution: "NEKLS", code: "DEEP", name: "Deep"}) '
        f"{{ library {{ {deep} }} }} }}"
    )
    body = await gql(mutation, token=token)
    assert _refused(body) == ["'anonymous' exceeds maximum operation depth of 12"]
    assert await _library_groups(connection) == before
    libraries = await connection.execute(text("SELECT count(*) FROM library WHERE code = 'DEEP'"))
    assert libraries.scalar_one() == 0


async def test_depth_counts_through_fragments(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    query = """
      fragment L on Library { institution { libraries { institution { libraries {
        institution { libraries { institution { libraries { institution { libraries {
        institution { code } } } } } } } } } } } }
      { viewer { library { ...L } } }
    """
    body = await gql(query, token=token)
    assert _refused(body) == ["'anonymous' exceeds maximum operation depth of 12"]


# ---------------------------------------------------------------- aliases


async def test_thirty_aliases_are_allowed(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    query = "{ " + " ".join(f"a{i}: viewer {{ systemGroups }}" for i in range(30)) + " }"
    data = await gql.ok(query, token=token)
    assert len(data) == 30
    assert data["a29"] == {"systemGroups": ["LIBRARIAN", "LIBRARY_USERS"]}


async def test_thirty_one_aliases_are_refused_and_nothing_runs(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("nekls.admin", "LANSING")
    before = await _library_groups(connection)
    mutation = (
        "mutation { " + " ".join(f"a{i}: " + CREATE_GROUP % f"Alias {i}" for i in range(31)) + " }"
    )
    body = await gql(mutation, token=token)
    assert _refused(body, "GRAPHQL_VALIDATION_FAILED") == ["31 aliases found. Allowed: 30"]
    assert await _library_groups(connection) == before


# ---------------------------------------------------------------- tokens


def _ids_query(count: int) -> str:
    # 26 tokens around the list, one per id.
    ids = " ".join(str(i) for i in range(1, count + 1))
    return f"query($ids: [ID!]! = [{ids}]) {{ nodes(ids: $ids) {{ id }} }}"


async def test_five_thousand_tokens_are_parsed(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    body = await gql(_ids_query(4974), token=token)
    # Parsed and validated: the refusal comes from nodes itself, at execution.
    assert _refused(body, "INVALID_INPUT") == ["Ask for at most 100 ids at once (4974 given)."]


async def test_five_thousand_and_one_tokens_are_refused(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    body = await gql(_ids_query(4975), token=token)
    assert _refused(body) == [
        "Syntax Error: Document contains more than 5000 tokens. Parsing aborted."
    ]


async def test_more_than_five_thousand_tokens_are_refused_and_nothing_runs(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("nekls.admin", "LANSING")
    before = await _library_groups(connection)
    mutation = "mutation { " + CREATE_GROUP % "Tokens" + " " + "__typename " * 5000 + "}"
    body = await gql(mutation, token=token)
    assert _refused(body) == [
        "Syntax Error: Document contains more than 5000 tokens. Parsing aborted."
    ]
    assert await _library_groups(connection) == before


# ---------------------------------------------------------------- cost

AUDIT_PAGE = "edges { node { auditLog(first: 100) { edges { node { action } } } } }"


async def test_cost_within_the_limit_runs(gql: GraphQL, count_searches: list[int]) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    # 4 x (100 patrons + 100 x 100 audit entries) = 40,400 nodes.
    query = (
        "{ "
        + " ".join(
            f'p{i}: patrons(institution: "NEKLS", first: 100) {{ {AUDIT_PAGE} }}' for i in range(4)
        )
        + " }"
    )
    data = await gql.ok(query, token=token)
    assert len(data["p3"]["edges"]) > 0
    assert len(count_searches) == 4


async def test_cost_over_the_limit_via_aliases_is_refused(
    gql: GraphQL, count_searches: list[int]
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    # 5 x (100 + 100 x 100) = 50,500 nodes.
    query = (
        "{ "
        + " ".join(
            f'p{i}: patrons(institution: "NEKLS", first: 100) {{ {AUDIT_PAGE} }}' for i in range(5)
        )
        + " }"
    )
    body = await gql(query, token=token)
    assert _refused(body, "QUERY_TOO_COSTLY") == [
        "This query could return up to 50500 objects; the limit is 50000. "
        "Ask for smaller pages (first) or fewer nested lists."
    ]
    assert count_searches == []


async def test_cost_over_the_limit_via_fragments_is_refused(
    gql: GraphQL, count_searches: list[int]
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    query = """
      fragment Trail on Patron { auditLog(first: 100) { edges { node { action } } } }
      fragment Page on PatronConnection { edges { node { ...Trail } } }
      fragment Both on Query {
        a: patrons(institution: "NEKLS", first: 100) { ...Page }
        b: patrons(institution: "NEKLS", first: 100) { ...Page }
      }
      {
        ...Both
        ... on Query { c: patrons(institution: "NEKLS", first: 100) { ...Page } }
        d: patrons(institution: "NEKLS", first: 100) { ...Page }
        e: patrons(institution: "NEKLS", first: 100) { ...Page }
      }
    """
    body = await gql(query, token=token)
    assert _refused(body, "QUERY_TOO_COSTLY")[0].startswith(
        "This query could return up to 50500 objects; the limit is 50000."
    )
    assert count_searches == []


async def test_first_as_a_variable_counts_as_the_largest_page(
    gql: GraphQL, count_searches: list[int]
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    query = (
        "query($n: Int) { "
        + " ".join(
            f'p{i}: patrons(institution: "NEKLS", first: $n) '
            "{ edges { node { auditLog(first: $n) { edges { node { action } } } } } }"
            for i in range(5)
        )
        + " }"
    )
    body = await gql(query, {"n": 1}, token=token)
    assert _refused(body, "QUERY_TOO_COSTLY")[0].startswith(
        "This query could return up to 50500 objects"
    )
    assert count_searches == []


async def test_first_above_the_maximum_counts_as_the_maximum_page(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    data = await gql.ok(
        '{ patrons(institution: "NEKLS", first: 100000) { edges { cursor } } }', token=token
    )
    assert len(data["patrons"]["edges"]) == 44  # every NEKLS patron fits in one page of 100


async def test_nodes_multiply_like_a_page_of_their_ids(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    trail = "... on Patron { auditLog(first: 100) { edges { node { action } } } }"
    # 5 x (100 objects + 100 x 100 audit entries), whether the ids come as a variable or inline.
    query = (
        "query($ids: [ID!]!) { "
        + " ".join(f"n{i}: nodes(ids: $ids) {{ {trail} }}" for i in range(5))
        + " }"
    )
    body = await gql(query, {"ids": ["x"]}, token=token)
    assert _refused(body, "QUERY_TOO_COSTLY")[0].startswith(
        "This query could return up to 50500 objects"
    )
    ids = ", ".join('"x"' for _ in range(100))
    inline = "{ " + " ".join(f"n{i}: nodes(ids: [{ids}]) {{ {trail} }}" for i in range(5)) + " }"
    body = await gql(inline, token=token)
    assert _refused(body, "QUERY_TOO_COSTLY")[0].startswith(
        "This query could return up to 50500 objects"
    )
    # Few ids inline cost little.
    small = "{ " + " ".join(f'n{i}: nodes(ids: ["x", "y"]) {{ {trail} }}' for i in range(5)) + " }"
    data = await gql.ok(small, token=token)
    assert data["n4"] == [None, None]


def test_query_cost_counts_connections_without_first_as_the_default_page() -> None:
    from graphql import parse

    document = parse(
        '{ patrons(institution: "X") { edges { node { auditLog { edges { cursor } } } } } }'
    )
    operation = document.definitions[0]
    # 20 patrons + 20 x 20 audit entries.
    assert query_cost(operation.selection_set, {}) == 420  # type: ignore[attr-defined]


# ---------------------------------------------------------------- batches


async def test_a_batch_of_ten_operations_runs(client: httpx.AsyncClient, gql: GraphQL) -> None:
    token = await gql.login("nekls.admin", "LANSING")
    batch = [{"query": "{ viewer { library { code } } }"} for _ in range(9)]
    batch.append({"query": "mutation { " + CREATE_GROUP % "Batched" + " }"})
    response = await client.post(
        "/graphql", json=batch, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    results = response.json()
    assert results[:9] == [{"data": {"viewer": {"library": {"code": "LANSING"}}}}] * 9
    assert results[9] == {"data": {"createLibraryGroup": {"errors": []}}}


async def test_a_batch_of_eleven_operations_is_refused_and_nothing_runs(
    client: httpx.AsyncClient, gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("nekls.admin", "LANSING")
    before = await _library_groups(connection)
    batch = [{"query": "mutation { " + CREATE_GROUP % f"Batch {i}" + " }"} for i in range(11)]
    response = await client.post(
        "/graphql", json=batch, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "A batch may hold at most 10 operations; this one has 11.",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ],
    }
    assert await _library_groups(connection) == before


async def test_each_operation_of_a_batch_is_limited_on_its_own(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    batch = [{"query": "{ viewer { library { code } } }"}, {"query": _nested(13)}]
    response = await client.post(
        "/graphql", json=batch, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    first, second = response.json()
    assert first == {"data": {"viewer": {"library": {"code": "LANSING"}}}}
    assert second["data"] is None
    assert second["errors"][0]["message"] == "'anonymous' exceeds maximum operation depth of 12"


def test_limit_rules_are_built_once_so_the_validation_cache_hits() -> None:
    from functools import partial

    import strawberry
    from strawberry.extensions import AddValidationRules, ValidationCache
    from strawberry.extensions.validation_cache import _get_validate_cache

    from app.graphql.limits import limit_rules
    from app.graphql.schema import Mutation, Query
    from app.settings import Settings

    rules = limit_rules(Settings())
    schema = strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=[partial(ValidationCache, maxsize=7), partial(AddValidationRules, rules)],
    )
    cache = _get_validate_cache(7)
    cache.cache_clear()
    for _ in range(3):
        assert schema.execute_sync("{ __typename }").errors is None
    assert (cache.cache_info().hits, cache.cache_info().misses) == (2, 1)
    deep = schema.execute_sync(_nested(13))
    assert [e.message for e in deep.errors or []] == [
        "'anonymous' exceeds maximum operation depth of 12"
    ]


async def test_nested_plain_lists_stop_at_the_object_limit(
    settings: Settings, database: Database, gql: GraphQL
) -> None:
    # Plain lists (not connections) are counted while the query runs: here the limit is
    # 50 objects, and NEKLS's 3 libraries nested five times give 3^5 = 243.
    token = await gql.login("lansing.librarian", "LANSING")
    small = create_app(settings.model_copy(update={"max_cost": 50}), database)
    transport = httpx.ASGITransport(app=small)
    async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
        response = await http.post(
            "/graphql", json={"query": _nested(12)}, headers={"authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["RESULT_TOO_LARGE"]
        assert "more than 50 objects" in body["errors"][0]["message"]
        # The server goes on answering; a query within the limit is answered in full.
        small_query = '{ institution(code: "NEKLS") { libraries { code } } }'
        response = await http.post(
            "/graphql", json={"query": small_query}, headers={"authorization": f"Bearer {token}"}
        )
        assert response.json() == {
            "data": {
                "institution": {
                    "libraries": [{"code": "BASEHOR"}, {"code": "LANSING"}, {"code": "TONGANOXIE"}]
                }
            }
        }
