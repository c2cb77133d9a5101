"""deleteSipAccount: by whoever may change the account, audited; its connections end."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.sip2.server import SipServer
from tests.support.graphql import GraphQL
from tests.support.sip2 import Patrons, SipClient, audit_entries

DELETE = """mutation($input: DeleteSipAccountInput!) {
  deleteSipAccount(input: $input) { deletedId deletedLoginId errors { code message field } }
}"""
ACCOUNTS = 'query { sipAccounts(institution: "NEKLS") { id loginId } }'
NODE = "query($id: ID!) { node(id: $id) { __typename ... on SipAccount { loginId } } }"


async def _delete(gql: GraphQL, token: str, **fields: Any) -> dict[str, Any]:
    data = await gql.ok(DELETE, {"input": fields}, token)
    payload: dict[str, Any] = data["deleteSipAccount"]
    return payload


async def _ids(gql: GraphQL, token: str) -> dict[str, str]:
    data = await gql.ok(ACCOUNTS, token=token)
    return {a["loginId"]: a["id"] for a in data["sipAccounts"]}


async def _accounts(connection: AsyncConnection) -> list[tuple[str, ...]]:
    rows = await connection.execute(text("SELECT * FROM sip_account ORDER BY login_id"))
    return [tuple(str(v) for v in row) for row in rows]


async def test_an_admin_at_lansing_deletes_the_kanopy_account_and_its_connection_ends(
    gql: GraphQL,
    patrons: Patrons,
    sip: SipClient,
    sip_server: SipServer,
    connection: AsyncConnection,
) -> None:
    # Given a vendor logged in with the Kanopy account
    await patrons.create("T-LAN-1")
    assert (await sip.login()).fixed == {"ok": "1"}
    assert (await sip.patron_information("T-LAN-1")).get("XK") == ["ALLOWED"]
    admin = await gql.login("nekls.admin", "LANSING")
    account_id = (await _ids(gql, admin))["kanopy-lansing"]
    assert (await gql.ok(NODE, {"id": account_id}, admin))["node"] == {
        "__typename": "SipAccount",
        "loginId": "kanopy-lansing",
    }
    # When the admin at LANSING deletes it by id
    payload = await _delete(gql, admin, id=account_id)
    # Then it is gone, audited with what it was
    assert payload == {"deletedId": account_id, "deletedLoginId": "kanopy-lansing", "errors": []}
    assert list(await _ids(gql, admin)) == ["nekls-vendor"]
    assert (await gql.ok(NODE, {"id": account_id}, admin))["node"] is None
    [entry] = await audit_entries(connection, "delete_sip_account")
    assert entry["actor"] == "nekls.admin"
    assert entry["changes"] == {
        "loginId": {"before": "kanopy-lansing", "after": None},
        "library": {"before": "LANSING", "after": None},
        "encoding": {"before": "UTF-8", "after": None},
        "aoMode": {"before": "INSTITUTION", "after": None},
        "homeLibraryScreenMessage": {"before": False, "after": None},
        "attributeFields": {
            "before": [{"type": "KANOPY_LANSING", "field": "XK", "send": "CODE"}],
            "after": None,
        },
        "allowEmptyPin": {"before": False, "after": None},
        "enabled": {"before": True, "after": None},
    }
    # ... the open connection is logged out at its next message, with nothing sent
    after = await sip.patron_information("T-LAN-1")
    assert (after.get("BL"), after.get("AF"), after.get("XK")) == (
        ["N"],
        ["Log in first (message 93)."],
        [],
    )
    assert not sip_server.handler.sessions
    # ... and the login id opens nothing any more
    assert (await sip.login()).fixed == {"ok": "0"}


async def test_an_account_is_deleted_by_login_id_from_any_library_when_it_sends_nothing_limited(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    admin = await gql.login("nekls.admin", "BASEHOR")
    payload = await _delete(gql, admin, loginId="nekls-vendor")
    assert (payload["deletedLoginId"], payload["errors"]) == ("nekls-vendor", [])
    assert [row[1] for row in await _accounts(connection)] == ["kanopy-lansing"]


# An account of another institution, or one the session may not administer, does not exist.
NOT_FOUND = (
    {"code": "NOT_FOUND", "message": "There is no such SIP account.", "field": ["input", "id"]},
    {
        "code": "NOT_FOUND",
        "message": "There is no SIP account 'kanopy-lansing'.",
        "field": ["input", "loginId"],
    },
)


@pytest.mark.parametrize(
    ("username", "library", "by_id", "by_login"),
    [
        (
            "lansing.librarian",
            "LANSING",
            *NOT_FOUND,
        ),
        (
            "eastern.admin",
            "EASTERN-MAIN",
            *NOT_FOUND,
        ),
        (
            # The admin at BASEHOR may not hand out Kanopy (LANSING), so may not change or
            # delete an account that is sent it.
            "nekls.admin",
            "BASEHOR",
            {
                "code": "ATTRIBUTE_FORBIDDEN",
                "message": "The SIP account 'kanopy-lansing' is sent Kanopy (LANSING): only "
                "staff logged in at LANSING may delete it.",
                "field": ["input", "id"],
            },
            {
                "code": "ATTRIBUTE_FORBIDDEN",
                "message": "The SIP account 'kanopy-lansing' is sent Kanopy (LANSING): only "
                "staff logged in at LANSING may delete it.",
                "field": ["input", "loginId"],
            },
        ),
    ],
)
async def test_only_who_may_change_the_account_deletes_it(
    gql: GraphQL,
    connection: AsyncConnection,
    username: str,
    library: str,
    by_id: dict[str, Any],
    by_login: dict[str, Any],
) -> None:
    account_id = (await _ids(gql, await gql.login("nekls.admin", "LANSING")))["kanopy-lansing"]
    token = await gql.login(username, library)
    before = await _accounts(connection)
    assert await _delete(gql, token, id=account_id) == {
        "deletedId": None,
        "deletedLoginId": None,
        "errors": [by_id],
    }
    assert await _delete(gql, token, loginId="kanopy-lansing") == {
        "deletedId": None,
        "deletedLoginId": None,
        "errors": [by_login],
    }
    assert await _accounts(connection) == before
    assert await audit_entries(connection, "delete_sip_account") == []


async def test_the_account_is_named_once_and_anonymous_callers_must_log_in(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    before = await _accounts(connection)
    admin = await gql.login("nekls.admin", "LANSING")
    named = {
        "code": "INVALID_INPUT",
        "message": "Name the SIP account by its id or by its login id.",
        "field": ["input"],
    }
    account_id = (await _ids(gql, admin))["kanopy-lansing"]
    assert (await _delete(gql, admin))["errors"] == [named]
    assert (await _delete(gql, admin, id=account_id, loginId="kanopy-lansing"))["errors"] == [named]
    body = await gql(DELETE, {"input": {"loginId": "kanopy-lansing"}})
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert await _accounts(connection) == before
