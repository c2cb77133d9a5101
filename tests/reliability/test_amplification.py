"""Bounded work: a small query must not buy minutes of server time.

The attack: a 4 KB query inside the depth and alias limits, 30 aliases of a page of 100
patrons each asking for per-patron relations (consortialAccounts, linkedAccounts, alerts,
linkedFrom). The cost rule weighs those relations, so it is refused before anything runs;
what is within the rule still has a time budget (NETZONE_REQUEST_TIMEOUT) after which the
request stops with one error, and on PostgreSQL every statement of a request is cancelled
past it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.circulation import borrowing
from app.db import Database
from app.linking import persons
from app.main import create_app
from app.network import service as network
from app.settings import Settings
from tests.reliability.counts import record
from tests.support.graphql import GraphQL

PER_PATRON = (
    "consortialAccounts { ref } linkedAccounts { linkedAt } alerts { code } linkedFrom { ref }"
)


def _attack(aliases: int) -> str:
    page = f'patrons(institution: "NEKLS", first: 100) {{ edges {{ node {{ {PER_PATRON} }} }} }}'
    return "{ " + " ".join(f"a{i}: {page}" for i in range(aliases)) + " }"


@pytest.fixture
def consortial_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """For each time consortialAccounts is computed, for how many patrons."""
    calls: list[int] = []
    original = persons.other_accounts_many

    async def counting(**kwargs: Any) -> Any:
        calls.append(len(kwargs["patrons"]))
        return await original(**kwargs)

    monkeypatch.setattr(persons, "other_accounts_many", counting)
    return calls


async def _client(settings: Settings, database: Database, **changes: Any) -> httpx.AsyncClient:
    app = create_app(settings.model_copy(update=changes), database)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://netzone.test")


async def test_the_amplification_query_is_refused_before_anything_runs(
    gql: GraphQL, consortial_calls: list[int]
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    query = _attack(30)
    assert len(query) > 4000
    body = await gql(query, token=token)
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COSTLY"]
    # 30 x (10 + 1 + 100 + 100 + 100 x (50 + 5 + 10 + 5 + 5 + 10 + 1)).
    assert body["errors"][0]["message"].startswith("This query could cost up to 264330;")
    assert consortial_calls == []
    record("amplification attempts refused before running")
    # A batch of such queries, each within the rule alone (5 aliases), is refused as a whole.
    batch = [{"query": _attack(5)} for _ in range(3)]
    response = await gql.http.post(
        "/graphql", json=batch, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert consortial_calls == []
    record("amplification attempts refused before running")


async def test_the_largest_query_within_the_rule_answers(
    gql: GraphQL, consortial_calls: list[int]
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    data = await gql.ok(_attack(5), token=token)
    patrons = len(data["a0"]["edges"])
    assert patrons > 0
    assert all(len(data[f"a{i}"]["edges"]) == patrons for i in range(5))
    # Computed once for the page's patrons, however many aliases ask for them.
    assert consortial_calls == [patrons]
    body = await gql(_attack(6), token=token)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COSTLY"]


@pytest.fixture
def slow_borrowing(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Makes `borrowing` (one batch for the page's patrons) take 1 s of the request's
    session; records how many patrons each batch was for."""
    calls: list[int] = []
    original = borrowing.borrowing_reasons_many

    async def slow(session: Any, patrons: Any) -> Any:
        calls.append(len(patrons))
        await asyncio.sleep(1.0)
        return await original(session, patrons)

    monkeypatch.setattr(borrowing, "borrowing_reasons_many", slow)
    return calls


