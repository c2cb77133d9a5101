"""The compiled read path (app.graphql.compiled) answers what the general path answers.

Every request here is sent to two servers on the same database: one as deployed, one
with NETZONE_COMPILED_READS off (every query through strawberry's resolvers). Their
answers must be the same, byte for byte, for every caller: staff who may read the
institution, staff of another institution, an API client with and without
`patron_read`, the network admin, a logged-out token, an unknown token and none.
The statement counts show which path answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import Database, create_engine
from app.graphql.compiled import Plans
from app.graphql.schema import COMPILED_READS, build_schema
from app.main import create_app
from app.patrons import search
from app.settings import Settings
from tests.support.database import committed_token
from tests.support.graphql import GraphQL
from tests.support.ops import Metrics, delta
from tests.test_statement_count import count_statements

# Every field a plan answers, aliased, with __typename at each level.
EVERY_FIELD = """query Every($institution: String!, $filter: PatronFilter, $first: Int) {
  page: patrons(institution: $institution, filter: $filter, first: $first) {
    __typename
    edges {
      __typename
      node {
        __typename id givenName middleName preferredName surname username primaryEmail
        phone cohort formClass enabled isStaff isGeneric until expiryDate purgeDate
        barcode
        group: userGroup { __typename id code name loanPeriodDays }
        again: surname
        identifiers { __typename value type { __typename code name networkUnique } }
        blocks {
          __typename id note origin createdAt expiresAt
          type { __typename code description network blocksLoans }
        }
        kinds: identifiers { type { code } }
      }
    }
  }
}"""

LOOKUP = """query Lookup($barcode: String!) {
  patrons(institution: "NEKLS", filter: {search: $barcode}, first: 1) {
    edges { node { id givenName surname barcode userGroup { code } } }
  }
}"""

# Shapes a plan does not take: the general path answers them.
GENERAL = [
    '{ patrons(institution: "NEKLS", first: 2) { edges { cursor node { id } } } }',
    '{ patrons(institution: "NEKLS", first: 2) { totalCount edges { node { id } } } }',
    '{ patrons(institution: "NEKLS", first: 2) { pageInfo { hasNextPage } } }',
    '{ patrons(institution: "NEKLS", first: 2) { edges { node { id libraryGroups { id } } } } }',
    '{ patrons(institution: "NEKLS", first: 2) { edges { node { blocks { type { id } } } } } }',
    '{ patrons(institution: "NEKLS", first: 2) { edges { node { ...F } } } }'
    " fragment F on Patron { id }",
    '{ patrons(institution: "NEKLS", first: 2) { edges { node { id @include(if: true) } } } }',
    '{ patrons(institution: "NEKLS", first: 2) { edges { node { id } } } viewer { patron { id } } }',
    '{ patrons(institution: "NEKLS", first: 2) { edges { node { id } node { surname } } } }',
    '{ patrons(institution: "NEKLS", first: 2, after: "") { edges { node { id } } } }',
    'mutation { logout { errors { code } } } { patrons(institution: "NEKLS") { edges { node { id } } } }',
    '{ patrons(institution: "NEKLS") { edges { node { id nosuchfield } } } }',
]


@pytest.fixture
async def general(settings: Settings, database: Database) -> AsyncIterator[GraphQL]:
    """The same server with every query through the general path."""
    app = create_app(settings.model_copy(update={"compiled_reads": False}), database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
        yield GraphQL(http)


async def _tokens(gql: GraphQL) -> dict[str, str | None]:
    admin = await gql.login("nekls.admin", "LANSING")
    logged_out = await gql.login("basehor.librarian", "BASEHOR")
    await gql.ok("mutation { logout { errors { code } } }", token=logged_out)
    return {
        "librarian": await gql.login("lansing.librarian", "LANSING"),
        "admin": admin,
        "other institution": await gql.login("eastern.circ", "EASTERN-MAIN"),
        "network admin": await gql.login("network.admin", "LANSING"),
        "client": await gql.api_client(admin, ["patron_read"], name="Reader"),
        "client without patron_read": await gql.api_client(admin, ["linking"], name="Linker"),
        "logged out": logged_out,
        "unknown": "nzs_" + "0" * 40,
        "none": None,
    }


def _scrubbed(body: Any) -> Any:
    """The body with cursors and error ids blanked (each is random: a nonce, a uuid)."""
    if isinstance(body, list):
        return [_scrubbed(item) for item in body]
    if isinstance(body, dict):
        return {
            k: "-" if k in {"cursor", "errorId", "requestId"} else _scrubbed(v)
            for k, v in body.items()
        }
    return body


COMPILED = "netzone_graphql_compiled_reads_total"


async def _same(
    gql: GraphQL,
    general: GraphQL,
    query: str,
    variables: dict[str, Any],
    token: str | None,
    metrics: Metrics | None = None,
) -> bool:
    """Whether the compiled path answered (the answers being the same)."""
    before = await metrics.scrape() if metrics else {}
    compiled = await gql.raw(query, variables, token)
    answered = bool(
        metrics and delta(before, await metrics.scrape(), COMPILED, operation="patrons")
    )
    expected = await general.raw(query, variables, token)
    assert (compiled.status_code, _scrubbed(compiled.json())) == (
        expected.status_code,
        _scrubbed(expected.json()),
    )
    assert compiled.headers["content-type"] == expected.headers["content-type"]
    return answered


ADD_BLOCK = """mutation($input: AddPatronBlockInput!) {
  addPatronBlock(input: $input) { errors { code message field } }
}"""

CREATE = """mutation($input: CreatePatronInput!) {
  createPatron(input: $input) { patron { id } errors { code message field } }
}"""


async def test_every_field_and_caller_answers_as_the_general_path(
    gql: GraphQL, general: GraphQL, metrics: Metrics
) -> None:
    tokens = await _tokens(gql)
    librarian = tokens["librarian"]
    # A patron with every optional value, and one without any (no user group either).
    full = {
        "institution": "NEKLS",
        "homeLibrary": "LANSING",
        "surname": "Aardvark",
        "givenName": "Zoë",
        "middleName": "Q",
        "preferredName": "Zed",
        "username": "zoe.aardvark",
        "primaryEmail": "zoe@example.org",
        "phone": "+1 785 555 0100",
        "barcode": "ZA-0001",
        "adminSystemId": "ZA-ADMIN-1",
        "userGroup": "ADULT",
        "until": "2031-06-30",
        "expiryDate": "2030-12-31",
        "isStaff": True,
        "enabled": False,
    }
    bare = {"institution": "NEKLS", "homeLibrary": "LANSING", "surname": "Aaberg"}
    ids = []
    for patron in (full, bare):
        payload = (await gql.ok(CREATE, {"input": patron}, librarian))["createPatron"]
        assert payload["errors"] == [], payload
        ids.append(payload["patron"]["id"])
    # Two blocks on the first (one that expires), so the lists have more than one item.
    for note, expires in (("Shouted", None), ("Lost card", "2031-01-01T12:00:00Z")):
        block = {"patronId": ids[0], "blockType": "CONDUCT", "note": note, "expiresAt": expires}
        added = (await gql.ok(ADD_BLOCK, {"input": block}, librarian))["addPatronBlock"]
        assert added["errors"] == [], added
    some = (await gql.ok(EVERY_FIELD, {"institution": "NEKLS", "first": 100}, librarian))["page"]
    nodes = [e["node"] for e in some["edges"]]
    # The page holds what the comparison must cover: nulls and values of each kind.
    assert len(nodes) > 10
    assert any(n["group"] is None for n in nodes)
    assert any(n["group"] for n in nodes)
    assert any(n["barcode"] for n in nodes)
    assert any(n["expiryDate"] for n in nodes)
    assert any(len(n["blocks"]) == 2 for n in nodes)
    assert any(len(n["identifiers"]) > 1 for n in nodes)
    barcode = next(n["barcode"] for n in nodes if n["barcode"])
    surname = nodes[3]["surname"]
    # Each case with whether the compiled path answers it for a caller with a token
    # (without one, or with an unknown or logged-out one, the general path answers).
    cases: list[tuple[dict[str, Any], bool]] = [
        ({"institution": "NEKLS", "first": 100}, True),
        ({"institution": "nekls", "first": 5}, True),
        ({"institution": "EASTERN", "first": 100}, True),
        ({"institution": "NOSUCH"}, True),
        ({"institution": "NEKLS", "filter": {"search": barcode}, "first": 1}, True),
        ({"institution": "NEKLS", "filter": {"search": barcode.upper() + "  "}}, True),
        ({"institution": "NEKLS", "filter": {"search": surname[:3]}, "first": 3}, True),
        ({"institution": "NEKLS", "filter": {"search": "lansing."}}, True),
        ({"institution": "NEKLS", "filter": {"search": "no such patron at all"}}, True),
        (
            {"institution": "NEKLS", "filter": {"homeLibrary": "BASEHOR", "userGroup": "ADULT"}},
            True,
        ),
        ({"institution": "NEKLS", "filter": {"accountType": "HOME"}, "first": 0}, True),
        ({"institution": "NEKLS", "filter": {"attribute": {"type": "NOSUCH", "value": "x"}}}, True),
        (
            {
                "institution": "NEKLS",
                "filter": {"attribute": {"type": "KANOPY_LANSING", "value": "ALLOWED"}},
            },
            True,
        ),
        ({"institution": "NEKLS", "filter": {"search": None, "homeLibrary": None}}, True),
        ({"institution": "NEKLS", "first": 1000}, True),
        ({"institution": "NEKLS", "first": -1}, False),
        ({"institution": "NEKLS", "filter": {"search": "x" * 201}}, False),
        ({"institution": "NEKLS", "first": "ten"}, False),
        ({"first": 1}, False),
    ]
    signed_out = {"logged out", "unknown", "none"}
    for caller, token in tokens.items():
        for variables, compiles in cases:
            answered = await _same(gql, general, EVERY_FIELD, variables, token, metrics)
            assert answered == (compiles and caller not in signed_out), (caller, variables)


async def test_shapes_a_plan_does_not_take_answer_as_the_general_path(
    gql: GraphQL, general: GraphQL, settings: Settings
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    plans = Plans(build_schema(settings), settings, COMPILED_READS)
    for query in GENERAL:
        assert plans.find(query, None) is None, query
        await _same(gql, general, query, {}, token)
    assert plans.find(LOOKUP, None) is not None
    assert plans.find(LOOKUP, "Lookup") is not None
    assert plans.find(LOOKUP, "Other") is None


async def test_the_lookup_is_the_token_check_and_one_statement(
    gql: GraphQL, general: GraphQL, engine: AsyncEngine, metrics: Metrics
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    page = await gql.ok(EVERY_FIELD, {"institution": "NEKLS", "first": 20}, token)
    barcode = next(e["node"]["barcode"] for e in page["page"]["edges"] if e["node"]["barcode"])
    before = await metrics.scrape()
    with count_statements(engine) as statements:
        data = await gql.ok(LOOKUP, {"barcode": barcode}, token)
    assert delta(before, await metrics.scrape(), COMPILED, operation="patrons") == 1
    assert await general.ok(LOOKUP, {"barcode": barcode}, token) == data
    assert data["patrons"]["edges"][0]["node"]["barcode"] == barcode
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(reads) == 2, "\n\n".join(statements)  # the token, the page
    assert "auth_token" in reads[0]
    assert "patron_identifier" in reads[1]
    assert "user_group" in reads[1]


async def test_a_compiled_read_past_its_budget_stops_with_one_error(
    settings: Settings,
    database: Database,
    gql: GraphQL,
    metrics: Metrics,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not tried again by the general path: it answers REQUEST_TIMEOUT at once."""
    token = await gql.login("lansing.librarian", "LANSING")
    app = create_app(settings.model_copy(update={"request_timeout": 0.3}), database)
    light = search.search_light
    calls: list[str] = []

    async def slow(**kwargs: Any) -> Any:
        calls.append("light")
        await asyncio.sleep(0.4)
        return await light(**kwargs)

    monkeypatch.setattr(search, "search_light", slow)
    before = await metrics.scrape()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
        body = await GraphQL(http)(LOOKUP, {"barcode": "anything"}, token)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "REQUEST_TIMEOUT"}
    assert error["message"].startswith("The request ran longer than its budget of 0.3 s")
    assert calls == ["light"]
    after = await metrics.scrape()
    assert delta(before, after, COMPILED, operation="patrons") == 1
    requests = "netzone_graphql_requests_total"
    assert delta(before, after, requests, operation="patrons", outcome="error") == 1


