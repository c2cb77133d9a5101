"""Who sees and changes which patrons: institutions are isolated, roles are enforced."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.graphql import GraphQL
from tests.support.patrons import (
    ADD_BLOCK,
    CREATE,
    DELETE,
    PASSWORD,
    READ,
    SEARCH,
    UPDATE,
    PatronApi,
)

NOT_FOUND = {"code": "NOT_FOUND", "message": "There is no such patron.", "field": ["input", "id"]}
EMPTY = {
    "totalCount": 0,
    "pageInfo": {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
    },
    "edges": [],
}


async def nekls_patrons(api: PatronApi, token: str) -> list[dict[str, Any]]:
    """Two NEKLS patrons as their own librarian sees them: a new one and a seeded one."""
    created = await api.create(
        token,
        surname="Private",
        givenName="Petra",
        username="petra",
        password=PASSWORD,
        barcode="PRIV-1",
        primaryEmail="petra@example.org",
    )
    seeded = (await api.search(token, first=1))["edges"][0]["node"]
    full = await api.read(token, seeded["id"])
    assert full is not None
    return [created, full]


@pytest.fixture(
    params=[("eastern.admin", "EASTERN-MAIN"), ("western.librarian", "WESTERN-MAIN")],
    ids=["eastern.admin", "western.librarian"],
)
async def outsider(request: pytest.FixtureRequest, gql: GraphQL) -> str:
    """Staff of another institution, with full rights there."""
    username, library = request.param
    return await gql.login(username, library)


async def test_other_institution_sees_no_nekls_patrons(
    gql: GraphQL, api: PatronApi, lansing: str, outsider: str
) -> None:
    # Given NEKLS patrons
    patrons = await nekls_patrons(api, lansing)
    ids = [p["id"] for p in patrons]
    # When staff of another institution list, search and fetch them
    listing = await api.search(outsider, "NEKLS")
    by_barcode = await api.search(outsider, "NEKLS", search="PRIV-1")
    by_name = await api.search(outsider, "NEKLS", search="Private")
    node = await gql.ok(READ, {"id": ids[0]}, outsider)
    nodes = await gql.ok("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids}, outsider)
    # Then nothing exists for them
    assert listing == by_barcode == by_name == EMPTY
    assert node == {"node": None}
    assert nodes == {"nodes": [None, None]}


async def test_other_institution_cannot_change_nekls_patrons(
    gql: GraphQL, api: PatronApi, lansing: str, outsider: str
) -> None:
    # Given NEKLS patrons
    patrons = await nekls_patrons(api, lansing)
    count = await api.count(lansing)
    for patron in patrons:
        # When staff of another institution update, block or delete them
        update = await gql.ok(
            UPDATE,
            {
                "input": {
                    "id": patron["id"],
                    "expectedVersion": patron["version"],
                    "surname": "Hacked",
                    "systemGroups": ["SYSTEM_ADMIN"],
                }
            },
            outsider,
        )
        block = await gql.ok(ADD_BLOCK, {"id": patron["id"]}, outsider)
        delete = await gql.ok(DELETE, {"id": patron["id"]}, outsider)
        # Then they are NOT_FOUND, as if they did not exist
        assert update["updatePatron"] == {"patron": None, "errors": [NOT_FOUND]}
        assert block["addPatronBlock"] == {
            "patron": None,
            "errors": [{**NOT_FOUND, "field": ["input", "patronId"]}],
        }
        assert delete["deletePatron"] == {"deletedId": None, "errors": [NOT_FOUND]}
        # ... and the patron is unchanged for its own librarian
        assert await api.read(lansing, patron["id"]) == patron
    assert await api.count(lansing) == count
    assert (await api.search(lansing, search="Hacked"))["totalCount"] == 0


async def test_other_institution_cannot_register_nekls_patrons(
    api: PatronApi, lansing: str, outsider: str
) -> None:
    count = await api.count(lansing)
    payload = await api.create_payload(
        outsider, institution="NEKLS", homeLibrary="LANSING", surname="Intruder"
    )
    assert payload == {
        "patron": None,
        "errors": [
            {
                "code": "FORBIDDEN",
                "message": "You may register patrons only in your own institution, as a librarian.",
                "field": None,
            }
        ],
    }
    assert await api.count(lansing) == count
    assert (await api.search(lansing, search="Intruder"))["totalCount"] == 0


async def test_circulation_reads_but_cannot_change(
    gql: GraphQL, api: PatronApi, eastern_admin: str, eastern_circ: str
) -> None:
    # Given an EASTERN patron
    patron = await api.create(
        eastern_admin,
        institution="EASTERN",
        homeLibrary="EASTERN-MAIN",
        surname="Reader",
        barcode="EAST-R1",
    )
    count = await api.count(eastern_admin, "EASTERN")
    # When CIRCULATION staff reads it
    listing = await api.search(eastern_circ, "EASTERN", search="EAST-R1")
    # Then they see it
    assert listing["totalCount"] == 1
    assert listing["edges"][0]["node"]["id"] == patron["id"]
    assert await api.read(eastern_circ, patron["id"]) == patron
    assert await api.count(eastern_circ, "EASTERN") == count == 43  # 40 seeded, 2 staff, 1 new
    # When they try to register, change, block or delete
    create = await api.create_payload(
        eastern_circ, institution="EASTERN", homeLibrary="EASTERN-MAIN", surname="Circmade"
    )
    update = await api.update_payload(
        eastern_circ, id=patron["id"], expectedVersion=1, surname="Changed"
    )
    block = await gql.ok(ADD_BLOCK, {"id": patron["id"]}, eastern_circ)
    delete = await api.delete(eastern_circ, patron["id"])
    # Then each is FORBIDDEN and nothing changed
    assert create == {
        "patron": None,
        "errors": [
            {
                "code": "FORBIDDEN",
                "message": "You may register patrons only in your own institution, as a librarian.",
                "field": None,
            }
        ],
    }
    forbidden = {
        "code": "FORBIDDEN",
        "message": "Only librarians of the patron's institution may change it.",
        "field": None,
    }
    assert update == {"patron": None, "errors": [forbidden]}
    assert block["addPatronBlock"] == {"patron": None, "errors": [forbidden]}
    assert delete == {"deletedId": None, "errors": [forbidden]}
    assert await api.read(eastern_admin, patron["id"]) == patron
    assert await api.count(eastern_admin, "EASTERN") == count
    assert (await api.search(eastern_admin, "EASTERN", search="Circmade"))["totalCount"] == 0


async def test_circulation_sees_only_its_own_institution(
    gql: GraphQL, api: PatronApi, lansing: str, eastern_circ: str
) -> None:
    patron = await api.create(lansing, surname="Elsewhere")
    assert await api.search(eastern_circ, "NEKLS") == EMPTY
    assert await api.read(eastern_circ, patron["id"]) is None


async def test_network_admin_sees_no_patron_data(
    gql: GraphQL, api: PatronApi, lansing: str, network_admin: str
) -> None:
    # Given a NEKLS patron (network.admin's own institution)
    patron = await api.create(lansing, surname="Personal")
    count = await api.count(lansing)
    # When the NETWORK_ADMIN lists, reads and changes patrons
    listings = [
        await api.search(network_admin, code) for code in ("NEKLS", "EASTERN", "NORTHFIELD")
    ]
    node = await api.read(network_admin, patron["id"])
    update = await api.update_payload(
        network_admin, id=patron["id"], expectedVersion=1, surname="Net"
    )
    create = await api.create_payload(
        network_admin, institution="NEKLS", homeLibrary="LANSING", surname="Netmade"
    )
    # Then there is no patron data for them
    assert listings == [EMPTY, EMPTY, EMPTY]
    assert node is None
    assert update == {"patron": None, "errors": [NOT_FOUND]}
    assert create["errors"][0]["code"] == "FORBIDDEN"
    assert await api.read(lansing, patron["id"]) == patron
    assert await api.count(lansing) == count


async def test_patron_sees_themself_only(gql: GraphQL, api: PatronApi, lansing: str) -> None:
    # Given a patron without roles who logs in
    me = await api.create(lansing, surname="Selfish", username="selfish", password=PASSWORD)
    other = await api.create(lansing, surname="Other")
    token = await gql.login("selfish", "LANSING", password=PASSWORD)
    # Then they read their own record but nobody else's, and change nothing
    assert await api.read(token, me["id"]) == me
    assert await api.read(token, other["id"]) is None
    assert await api.search(token, "NEKLS") == EMPTY
    update = await api.update_payload(token, id=me["id"], expectedVersion=1, surname="Renamed")
    assert update["errors"][0]["code"] == "FORBIDDEN"
    assert await api.read(lansing, me["id"]) == me


async def test_anonymous_calls_are_unauthenticated(
    gql: GraphQL, api: PatronApi, lansing: str
) -> None:
    # Given a patron
    patron = await api.create(lansing, surname="Anonymity")
    count = await api.count(lansing)
    # When anonymous callers (no token, or a made-up one) use any patron operation
    calls: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
        (SEARCH, {"institution": "NEKLS"}, None),
        (READ, {"id": patron["id"]}, {"node": None}),  # node is nullable: only it is nulled
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [patron["id"]]}, None),
        (
            CREATE,
            {"input": {"institution": "NEKLS", "homeLibrary": "LANSING", "surname": "Anon"}},
            None,
        ),
        (UPDATE, {"input": {"id": patron["id"], "expectedVersion": 1, "surname": "Anon"}}, None),
        (DELETE, {"id": patron["id"]}, None),
        (ADD_BLOCK, {"id": patron["id"]}, None),
    ]
    for token in (None, "nzs_not-a-real-token"):
        for query, variables, data in calls:
            body = await gql(query, variables, token)
            # Then each gets a top-level UNAUTHENTICATED error and no data
            assert body["data"] == data, query
            assert [e["extensions"] for e in body["errors"]] == [{"code": "UNAUTHENTICATED"}], query
            assert body["errors"][0]["message"] == (
                "Log in first: this operation needs an authenticated session."
            )
    assert await api.read(lansing, patron["id"]) == patron
    assert await api.count(lansing) == count


async def test_nodes_mixes_visible_and_invisible(
    gql: GraphQL, api: PatronApi, lansing: str, eastern_admin: str
) -> None:
    nekls = await api.create(lansing, surname="Hidden")
    eastern = await api.create(
        eastern_admin, institution="EASTERN", homeLibrary="EASTERN-MAIN", surname="Shown"
    )
    data = await gql.ok(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Patron { surname } } }",
        {"ids": [nekls["id"], eastern["id"], nekls["id"]]},
        eastern_admin,
    )
    assert data == {"nodes": [None, {"id": eastern["id"], "surname": "Shown"}, None]}
