"""API client scopes are delegated, never created: `attribute:<CODE>` only from a session that
may see the type, only for a client of one of its libraries; unknown types are refused;
rotating or revoking a client needs the authority that creating it needs.

Every refusal is checked from the denied side: no client is written, secrets keep working.
"""

from __future__ import annotations

from typing import Any

from tests.support.attributes import KANOPY, AttributeApi
from tests.support.graphql import GraphQL

CREATE = """mutation($scopes: [String!]!, $library: String) {
  createApiClient(input: {institution: "NEKLS", name: "Vendor", scopes: $scopes,
                          library: $library}) {
    client { id scopes library } secret errors { code message field }
  }
}"""

CLIENTS = 'query { apiClients(institution: "NEKLS") { id name scopes library enabled } }'

ROTATE = """mutation($id: ID!) {
  rotateApiClientSecret(input: {id: $id}) { secret errors { code message field } }
}"""

REVOKE = """mutation($id: ID!) {
  revokeApiClient(input: {id: $id}) { client { enabled } errors { code message field } }
}"""

# What a vendor with the Kanopy scope reads.
VALUES = """query { patrons(institution: "NEKLS", first: 100) {
  edges { node { attributes { type { code } values } } } } }"""


def error(code: str, message: str, *field: str) -> dict[str, Any]:
    return {"code": code, "message": message, "field": list(field)}


async def create(
    gql: GraphQL, token: str, scopes: list[str], library: str | None = None
) -> dict[str, Any]:
    data = await gql.ok(CREATE, {"scopes": scopes, "library": library}, token)
    payload: dict[str, Any] = data["createApiClient"]
    return payload


async def clients(gql: GraphQL, token: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await gql.ok(CLIENTS, token=token))["apiClients"]
    return found


async def kanopy_values_seen(gql: GraphQL, secret: str) -> int:
    data = await gql.ok(VALUES, token=secret)
    return sum(
        1
        for edge in data["patrons"]["edges"]
        for attribute in edge["node"]["attributes"]
        if attribute["type"]["code"] == KANOPY
    )


async def test_an_admin_away_from_lansing_cannot_mint_a_kanopy_client(
    gql: GraphQL, admin_basehor: str, admin_lansing: str
) -> None:
    before = await clients(gql, admin_lansing)
    # When the SYSTEM_ADMIN, logged in at BASEHOR, asks for the Kanopy scope
    payload = await create(gql, admin_basehor, ["patron_read", f"attribute:{KANOPY}"], "LANSING")
    # Then it is refused: it may not see Kanopy (LANSING) from BASEHOR, so may not give it
    assert payload == {
        "client": None,
        "secret": None,
        "errors": [
            error(
                "ATTRIBUTE_FORBIDDEN",
                "Kanopy (LANSING) can only be given by staff logged in at LANSING.",
                "input",
                "scopes",
                "1",
            )
        ],
    }
    assert await clients(gql, admin_lansing) == before


async def test_unknown_scopes_and_clients_outside_the_libraries_are_refused(
    gql: GraphQL, admin_lansing: str
) -> None:
    before = await clients(gql, admin_lansing)
    unknown = await create(gql, admin_lansing, ["attribute:NO_SUCH_TYPE", "everything"])
    assert unknown["errors"] == [
        error(
            "INVALID_INPUT",
            "There is no attribute type 'NO_SUCH_TYPE' in this institution.",
            "input",
            "scopes",
            "0",
        ),
        error(
            "INVALID_INPUT",
            "Unknown scope 'everything'; use one of patron_read, linking, patron_auth, email "
            "or attribute:<CODE>.",
            "input",
            "scopes",
            "1",
        ),
    ]
    for library in (None, "BASEHOR"):
        outside = await create(gql, admin_lansing, [f"attribute:{KANOPY}"], library)
        assert outside["errors"] == [
            error(
                "ATTRIBUTE_FORBIDDEN",
                "Kanopy (LANSING) can only be given to clients of LANSING: set the client's "
                "library to one of them.",
                "input",
                "scopes",
                "0",
            )
        ], library
    assert await clients(gql, admin_lansing) == before


