"""Request limits: depth, aliases, tokens, cost and batches; refused before anything runs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import Database
from app.graphql.limits import document_cost, too_costly
from app.main import create_app
from app.patrons import search as patron_service
from app.settings import Settings
from tests.support.graphql import GraphQL

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
# patrons(first: 100) { AUDIT_PAGE } costs 10 (the search) + 1 (the connection)
# + 100 edges + 100 patrons + 100 x (10 (each trail is a statement) + 1 + 100 + 100).
PATRONS_WITH_TRAILS = 10 + 1 + 100 + 100 + 100 * (10 + 1 + 100 + 100)


async def test_cost_within_the_limit_runs(gql: GraphQL, count_searches: list[int]) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    # 2 x 21,311 (see PATRONS_WITH_TRAILS) = 42,622.
    query = (
        "{ "
        + " ".join(
            f'p{i}: patrons(institution: "NEKLS", first: 100) {{ {AUDIT_PAGE} }}' for i in range(2)
        )
        + " }"
    )
    data = await gql.ok(query, token=token)
    assert len(data["p1"]["edges"]) > 0
    assert len(count_searches) == 2


async def test_cost_over_the_limit_via_aliases_is_refused(
    gql: GraphQL, count_searches: list[int]
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    query = (
        "{ "
        + " ".join(
            f'p{i}: patrons(institution: "NEKLS", first: 100) {{ {AUDIT_PAGE} }}' for i in range(3)
        )
        + " }"
    )
    body = await gql(query, token=token)
    assert PATRONS_WITH_TRAILS * 3 == 63933
    assert _refused(body, "QUERY_TOO_COSTLY") == [
        "This query could cost up to 63933; the limit is 50000. Each object it may return "
        "counts 1, and relations computed for each item count more (consortialAccounts 50, "
        "borrowing 20, linkedAccounts, linkedFrom, loans and auditLog 10). Ask for smaller "
        "pages (first), fewer nested lists or fewer such relations."
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
        f"This query could cost up to {5 * PATRONS_WITH_TRAILS}; the limit is 50000."
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
        f"This query could cost up to {5 * PATRONS_WITH_TRAILS};"
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
    # 5 x (100 patrons + 100 x (10 + 1 + 100 + 100)) = 106,000, whether the ids come as a
    # variable or inline.
    query = (
        "query($ids: [ID!]!) { "
        + " ".join(f"n{i}: nodes(ids: $ids) {{ {trail} }}" for i in range(5))
        + " }"
    )
    body = await gql(query, {"ids": ["x"]}, token=token)
    assert _refused(body, "QUERY_TOO_COSTLY")[0].startswith("This query could cost up to 106000;")
    ids = ", ".join('"x"' for _ in range(100))
    inline = "{ " + " ".join(f"n{i}: nodes(ids: [{ids}]) {{ {trail} }}" for i in range(5)) + " }"
    body = await gql(inline, token=token)
    assert _refused(body, "QUERY_TOO_COSTLY")[0].startswith("This query could cost up to 106000;")
    # Few ids inline cost little.
    small = "{ " + " ".join(f'n{i}: nodes(ids: ["x", "y"]) {{ {trail} }}' for i in range(5)) + " }"
    data = await gql.ok(small, token=token)
    assert data["n4"] == [None, None]


def _cost(query: str, settings: Settings) -> int:
    from graphql import parse

    from app.graphql.schema import build_schema

    schema = build_schema(settings)._schema
    return document_cost(schema, parse(query), None, settings.max_page_size)


def test_query_cost_counts_connections_without_first_as_the_default_page(
    settings: Settings,
) -> None:
    query = '{ patrons(institution: "X") { edges { node { auditLog { edges { cursor } } } } } }'
    # The search 10 + connection 1 + 20 edges + 20 patrons + 20 x (10 + 1 + 20 edges).
    assert _cost(query, settings) == 10 + 1 + 20 + 20 + 20 * (10 + 1 + 20)


def test_plain_lists_count_five_items_and_per_item_relations_their_weight(
    settings: Settings,
) -> None:
    # An institution, 5 libraries, each with its institution and 5 libraries.
    nested = '{ institution(code: "X") { libraries { institution { libraries { code } } } } }'
    assert _cost(nested, settings) == 1 + 5 + 5 + 25
    # Scalars and introspection cost nothing.
    assert _cost('{ __typename institution(code: "X") { code name } }', settings) == 1
    assert _cost("{ __schema { types { name fields { name } } } }", settings) == 0
    per_patron = (
        "consortialAccounts { ref } linkedAccounts { linkedAt } alerts { code } linkedFrom { ref }"
    )
    page = f'patrons(institution: "X", first: 100) {{ edges {{ node {{ {per_patron} }} }} }}'
    # consortialAccounts 50 + 5, linkedAccounts 10 + 5, alerts 5, linkedFrom 10 + 1.
    assert _cost(f"{{ {page} }}", settings) == 10 + 1 + 100 + 100 + 100 * 86


# # ---------------------------------------------------------------- batches


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


async def test_a_batch_costs_what_its_operations_cost_together(
    client: httpx.AsyncClient, gql: GraphQL, connection: AsyncConnection, count_searches: list[int]
) -> None:
    # Each operation costs 21,311 and passes alone; three of them in one batch do not.
    token = await gql.login("nekls.admin", "LANSING")
    before = await _library_groups(connection)
    page = f'{{ patrons(institution: "NEKLS", first: 100) {{ {AUDIT_PAGE} }} }}'
    batch = [{"query": page}, {"query": page}, {"query": page}]
    batch.append({"query": "mutation { " + CREATE_GROUP % "Costly batch" + " }"})
    response = await client.post(
        "/graphql", json=batch, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COSTLY"]
    # The mutation: its payload 1 + its errors, a plain list, 5.
    assert body["errors"][0]["message"] == too_costly(
        3 * PATRONS_WITH_TRAILS + 6, 50000, "This batch"
    )
    assert count_searches == []
    assert await _library_groups(connection) == before
    # Two of them are within the limit.
    response = await client.post(
        "/graphql", json=batch[:2], headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert all(r["data"]["patrons"]["edges"] for r in response.json())


def test_limit_rules_are_built_once_so_the_validation_cache_hits() -> None:
    from app.graphql.preparation import validation_cache
    from app.graphql.schema import build_schema
    from app.settings import Settings

    settings = Settings(cache_size=7)
    schema = build_schema(settings)
    cache = validation_cache(7)
    cache.cache_clear()
    for _ in range(3):
        assert schema.execute_sync("{ __typename }").errors is None
    assert (cache.cache_info().hits, cache.cache_info().misses) == (2, 1)
    # The same document in another text is validated on its own; an invalid one is
    # refused from the cache as the first time.
    for _ in range(2):
        assert schema.execute_sync("{  __typename }").errors is None
        deep = schema.execute_sync(_nested(13))
        assert [e.message for e in deep.errors or []] == [
            "'anonymous' exceeds maximum operation depth of 12"
        ]
    assert (cache.cache_info().hits, cache.cache_info().misses) == (4, 3)


async def test_nested_plain_lists_stop_at_the_object_limit(
    settings: Settings, database: Database, gql: GraphQL
) -> None:
    # Plain lists (not connections) are assumed to hold 5 items before the query runs,
    # and counted while it runs. With 7 libraries in NEKLS, the institution's libraries'
    # institution's libraries cost 1 + 5 + 5 + 25 = 36 up front (within a limit of 50)
    # and turn out to be 7 + 7 x 7 = 56 list items: stopped as they resolve.
    admin = await gql.login("network.admin", "LANSING")
    for code in ("EXTRA1", "EXTRA2", "EXTRA3", "EXTRA4"):
        created = await gql.ok(
            "mutation($input: CreateLibraryInput!) { createLibrary(input: $input) "
            "{ errors { code } } }",
            {"input": {"institution": "NEKLS", "code": code, "name": f"Branch {code}"}},
            admin,
        )
        assert created["createLibrary"]["errors"] == []
    token = await gql.login("lansing.librarian", "LANSING")
    small = create_app(settings.model_copy(update={"max_cost": 50}), database)
    nested = '{ institution(code: "NEKLS") { libraries { institution { libraries { code } } } } }'
    transport = httpx.ASGITransport(app=small)
    async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
        response = await http.post(
            "/graphql", json={"query": nested}, headers={"authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["RESULT_TOO_LARGE"]
        assert "more than 50 objects" in body["errors"][0]["message"]
        # Deeper nesting is refused before it runs.
        response = await http.post(
            "/graphql", json={"query": _nested(8)}, headers={"authorization": f"Bearer {token}"}
        )
        assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["QUERY_TOO_COSTLY"]
        # The server goes on answering; a query within the limit is answered in full.
        small_query = '{ institution(code: "NEKLS") { libraries { code } } }'
        response = await http.post(
            "/graphql", json={"query": small_query}, headers={"authorization": f"Bearer {token}"}
        )
        assert response.json() == {
            "data": {
                "institution": {
                    "libraries": [
                        {"code": c}
                        for c in (
                            "BASEHOR",
                            "EXTRA1",
                            "EXTRA2",
                            "EXTRA3",
                            "EXTRA4",
                            "LANSING",
                            "TONGANOXIE",
                        )
                    ]
                }
            }
        }
