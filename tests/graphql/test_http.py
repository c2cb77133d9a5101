"""The HTTP surface: health checks, GraphiQL, GET and POST, body limits, error masking."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import Database, create_engine
from app.main import create_app
from app.network import service as network_service
from app.settings import Settings
from tests.support.graphql import GraphQL

VIEWER = "{ viewer { systemGroups library { code } } }"


async def _library_groups(connection: AsyncConnection) -> list[str]:
    rows = await connection.execute(text("SELECT name FROM library_group ORDER BY name"))
    return [r[0] for r in rows]


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_with_a_reachable_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "reachable"}


async def test_readyz_is_503_when_the_database_is_unreachable(settings: Settings) -> None:
    unreachable = Settings(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")  # type: ignore[call-arg]
    database = Database(create_engine(unreachable))
    try:
        app = create_app(settings, database)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
            ready = await http.get("/readyz")
            healthy = await http.get("/healthz")
    finally:
        await database.engine.dispose()
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "database": "unreachable"}
    # The process itself is up.
    assert healthy.status_code == 200


async def test_readyz_does_not_hang_on_a_silent_database(
    settings: Settings, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from app import main

    async def silent() -> bool:
        await asyncio.sleep(60)
        return True

    monkeypatch.setattr(main, "READY_TIMEOUT_SECONDS", 0.05)
    monkeypatch.setattr(database, "ping", silent)
    app = create_app(settings, database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
        response = await asyncio.wait_for(http.get("/readyz"), timeout=5)
    assert response.status_code == 503


async def test_get_graphql_with_accept_html_serves_graphiql(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_graphiql_can_be_switched_off(settings: Settings, database: Database) -> None:
    app = create_app(settings.model_copy(update={"graphiql": False}), database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
        response = await http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "graphiql" not in response.text.lower()


async def test_query_via_get(client: httpx.AsyncClient, gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    response = await client.get(
        "/graphql", params={"query": VIEWER}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "viewer": {
                "systemGroups": ["LIBRARIAN", "LIBRARY_USERS"],
                "library": {"code": "LANSING"},
            }
        }
    }


async def test_mutation_via_get_is_refused_and_not_executed(
    client: httpx.AsyncClient, gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("nekls.admin", "LANSING")
    before = await _library_groups(connection)
    mutation = (
        'mutation { createLibraryGroup(input: {institution: "NEKLS", name: "Via GET"}) '
        "{ errors { code } } }"
    )
    response = await client.get(
        "/graphql", params={"query": mutation}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "mutations are not allowed when using GET: "
                "send mutations by POST; GET serves queries only.",
                "extensions": {"code": "METHOD_NOT_ALLOWED"},
            }
        ],
    }
    assert await _library_groups(connection) == before
    # The same mutation by POST works: the refusal was about the method only.
    data = await gql.ok(mutation, token=token)
    assert data["createLibraryGroup"]["errors"] == []
    assert await _library_groups(connection) == sorted([*before, "Via GET"])


async def test_body_over_one_megabyte_is_refused_with_413(
    client: httpx.AsyncClient, gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("nekls.admin", "LANSING")
    before = await _library_groups(connection)
    mutation = """mutation($d: String) {
      createLibraryGroup(input: {institution: "NEKLS", name: "Huge", description: $d}) {
        errors { code }
      }
    }"""
    response = await client.post(
        "/graphql",
        json={"query": mutation, "variables": {"d": "x" * (1024 * 1024)}},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "The request body is larger than 1048576 bytes.",
                "extensions": {"code": "PAYLOAD_TOO_LARGE"},
            }
        ],
    }
    assert await _library_groups(connection) == before


async def test_streamed_body_without_length_is_cut_off_at_one_megabyte(
    client: httpx.AsyncClient, gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("nekls.admin", "LANSING")
    before = await _library_groups(connection)
    head = (
        b'{"query": "mutation($d: String) { createLibraryGroup(input: {institution: \\"NEKLS\\", '
        b'name: \\"Streamed\\", description: $d}) { errors { code } } }", "variables": {"d": "'
    )

    async def chunks():  # type: ignore[no-untyped-def]
        yield head
        for _ in range(20):
            yield b"y" * (64 * 1024)
        yield b'"}}'

    response = await client.post(
        "/graphql",
        content=chunks(),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}
    assert await _library_groups(connection) == before


async def test_uploads_have_their_own_larger_limit(settings: Settings, database: Database) -> None:
    limited = settings.model_copy(update={"max_body_bytes": 2000, "max_upload_bytes": 100_000})
    app = create_app(limited, database)
    transport = httpx.ASGITransport(app=app)
    operations = (
        '{"query": "mutation($f: Upload!) { setPatronPhoto(input: {patronId: \\"x\\", file: $f}) '
        '{ errors { code } } }", "variables": {"f": null}}'
    )

    async def upload(size: int) -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
            return await http.post(
                "/graphql",
                data={"operations": operations, "map": '{"0": ["variables.f"]}'},
                files={"0": ("f.bin", b"z" * size, "application/octet-stream")},
            )

    small = await upload(50_000)  # over the body limit, under the upload limit
    assert small.status_code == 200, small.text
    assert small.json() == {"data": {"setPatronPhoto": {"errors": [{"code": "NOT_FOUND"}]}}}
    large = await upload(150_000)
    assert large.status_code == 413
    assert large.json()["errors"] == [
        {
            "message": "The request body is larger than 100000 bytes.",
            "extensions": {"code": "PAYLOAD_TOO_LARGE"},
        }
    ]


async def test_body_just_under_the_limit_is_accepted(gql: GraphQL) -> None:
    padding = " " * (1024 * 1024 - 200)
    data = await gql.ok("{ viewer { systemGroups } }" + padding)
    assert data == {"viewer": {"systemGroups": []}}


async def test_unknown_field_has_no_suggestions(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    body = await gql("{ viewer { systemGroup } netwrk { name } }", token=token)
    assert body["data"] is None
    messages = [e["message"] for e in body["errors"]]
    assert messages == [
        "Cannot query field 'systemGroup' on type 'Viewer'.",
        "Cannot query field 'netwrk' on type 'Query'.",
    ]
    assert all("did you mean" not in m.lower() for m in messages)
    assert all(e["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED" for e in body["errors"])


async def test_unknown_argument_and_enum_value_have_no_suggestions(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    body = await gql(
        '{ patrons(institution: "NEKLS", frist: 1, filter: {accountType: HOM}) { totalCount } }',
        token=token,
    )
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == [
        "Unknown argument 'frist' on field 'Query.patrons'.",
        "Value 'HOM' does not exist in 'AccountType' enum.",
    ]
    unknown_type = await gql("query($f: PatronFiltr) { viewer { systemGroups } }", token=token)
    assert [e["message"] for e in unknown_type["errors"]] == [
        "Variable '$f' is never used.",
        "Unknown type 'PatronFiltr'.",
    ]


async def test_unknown_input_object_fields_have_no_suggestions(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    inline = await gql(
        '{ patrons(institution: "NEKLS", filter: {serch: "x"}) { totalCount } }', token=token
    )
    variable = await gql(
        'query($f: PatronFilter) { patrons(institution: "NEKLS", filter: $f) { totalCount } }',
        {"f": {"serch": "x"}},
        token=token,
    )
    messages = [e["message"] for e in inline["errors"] + variable["errors"]]
    assert messages == [
        "Expected value of type 'PatronFilter' not to include unknown field 'serch'. "
        'Found: { serch: "x" }.',
        "Variable '$f' has invalid value: Expected value of type 'PatronFilter' not to "
        "include unknown field 'serch'. Found: {'serch': 'x'}.",
    ]
    assert all("search" not in m for m in messages)


async def test_unexpected_exception_is_masked(
    gql: GraphQL, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("secret detail: connection to db-internal-7 failed")

    monkeypatch.setattr(network_service, "get_network", broken)
    response = await gql.raw("{ viewer { systemGroups } network { name } }", token=token)
    assert response.status_code == 200
    assert "secret detail" not in response.text
    assert "db-internal-7" not in response.text
    assert "RuntimeError" not in response.text
    body = response.json()
    assert body["data"] is None  # network is non-null: the whole data is null
    [error] = body["errors"]
    assert error["message"] == "Internal server error"
    assert error["path"] == ["network"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    error_id = error["extensions"]["errorId"]
    assert isinstance(error_id, str)
    # The error id is the request's id, also in the X-Request-Id header.
    assert error_id == error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert set(error["extensions"]) == {"code", "errorId", "requestId"}
    # The error id is logged together with the real exception, for the operator.
    logged = [
        r for r in caplog.records if r.name == "netzone.graphql" and error_id in r.getMessage()
    ]
    assert logged
    assert logged[0].exc_info is not None
    assert "secret detail" in str(logged[0].exc_info[1])


async def test_unauthenticated_error_is_not_masked(gql: GraphQL) -> None:
    body = await gql("{ network { name } }")
    assert body["data"] is None
    assert (
        body["errors"][0]["message"]
        == "Log in first: this operation needs an authenticated session."
    )
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_invalid_json_gets_a_clear_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=b'{"query": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "Unable to parse request body as JSON",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ],
    }


async def test_unsupported_content_type_gets_a_clear_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=b"{ viewer { systemGroups } }", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "data": None,
        "errors": [{"message": "Unsupported content type", "extensions": {"code": "BAD_REQUEST"}}],
    }


async def test_an_invalid_token_is_treated_as_anonymous(gql: GraphQL) -> None:
    data = await gql.ok(
        "{ viewer { systemGroups patron { username } } }", token="nzs_not-a-real-token"
    )
    assert data == {"viewer": {"systemGroups": [], "patron": None}}
    body = await gql("{ network { name } }", token="nzc_not-a-real-client")
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_a_database_that_cannot_be_reached_is_named_not_masked(
    gql: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.patrons import search

    token = await gql.login("lansing.librarian", "LANSING")

    async def refused(*_: object, **__: object) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    # Both reads fail: the compiled one leaves the request to the general one, which
    # answers.
    monkeypatch.setattr(search, "search_patrons", refused)
    monkeypatch.setattr(search, "search_light", refused)
    body = await gql('{ patrons(institution: "NEKLS") { edges { node { id } } } }', token=token)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert error["extensions"]["errorId"]
    assert error["message"] == "The database cannot be reached right now; try again in a moment."
    # Nothing of the driver's error reaches the client (the error id is random hex, and
    # may itself contain "111").
    shown = str({**body, "errors": [{**error, "extensions": {"code": "SERVICE_UNAVAILABLE"}}]})
    assert "111" not in shown
    assert "refused" not in shown.lower()
