"""Request ids and the log line of each request: the id in the X-Request-Id header, the
log lines and the error bodies; no variables, passwords, tokens or personal data logged."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from app.auth import tokens
from app.db import Database
from app.demo.seed import DEMO_PASSWORD
from app.main import create_app
from app.network import service as network_service
from app.settings import Settings
from tests.support.graphql import GraphQL
from tests.support.ops import LogLines

GENERATED = re.compile(r"[0-9a-f]{32}")

LOGIN = """mutation SignIn($input: LoginInput!) {
  login(input: $input) { token errors { code } }
}"""


@pytest.fixture
async def behind_proxy(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The API behind a trusted reverse proxy (the test client's own address, 127.0.0.1)."""
    app = create_app(settings.model_copy(update={"trusted_proxies": "127.0.0.1"}), database)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
        yield http


async def test_every_response_has_a_new_request_id(client: httpx.AsyncClient) -> None:
    first = await client.get("/healthz")
    second = await client.post("/graphql", json={"query": "{ viewer { systemGroups } }"})
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(GENERATED.fullmatch(i) for i in ids)
    assert ids[0] != ids[1]


async def test_an_incoming_request_id_is_ignored_unless_a_trusted_proxy_sent_it(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/healthz", headers={"x-request-id": "proxy-id-1234"})
    assert GENERATED.fullmatch(response.headers["x-request-id"])


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("0b6f6c1e-3f5d-4b8a-9a57-8f0e4d6c2a11", True),
        ("nginx.7f3a:42_b", True),
        ("has spaces in it", False),
        ("x" * 129, False),
        ('"}{"level":"CRITICAL', False),
    ],
)
async def test_a_trusted_proxy_may_send_a_sane_request_id(
    behind_proxy: httpx.AsyncClient, json_log: LogLines, sent: str, kept: bool
) -> None:
    response = await behind_proxy.post(
        "/graphql",
        json={"query": "{ viewer { systemGroups } }"},
        headers={"x-request-id": sent, "x-forwarded-for": "203.0.113.7"},
    )
    request_id = response.headers["x-request-id"]
    if kept:
        assert request_id == sent
    else:
        assert GENERATED.fullmatch(request_id)
        assert sent not in json_log.text
    assert json_log.access(request_id)["status"] == 200


async def test_one_json_line_per_request_with_its_id_and_nothing_secret(
    gql: GraphQL, client: httpx.AsyncClient, json_log: LogLines
) -> None:
    username = "lansing.librarian"
    login = await client.post(
        "/graphql",
        json={
            "query": LOGIN,
            "variables": {
                "input": {"username": username, "password": DEMO_PASSWORD, "library": "LANSING"}
            },
        },
    )
    token = login.json()["data"]["login"]["token"]
    assert token
    wrong_password = "Sup3r-Secret-Guess!"
    refused = await client.post(
        "/graphql",
        json={
            "query": LOGIN,
            "variables": {
                "input": {"username": username, "password": wrong_password, "library": "LANSING"}
            },
        },
        headers={"authorization": f"Bearer {token}"},
    )
    assert refused.json()["data"]["login"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    # A query by GET carries its variables in the query string.
    by_get = await client.get(
        "/graphql",
        params={
            "query": "query($s: String!) { patrons(institution: $s) { totalCount } }",
            "variables": orjson.dumps({"s": "SEARCH-VARIABLE-NEKLS"}).decode(),
        },
        headers={"authorization": f"Bearer {token}", "accept": "application/json"},
    )
    assert by_get.status_code == 200

    line = json_log.access(login.headers["x-request-id"])
    assert line["level"] == "INFO"
    assert line["method"] == "POST"
    assert line["path"] == "/graphql"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["graphql_fields"] == ["login"]
    assert line["graphql_outcome"] == "ok"
    assert json_log.access(refused.headers["x-request-id"])["graphql_outcome"] == "user_error"
    get_line = json_log.access(by_get.headers["x-request-id"])
    assert get_line["path"] == "/graphql"
    assert get_line["method"] == "GET"
    assert get_line["graphql_fields"] == ["patrons"]

    text = json_log.text
    for secret in (
        DEMO_PASSWORD,
        wrong_password,
        token,
        token[4:],
        username,
        "SEARCH-VARIABLE-NEKLS",
        "SignIn",
        "variables",
    ):
        assert secret not in text, secret


async def test_the_error_id_is_the_request_id(
    gql: GraphQL,
    monkeypatch: pytest.MonkeyPatch,
    json_log: LogLines,
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("failure inside the network read")

    monkeypatch.setattr(network_service, "get_network", broken)
    response = await gql.raw("{ network { name } }", token=token)
    request_id = response.headers["x-request-id"]
    [error] = response.json()["errors"]
    assert error["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "errorId": request_id,
        "requestId": request_id,
    }
    access = json_log.access(request_id)
    assert access["graphql_outcome"] == "error"
    assert access["graphql_fields"] == ["network"]
    [logged] = [
        line
        for line in json_log.lines()
        if line["logger"] == "netzone.graphql" and line["level"] == "ERROR"
    ]
    assert logged["request_id"] == request_id
    assert request_id in logged["message"]
    assert "failure inside the network read" in logged["exc_info"]


async def test_the_503_outside_the_resolvers_carries_the_request_id(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, json_log: LogLines
) -> None:
    async def unreachable(*_: object, **__: object) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(tokens, "authenticate", unreachable)
    response = await client.post(
        "/graphql",
        json={"query": "{ viewer { systemGroups } }"},
        headers={"authorization": "Bearer nzs_some-token-value"},
    )
    assert response.status_code == 503
    request_id = response.headers["x-request-id"]
    [error] = response.json()["errors"]
    assert error["extensions"] == {
        "code": "SERVICE_UNAVAILABLE",
        "errorId": request_id,
        "requestId": request_id,
    }
    access = json_log.access(request_id)
    assert access["status"] == 503
    assert access["graphql_outcome"] == "error"
    assert access["graphql_fields"] == ["other"]
    assert "nzs_some-token-value" not in json_log.text


async def test_the_access_log_can_be_switched_off(
    settings: Settings, database: Database, json_log: LogLines
) -> None:
    app = create_app(settings.model_copy(update={"access_log": False}), database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
        response = await http.get("/healthz")
    assert response.headers["x-request-id"]
    assert not [line for line in json_log.lines() if line["logger"] == "netzone.access"]


def test_the_log_format_defaults_to_json_in_production_only() -> None:
    production = Settings(
        environment="production",
        DATABASE_URL="postgresql://netzone@db.example.org/netzone",  # type: ignore[call-arg]
    )
    assert production.log_format == "json"
    assert Settings(environment="development").log_format == "text"
    assert (
        Settings(
            environment="production", log_format="text", DATABASE_URL="postgresql://x/y"
        ).log_format
        == "text"
    )  # type: ignore[call-arg]
