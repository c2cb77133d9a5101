"""Grant matrix (spec/platform.md, *Delegation*): every grantable thing x every staff role x
the library the session is logged in at.

Each cell states the outcome the delegation rule demands, written out by hand (not computed
from the code under test): "ok", or the error code of the refusal. Refusals are checked
from the denied side: a digest of every table is unchanged. Allowed grants are checked to
have happened.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.reliability.authz_world import changed_tables, fingerprint
from tests.reliability.counts import record
from tests.support.graphql import GraphQL

PASSWORD = "Grant-matrix-pass-1"

# The sessions: who is logged in where.
SESSIONS = {
    "circulation@LANSING": ("grant.desk", "LANSING"),  # made in the test: CIRCULATION
    "librarian@LANSING": ("lansing.librarian", "LANSING"),
    "librarian@BASEHOR": ("basehor.librarian", "BASEHOR"),
    "system_admin@LANSING": ("nekls.admin", "LANSING"),
    "system_admin@BASEHOR": ("nekls.admin", "BASEHOR"),
    "system_admin_other@EASTERN-MAIN": ("eastern.admin", "EASTERN-MAIN"),
    "network_admin@LANSING": ("network.admin", "LANSING"),
}
COLUMNS = tuple(SESSIONS)

CREATE_PATRON = """mutation($input: CreatePatronInput!) {
  createPatron(input: $input) {
    patron { id systemGroups libraries { code } attributes { type { code } values } }
    errors { code message field }
  }
}"""

UPDATE_PATRON = """mutation($input: UpdatePatronInput!) {
  updatePatron(input: $input) { patron { id phone } errors { code message field } }
}"""

CREATE_CLIENT = """mutation($scopes: [String!]!) {
  createApiClient(input: {institution: "NEKLS", name: "Grant", scopes: $scopes,
                          library: "LANSING"}) {
    client { scopes } secret errors { code message field }
  }
}"""

ROTATE = """mutation($id: ID!) {
  rotateApiClientSecret(input: {id: $id}) { secret errors { code message field } }
}"""

UPDATE_CLIENT = """mutation($id: ID!, $scopes: [String!]) {
  updateApiClient(input: {id: $id, scopes: $scopes}) { client { scopes } errors { code message field } }
}"""

CREATE_SIP = """mutation($fields: [SipAttributeFieldInput!]!) {
  createSipAccount(input: {institution: "NEKLS", loginId: "grant-sip",
                           secret: "Grant-sip-secret-1", library: "LANSING",
                           attributeFields: $fields}) {
    account { loginId } errors { code message field }
  }
}"""

FIND = """query($s: String!) { patrons(institution: "NEKLS", filter: {search: $s}, first: 1) {
  edges { node { id version } } } }"""


@dataclass(frozen=True)
class Grant:
    """One grantable thing: the call that grants it, and the outcome per session."""

    call: Callable[[GraphQL, str, dict[str, Any]], Awaitable[tuple[str, dict[str, Any]]]]
    expect: dict[str, str]


def row(*outcomes: str) -> dict[str, str]:
    assert len(outcomes) == len(COLUMNS)
    return dict(zip(COLUMNS, outcomes, strict=True))


def _staff(home: str, **extra: Any) -> dict[str, Any]:
    return {
        "institution": "NEKLS",
        "surname": "Granted",
        "homeLibrary": home,
        "systemGroups": ["CIRCULATION"],
        **extra,
    }


async def _create(gql: GraphQL, token: str, fields: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    data = await gql.ok(CREATE_PATRON, {"input": fields}, token)
    return "createPatron", data["createPatron"]


def create_patron(**fields: Any) -> Any:
    async def call(gql: GraphQL, token: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return await _create(gql, token, fields)

    return call


def role(name: str) -> Any:
    """A new account holding `name`, at the session's own library (only the role counts)."""

    async def call(gql: GraphQL, token: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        home = ctx["library"] if ctx["library"] != "EASTERN-MAIN" else "LANSING"
        return await _create(gql, token, _staff(home, systemGroups=[name]))

    return call


def scope(*scopes: str) -> Any:
    async def call(gql: GraphQL, token: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        data = await gql.ok(CREATE_CLIENT, {"scopes": list(scopes)}, token)
        return "createApiClient", data["createApiClient"]

    return call


async def sip_field(gql: GraphQL, token: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    fields = [{"attributeType": "KANOPY_LANSING", "fieldCode": "XK"}]
    data = await gql.ok(CREATE_SIP, {"fields": fields}, token)
    return "createSipAccount", data["createSipAccount"]


async def rotation(gql: GraphQL, token: str, ctx: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    data = await gql.ok(ROTATE, {"id": ctx["kanopy_client"]}, token)
    return "rotateApiClientSecret", data["rotateApiClientSecret"]


async def widened_client(
    gql: GraphQL, token: str, ctx: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    scopes = ["patron_read", "attribute:KANOPY_LANSING"]
    data = await gql.ok(UPDATE_CLIENT, {"id": ctx["reader_client"], "scopes": scopes}, token)
    return "updateApiClient", data["updateApiClient"]


async def admin_account(
    gql: GraphQL, token: str, ctx: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    admin = ctx["admin_account"]
    fields = {"id": admin["id"], "expectedVersion": admin["version"], "phone": "555-0000"}
    data = await gql.ok(UPDATE_PATRON, {"input": fields}, token)
    return "updatePatron", data["updatePatron"]


F, AF, NF = "FORBIDDEN", "ATTRIBUTE_FORBIDDEN", "NOT_FOUND"

# circ@L, librarian@L, librarian@B, admin@L, admin@B, other admin, network admin
GRANTS: dict[str, Grant] = {
    "login library LANSING of a staff account": Grant(
        create_patron(**_staff("BASEHOR", libraries=["LANSING"])),
        row(F, "ok", F, "ok", "ok", F, F),
    ),
    "home library LANSING of a staff account": Grant(
        create_patron(**_staff("LANSING")),
        row(F, "ok", F, "ok", "ok", F, F),
    ),
    "home library LANSING of an ordinary patron": Grant(
        create_patron(institution="NEKLS", surname="Ordinary", homeLibrary="LANSING"),
        row(F, "ok", "ok", "ok", "ok", F, F),
    ),
    "role CIRCULATION": Grant(role("CIRCULATION"), row(F, "ok", "ok", "ok", "ok", F, F)),
    "role OVERRIDE_BLOCKS": Grant(role("OVERRIDE_BLOCKS"), row(F, F, F, "ok", "ok", F, F)),
    "role LIBRARIAN": Grant(role("LIBRARIAN"), row(F, F, F, "ok", "ok", F, F)),
    "role SYSTEM_ADMIN": Grant(role("SYSTEM_ADMIN"), row(F, F, F, "ok", "ok", F, F)),
    "role NETWORK_ADMIN": Grant(role("NETWORK_ADMIN"), row(F, F, F, F, F, F, F)),
    "attribute value Kanopy (LANSING)": Grant(
        create_patron(
            institution="NEKLS",
            surname="Streamer",
            homeLibrary="LANSING",
            attributes=[{"type": "KANOPY_LANSING", "values": ["ALLOWED"]}],
        ),
        row(F, "ok", AF, "ok", AF, F, F),
    ),
    "scope patron_read": Grant(scope("patron_read"), row(F, F, F, "ok", "ok", F, F)),
    "scope attribute:KANOPY_LANSING": Grant(
        scope("attribute:KANOPY_LANSING"), row(F, F, F, "ok", AF, F, F)
    ),
    "SIP field for Kanopy (LANSING)": Grant(sip_field, row(F, F, F, "ok", AF, F, F)),
    "secret rotation of a Kanopy client": Grant(rotation, row(NF, NF, NF, "ok", F, NF, NF)),
    "scope attribute:KANOPY_LANSING added to a client": Grant(
        widened_client, row(NF, NF, NF, "ok", AF, NF, NF)
    ),
    "any change of an administrator's account": Grant(
        admin_account, row(F, F, F, "ok", "ok", NF, NF)
    ),
}

CELLS = [(thing, session) for thing in GRANTS for session in COLUMNS]


async def _set_up(gql: GraphQL) -> dict[str, Any]:
    """A CIRCULATION desk at LANSING and a Kanopy client, made by the system administrator
    at LANSING (who may make both)."""
    admin = await gql.login("nekls.admin", "LANSING")
    _, desk = await _create(
        gql,
        admin,
        {
            **_staff("LANSING"),
            "surname": "Desk",
            "username": "grant.desk",
            "password": PASSWORD,
        },
    )
    assert desk["errors"] == [], desk
    data = await gql.ok(
        """mutation { createApiClient(input: {institution: "NEKLS", name: "Kanopy",
             scopes: ["attribute:KANOPY_LANSING"], library: "LANSING"}) { errors { code } } }""",
        token=admin,
    )
    assert data["createApiClient"]["errors"] == []
    data = await gql.ok(
        """mutation { createApiClient(input: {institution: "NEKLS", name: "Reader",
             scopes: ["patron_read"], library: "LANSING"}) { errors { code } } }""",
        token=admin,
    )
    assert data["createApiClient"]["errors"] == []
    clients = await gql.ok('query { apiClients(institution: "NEKLS") { id name } }', token=admin)
    kanopy = [c["id"] for c in clients["apiClients"] if c["name"] == "Kanopy"]
    reader = [c["id"] for c in clients["apiClients"] if c["name"] == "Reader"]
    found = await gql.ok(FIND, {"s": "nekls.admin"}, admin)
    return {
        "kanopy_client": kanopy[-1],
        "reader_client": reader[-1],
        "admin_account": found["patrons"]["edges"][0]["node"],
    }


@pytest.mark.parametrize(("thing", "session"), CELLS)
async def test_grant(gql: GraphQL, connection: AsyncConnection, thing: str, session: str) -> None:
    ctx = await _set_up(gql)
    username, library = SESSIONS[session]
    ctx["library"] = library
    token = await gql.login(
        username, library, PASSWORD if username == "grant.desk" else "netzone-demo"
    )
    grant = GRANTS[thing]
    expected = grant.expect[session]
    before = await fingerprint(connection)
    name, payload = await grant.call(gql, token, ctx)
    codes = [e["code"] for e in payload["errors"]]
    where = f"{thing} by {session}: {payload}"
    if expected == "ok":
        assert codes == [], where
        assert changed_tables(before, await fingerprint(connection)) != [], where
    else:
        assert codes, where
        assert codes[0] == expected, where
        assert changed_tables(before, await fingerprint(connection)) == [], where
    record("grant matrix: grantable thing x session checks")
