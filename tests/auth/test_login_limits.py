"""Who cannot log in: addresses that fail too often, disabled accounts, accounts past `until`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.models import AuthToken, LoginFailure
from app.auth.tokens import token_digest
from app.db import Database
from app.main import create_app
from app.settings import Settings
from tests.support.graphql import GraphQL


def _today() -> date:
    """The date the service checks `until` against (the server's local date)."""
    return date.today()  # noqa: DTZ011


TOO_MANY = {
    "code": "TOO_MANY_ATTEMPTS",
    "message": "Too many failed logins from your address. Wait a minute and try again.",
    "field": None,
}
INVALID = {
    "code": "INVALID_CREDENTIALS",
    "message": "The username or password is not correct.",
    "field": None,
}


async def _count(connection: AsyncConnection, table: str) -> int:
    return int((await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())  # noqa: S608


async def test_fifty_failures_from_one_address_block_the_fifty_first_attempt(
    gql: GraphQL, connection: AsyncConnection, settings: Settings, database: Database
) -> None:
    for n in range(50):
        # Different (unknown) accounts: the account lockout plays no part.
        payload = await gql.login_payload(f"guess.{n}", "LANSING", "wrong-password")
        assert payload == {"token": None, "errors": [INVALID]}, n
    tokens_before = await _count(connection, "auth_token")
    # Even the right password of another account is refused now.
    payload = await gql.login_payload("basehor.librarian", "BASEHOR", "netzone-demo")
    assert payload == {"token": None, "errors": [TOO_MANY]}
    payload = await gql.login_payload("guess.51", "LANSING", "wrong-password")
    assert payload == {"token": None, "errors": [TOO_MANY]}
    assert await _count(connection, "auth_token") == tokens_before
    # The refusals are not counted against the account.
    failed = await connection.execute(
        text("SELECT failed_logins FROM patron WHERE username = 'basehor.librarian'")
    )
    assert failed.scalar_one() == 0

    # Another address is not affected.
    app = create_app(settings, database)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
        other = GraphQL(http)
        assert (await other.login_payload("basehor.librarian", "BASEHOR", "netzone-demo"))[
            "errors"
        ] == []

    # Failures older than a minute no longer count.
    await connection.execute(
        update(LoginFailure).values(at=datetime.now(UTC) - timedelta(seconds=61))
    )
    payload = await gql.login_payload("basehor.librarian", "BASEHOR", "netzone-demo")
    assert payload["errors"] == []
    assert payload["token"].startswith("nzs_")


async def test_forty_nine_failures_still_allow_a_login(gql: GraphQL) -> None:
    for n in range(49):
        assert (await gql.login_payload(f"guess.{n}", "LANSING", "wrong-password"))["errors"] == [
            INVALID
        ]
    payload = await gql.login_payload("lansing.librarian", "LANSING", "netzone-demo")
    assert payload["errors"] == []


async def test_the_address_limit_is_a_setting(settings: Settings, database: Database) -> None:
    app = create_app(settings.model_copy(update={"address_failures_per_minute": 3}), database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
        gql = GraphQL(http)
        for _ in range(3):
            assert (await gql.login_payload("nobody", "LANSING", "wrong-password"))["errors"] == [
                INVALID
            ]
        assert (await gql.login_payload("lansing.librarian", "LANSING", "netzone-demo"))[
            "errors"
        ] == [TOO_MANY]


CREATE = """mutation($u: String!, $enabled: Boolean!, $until: Date) {
  createPatron(input: {institution: "NEKLS", homeLibrary: "LANSING", surname: "Temp",
                       givenName: "Tess", username: $u, password: "temporary-pass",
                       enabled: $enabled, until: $until}) {
    patron { id version } errors { code message field }
  }
}"""


async def _create(
    gql: GraphQL, token: str, username: str, *, enabled: bool = True, until: date | None = None
) -> dict[str, Any]:
    data = await gql.ok(
        CREATE,
        {"u": username, "enabled": enabled, "until": until.isoformat() if until else None},
        token=token,
    )
    assert data["createPatron"]["errors"] == [], data
    patron: dict[str, Any] = data["createPatron"]["patron"]
    return patron


async def test_disabled_accounts_cannot_log_in(gql: GraphQL, connection: AsyncConnection) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    await _create(gql, admin, "tess.disabled", enabled=False)
    tokens_before = await _count(connection, "auth_token")
    payload = await gql.login_payload("tess.disabled", "LANSING", "temporary-pass")
    assert payload == {
        "token": None,
        "errors": [{"code": "FORBIDDEN", "message": "This account is disabled.", "field": None}],
    }
    # A wrong password gets the usual answer: nothing tells the account is disabled.
    assert (await gql.login_payload("tess.disabled", "LANSING", "wrong-password"))["errors"] == [
        INVALID
    ]
    assert await _count(connection, "auth_token") == tokens_before


async def test_accounts_past_until_cannot_log_in(gql: GraphQL, connection: AsyncConnection) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    yesterday = _today() - timedelta(days=1)
    await _create(gql, admin, "tess.expired", until=yesterday)
    await _create(gql, admin, "tess.lastday", until=_today())
    tokens_before = await _count(connection, "auth_token")
    payload = await gql.login_payload("tess.expired", "LANSING", "temporary-pass")
    assert payload == {
        "token": None,
        "errors": [
            {
                "code": "FORBIDDEN",
                "message": f"This account's access ended on {yesterday.isoformat()}.",
                "field": None,
            }
        ],
    }
    assert await _count(connection, "auth_token") == tokens_before
    # `until` is the last day of access.
    assert (await gql.login_payload("tess.lastday", "LANSING", "temporary-pass"))["errors"] == []


async def test_a_session_ends_when_the_account_is_disabled_or_expires(gql: GraphQL) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    for username, change in (
        ("tess.a", {"enabled": False}),
        ("tess.b", {"until": (_today() - timedelta(days=1)).isoformat()}),
    ):
        patron = await _create(gql, admin, username)
        token = await gql.login(username, "LANSING", password="temporary-pass")
        viewer = await gql.ok("{ viewer { patron { id } } }", token=token)
        assert viewer["viewer"]["patron"] == {"id": patron["id"]}
        fields = ", ".join(
            f"{k}: {'false' if v is False else repr(v).replace(chr(39), chr(34))}"
            for k, v in change.items()
        )
        data = await gql.ok(
            "mutation($id: ID!, $v: Int!) { "
            f"updatePatron(input: {{id: $id, expectedVersion: $v, {fields}}}) "
            "{ errors { code } } }",
            {"id": patron["id"], "v": patron["version"]},
            token=admin,
        )
        assert data["updatePatron"]["errors"] == []
        viewer = await gql.ok("{ viewer { patron { id } systemGroups } }", token=token)
        assert viewer["viewer"] == {"patron": None, "systemGroups": []}


async def test_accounts_without_a_password_cannot_log_in(gql: GraphQL) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    data = await gql.ok(
        'mutation { createPatron(input: {institution: "NEKLS", homeLibrary: "LANSING", '
        'surname: "Station", '
        'username: "station.1", isGeneric: true}) { errors { code message field } } }',
        token=admin,
    )
    assert data["createPatron"]["errors"] == []
    for password in ("", "anything-at-all"):
        assert (await gql.login_payload("station.1", "LANSING", password))["errors"] == [INVALID]


async def test_expired_and_revoked_tokens_are_anonymous(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    expired = await gql.login("lansing.librarian", "LANSING")
    revoked = await gql.login("basehor.librarian", "BASEHOR")
    viewer = "{ viewer { patron { username } } }"
    assert (await gql.ok(viewer, token=expired))["viewer"]["patron"] == {
        "username": "lansing.librarian"
    }
    await connection.execute(
        update(AuthToken)
        .where(AuthToken.token_hash == token_digest(expired))
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    assert (await gql.ok(viewer, token=expired))["viewer"]["patron"] is None

    data = await gql.ok("mutation { logout { errors { code } } }", token=revoked)
    assert data["logout"]["errors"] == []
    assert (await gql.ok(viewer, token=revoked))["viewer"]["patron"] is None
    entries = await connection.execute(
        text(
            "SELECT audit_entry.actor_name, patron.username FROM audit_entry "
            "JOIN patron ON patron.id = audit_entry.entity_id "
            "WHERE audit_entry.action = 'logout'"
        )
    )
    assert entries.all() == [("basehor.librarian", "basehor.librarian")]
    # Logging out again changes nothing more.
    await gql.ok("mutation { logout { errors { code } } }", token=revoked)
    count = await connection.execute(
        text("SELECT count(*) FROM audit_entry WHERE action = 'logout'")
    )
    assert count.scalar_one() == 1