async def test_the_allowed_grant_works_and_only_its_grantor_may_rotate_or_revoke_it(
    gql: GraphQL, api: AttributeApi, admin_lansing: str, admin_basehor: str
) -> None:
    # Given a Kanopy client made at LANSING, for LANSING (the allowed grant)
    made = await create(gql, admin_lansing, ["patron_read", f"attribute:{KANOPY}"], "LANSING")
    assert made["errors"] == []
    secret = made["secret"]
    assert await kanopy_values_seen(gql, secret) > 0
    listed = await clients(gql, admin_lansing)
    # When the same administrator, logged in at BASEHOR, rotates or revokes it
    refused = error(
        "FORBIDDEN",
        f"Only someone who may grant all of this client's scopes (attribute:{KANOPY}, "
        "patron_read) can change it: Kanopy (LANSING) can only be given by staff logged in "
        "at LANSING.",
        "input",
        "id",
    )
    rotated = (await gql.ok(ROTATE, {"id": made["client"]["id"]}, admin_basehor))[
        "rotateApiClientSecret"
    ]
    revoked = (await gql.ok(REVOKE, {"id": made["client"]["id"]}, admin_basehor))["revokeApiClient"]
    # Then both are refused, and the client and its secret are as they were
    assert rotated == {"secret": None, "errors": [refused]}
    assert revoked == {"client": None, "errors": [refused]}
    assert await clients(gql, admin_lansing) == listed
    assert await kanopy_values_seen(gql, secret) > 0
    # ... while at LANSING both work
    again = (await gql.ok(ROTATE, {"id": made["client"]["id"]}, admin_lansing))[
        "rotateApiClientSecret"
    ]
    assert again["errors"] == []
    assert await kanopy_values_seen(gql, again["secret"]) > 0


UPDATE = """mutation($id: ID!, $scopes: [String!]) {
  updateApiClient(input: {id: $id, scopes: $scopes}) {
    client { scopes } errors { code message field }
  }
}"""


async def test_a_client_cannot_be_given_a_scope_by_a_change_that_it_could_not_be_created_with(
    gql: GraphQL, admin_basehor: str, admin_lansing: str
) -> None:
    # Given a patron_read client of LANSING, made by the administrator at BASEHOR
    made = await create(gql, admin_basehor, ["patron_read"], "LANSING")
    assert made["errors"] == []
    secret = made["secret"]
    listed = await clients(gql, admin_lansing)
    # When the administrator at BASEHOR changes it to add Kanopy (LANSING), which it may
    # not give from BASEHOR
    payload = (
        await gql.ok(
            UPDATE,
            {"id": made["client"]["id"], "scopes": ["patron_read", f"attribute:{KANOPY}"]},
            admin_basehor,
        )
    )["updateApiClient"]
    # Then it is refused as the creation would be, the client unchanged, its secret
    # still reading no Kanopy value
    assert payload == {
        "client": None,
        "errors": [
            error(
                "ATTRIBUTE_FORBIDDEN",
                "Kanopy (LANSING) can only be given by staff logged in at LANSING.",
                "input",
                "scopes",
                "1",
            )
        ],
    }
    assert await clients(gql, admin_lansing) == listed
    assert await kanopy_values_seen(gql, secret) == 0
    # ... while at LANSING the same change is the allowed grant; after it, the
    # administrator at BASEHOR may no longer change the client, not even to take the
    # scope away again
    given = (
        await gql.ok(
            UPDATE,
            {"id": made["client"]["id"], "scopes": ["patron_read", f"attribute:{KANOPY}"]},
            admin_lansing,
        )
    )["updateApiClient"]
    assert given == {"client": {"scopes": [f"attribute:{KANOPY}", "patron_read"]}, "errors": []}
    assert await kanopy_values_seen(gql, secret) > 0
    listed = await clients(gql, admin_lansing)
    narrowed = (await gql.ok(UPDATE, {"id": made["client"]["id"], "scopes": []}, admin_basehor))[
        "updateApiClient"
    ]
    assert narrowed["client"] is None
    assert [e["code"] for e in narrowed["errors"]] == ["FORBIDDEN"]
    assert await clients(gql, admin_lansing) == listed
    assert await kanopy_values_seen(gql, secret) > 0