# -- PostgreSQL with the app's own engines: reads sent to the driver without a session


async def _own_apps(settings: Settings, engine: AsyncEngine) -> tuple[GraphQL, GraphQL, Any]:
    """Two apps on their own sessions (committed data, as in production), one with the
    compiled reads switched off; and what closes their clients."""
    clients = []
    for on in (True, False):
        app = create_app(settings.model_copy(update={"compiled_reads": on}), Database(engine))
        transport = httpx.ASGITransport(app=app)
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://netzone.test"))

    async def close() -> None:
        for http in clients:
            await http.aclose()

    return GraphQL(clients[0]), GraphQL(clients[1]), close


async def test_on_its_own_engines_a_compiled_read_takes_no_session_and_answers_the_same(
    settings: Settings, engine: AsyncEngine, metrics: Metrics
) -> None:
    if settings.is_sqlite:
        pytest.skip("The reads go to asyncpg itself on PostgreSQL only")
    recorded: list[tuple[str, bool]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        driver = conn.connection.driver_connection
        recorded.append((statement.split()[0].upper(), driver.is_in_transaction()))

    compiled, general, close = await _own_apps(settings, engine)
    try:
        async with committed_token(engine) as token:
            page = await compiled.ok(EVERY_FIELD, {"institution": "NEKLS", "first": 5}, token)
            barcode = next(e["node"]["barcode"] for e in page["page"]["edges"])
            event.listen(engine.sync_engine, "after_cursor_execute", record)
            try:
                data = await compiled.ok(LOOKUP, {"barcode": barcode}, token)
            finally:
                event.remove(engine.sync_engine, "after_cursor_execute", record)
            assert data["patrons"]["edges"][0]["node"]["barcode"] == barcode
            # The token and the page: two statements, no BEGIN, no transaction.
            assert recorded == [("SELECT", False), ("SELECT", False)]
            # A page with its identifiers and blocks: one statement more for each list.
            recorded.clear()
            event.listen(engine.sync_engine, "after_cursor_execute", record)
            try:
                listed = await compiled.ok(
                    EVERY_FIELD, {"institution": "NEKLS", "first": 50}, token
                )
            finally:
                event.remove(engine.sync_engine, "after_cursor_execute", record)
            assert len(listed["page"]["edges"]) > 10
            assert recorded == [("SELECT", False)] * 4
            # Filters that look up a library or a user group open an ORM session for it.
            cases: list[dict[str, Any]] = [
                {"institution": "NEKLS", "first": 100},
                {"institution": "NEKLS", "filter": {"search": barcode}},
                {"institution": "NEKLS", "filter": {"homeLibrary": "BASEHOR"}, "first": 50},
                {"institution": "NEKLS", "filter": {"userGroup": "ADULT", "search": "a"}},
                {"institution": "NEKLS", "filter": {"homeLibrary": "NOSUCH"}},
                {"institution": "EASTERN"},
            ]
            for variables in cases:
                answered = await _same(compiled, general, EVERY_FIELD, variables, token, metrics)
                assert answered, variables
    finally:
        await close()


async def test_a_connection_the_server_dropped_is_replaced_and_the_request_answered(
    settings: Settings, engine: AsyncEngine, metrics: Metrics
) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite has no server to drop a connection")
    own = create_engine(settings, ping_if_idle=3600)  # no ping: the read meets the dead one
    app = create_app(settings, Database(own))
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            committed_token(engine) as token,
            httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http,
        ):
            gql = GraphQL(http)
            first = await gql.ok(LOOKUP, {"barcode": "none"}, token)
            # The one connection of its pool (the lookup took one), ended by the server.
            async with own.connect() as conn:
                pooled = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            assert own.sync_engine.pool.checkedin() == 1  # type: ignore[attr-defined]
            async with engine.connect() as conn:
                ended = (
                    await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pooled})
                ).scalar_one()
            assert ended
            before = await metrics.scrape()
            # The dead connection fails the compiled read and is thrown away; the general
            # path answers on a new one; the next request is compiled again.
            for _ in range(3):
                assert await gql.ok(LOOKUP, {"barcode": "none"}, token) == first
            after = await metrics.scrape()
            assert delta(before, after, COMPILED, operation="patrons") == 2
    finally:
        await own.dispose()