async def test_a_query_past_its_budget_stops_with_one_error(
    settings: Settings, database: Database, gql: GraphQL, slow_borrowing: list[int]
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    query = (
        '{ patrons(institution: "NEKLS", first: 30) '
        "{ edges { node { surname borrowing { allowed } } } } }"
    )
    async with await _client(settings, database, request_timeout=0.5) as http:
        response = await http.post(
            "/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None
        assert len(body["errors"]) == 1
        error = body["errors"][0]
        assert error["extensions"] == {"code": "REQUEST_TIMEOUT"}
        assert error["message"].startswith(
            "The request ran longer than its budget of 0.5 s (NETZONE_REQUEST_TIMEOUT) "
            "and was stopped"
        )
        # The one batch past the budget answers nothing, and nothing runs after it (on a
        # loaded machine the budget may even be gone before the batch's turn).
        assert slow_borrowing in ([], [30])
        # The next request is answered as usual.
        response = await http.post(
            "/graphql",
            json={"query": "{ viewer { library { code } } }"},
            headers={"authorization": f"Bearer {token}"},
        )
        assert response.json() == {"data": {"viewer": {"library": {"code": "LANSING"}}}}
    record("requests stopped at their time budget")


async def test_a_mutation_is_never_cut_halfway(
    settings: Settings,
    database: Database,
    gql: GraphQL,
    connection: AsyncConnection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A mutation slower than the budget runs to its end (its statements stay bounded on
    # PostgreSQL): the answer matches what was written.
    original = network.create_library_group

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.6)
        return await original(*args, **kwargs)

    monkeypatch.setattr(network, "create_library_group", slow)
    token = await gql.login("nekls.admin", "LANSING")
    mutation = (
        'mutation { createLibraryGroup(input: {institution: "NEKLS", name: "Slow group"}) '
        "{ libraryGroup { name } errors { code } } }"
    )
    async with await _client(settings, database, request_timeout=0.3) as http:
        response = await http.post(
            "/graphql", json={"query": mutation}, headers={"authorization": f"Bearer {token}"}
        )
    assert response.json() == {
        "data": {"createLibraryGroup": {"libraryGroup": {"name": "Slow group"}, "errors": []}}
    }
    rows = await connection.execute(
        text("SELECT count(*) FROM library_group WHERE name = 'Slow group'")
    )
    assert rows.scalar() == 1


async def test_a_statement_past_the_budget_is_cancelled_by_postgresql(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite cannot cancel a running statement; the budget is checked between steps")

    async def stuck(session: Any, patrons: Any) -> Any:
        # What a statement the planner got wrong looks like.
        await session.execute(text("SELECT pg_sleep(5)"))
        raise AssertionError("pg_sleep(5) should have been cancelled")

    # The app with its own engines, as it runs in production: its request connections
    # carry the budget as their statement_timeout.
    app = create_app(settings.model_copy(update={"request_timeout": 0.3}))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
            gql = GraphQL(http)
            token = await gql.login("lansing.librarian", "LANSING")
            monkeypatch.setattr(borrowing, "borrowing_reasons_many", stuck)
            query = (
                '{ patrons(institution: "NEKLS", first: 3) '
                "{ edges { node { borrowing { allowed } } } } }"
            )
            for _ in range(3):
                body = await gql(query, token=token)
                assert body["data"] is None
                assert [e["extensions"]["code"] for e in body["errors"]] == ["REQUEST_TIMEOUT"]
            # The connections are usable afterwards.
            for _ in range(12):
                data = await gql.ok("{ viewer { library { code } } }", token=token)
                assert data == {"viewer": {"library": {"code": "LANSING"}}}
            await gql.ok("mutation { logout { errors { code } } }", token=token)
    finally:
        await app.state.database.dispose()
    record("requests stopped at their time budget")


async def test_only_the_api_s_connections_have_a_statement_timeout(settings: Settings) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite has no statement timeout")
    app = create_app(settings.model_copy(update={"request_timeout": 2.5}))
    database: Database = app.state.database
    try:
        async with database.request_session() as session:
            shown = await session.execute(text("SHOW statement_timeout"))
            assert shown.scalar() == "2500ms"
        # Imports and jobs started by the API process run without one.
        async with database.session() as session:
            shown = await session.execute(text("SHOW statement_timeout"))
            assert shown.scalar() == "0"
    finally:
        await database.dispose()


async def test_a_failing_field_lets_its_siblings_finish_their_statements(
    settings: Settings, gql: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `loans(first: -1)` fails at once while its sibling `borrowing` is inside a
    # statement. The sibling is not cancelled halfway (a statement cancelled on the wire
    # breaks the request's connection): it finishes, then the error propagates.
    finished: list[int] = []
    original = borrowing.borrowing_reasons_many

    async def slow(session: Any, patrons: Any) -> Any:
        if settings.is_sqlite:
            await asyncio.sleep(0.3)
        else:
            await session.execute(text("SELECT pg_sleep(0.3)"))
        finished.append(1)
        return await original(session, patrons)

    monkeypatch.setattr(borrowing, "borrowing_reasons_many", slow)
    token = await gql.login("lansing.librarian", "LANSING")
    query = (
        '{ patrons(institution: "NEKLS", first: 1) { edges { node { '
        "borrowing { allowed } loans(first: -1) { totalCount } } } } }"
    )
    body = await gql(query, token=token)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_INPUT"]
    assert finished == [1]
    # The connection is whole: the next requests are answered
    for _ in range(3):
        data = await gql.ok("{ viewer { library { code } } }", token=token)
        assert data == {"viewer": {"library": {"code": "LANSING"}}}