async def test_lists_past_the_limit_are_refused_as_the_general_path_refuses_them(
    settings: Settings, database: Database, gql: GraphQL, metrics: Metrics
) -> None:
    """The cost rule lets a query through that counts a list as 5 items; a patron with
    25 blocks makes the answer's lists hold 26 items, past a limit of 20."""
    librarian = await gql.login("lansing.librarian", "LANSING")
    created = await gql.ok(
        CREATE,
        {"input": {"institution": "NEKLS", "homeLibrary": "LANSING", "surname": "Blockley"}},
        librarian,
    )
    patron = created["createPatron"]["patron"]["id"]
    for number in range(25):
        block = {"patronId": patron, "blockType": "CONDUCT", "note": f"Block {number}"}
        assert (await gql.ok(ADD_BLOCK, {"input": block}, librarian))["addPatronBlock"] == {
            "errors": []
        }
    query = """query($s: String!) { patrons(institution: "NEKLS", filter: {search: $s}, first: 1)
      { edges { node { surname blocks { note } } } } }"""
    limited = settings.model_copy(update={"max_cost": 20})
    answers = []
    for on in (True, False):
        app = create_app(limited.model_copy(update={"compiled_reads": on}), database)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
            answers.append(await GraphQL(http)(query, {"s": "blockley"}, librarian))
    assert _scrubbed(answers[0]) == _scrubbed(answers[1])
    assert answers[0]["data"] is None
    assert [e["extensions"]["code"] for e in answers[0]["errors"]] == ["RESULT_TOO_LARGE"]
    # Within the limit, the compiled path answers it.
    before = await metrics.scrape()
    data = await gql.ok(query, {"s": "blockley"}, librarian)
    assert len(data["patrons"]["edges"][0]["node"]["blocks"]) == 25
    assert delta(before, await metrics.scrape(), COMPILED, operation="patrons") == 1
