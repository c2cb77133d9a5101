"""Consortial ids: a person's accounts elsewhere, as network search shows them."""

from __future__ import annotations

from typing import Any

from tests.support.graphql import GraphQL
from tests.support.linking import CREATE_PATRON_ID, FIND, account

UPDATE = (
    """mutation($input: UpdatePatronInput!) { updatePatron(input: $input) { errors { code } } }"""
)


SEARCH = """query($input: NetworkPatronSearchInput!) {
  networkPatronSearch(input: $input) {
    matches { institution { code } surname givenName cohort userGroup { code } ref }
    errors { code }
  }
}"""

CONSORTIAL = """query($id: ID!) { node(id: $id) { ... on Patron {
  consortialAccounts { institution { code } surname givenName cohort userGroup { code } ref }
} } }"""


async def searched(gql: GraphQL, token: str, value: str) -> list[dict[str, Any]]:
    data = await gql.ok(SEARCH, {"input": {"identifier": value}}, token)
    matches: list[dict[str, Any]] = data["networkPatronSearch"]["matches"]
    return matches


async def test_the_same_person_at_eastern_is_listed_as_network_search_shows_it(
    gql: GraphQL,
) -> None:
    # EASTERN lets others find its patrons by every identifier type
    western = await gql.login("western.admin", "WESTERN-MAIN")
    listed = 0
    for n in range(1, 11):
        mine = await account(gql, western, "WESTERN", f"KLN-{n:05d}")
        # Then WESTERN staff see exactly what network search shows them for that id
        assert mine["consortialAccounts"] == await searched(gql, western, f"KLN-{n:05d}")
        listed += len(mine["consortialAccounts"])
    # (a few EASTERN accounts may be restricted, disabled or expired in the demo data)
    assert listed


async def test_a_source_that_allows_other_identifier_types_only_shows_nothing(
    gql: GraphQL,
) -> None:
    # WESTERN lets others find its patrons by university id only: a consortial id
    # reveals nothing of them, as it finds nothing in network search
    eastern = await gql.login("eastern.admin", "EASTERN-MAIN")
    for n in range(1, 11):
        mine = await account(gql, eastern, "EASTERN", f"KLN-{n:05d}")
        assert mine["consortialAccounts"] == []
        assert [
            m
            for m in await searched(gql, eastern, f"KLN-{n:05d}")
            if m["institution"]["code"] == "WESTERN"
        ] == []


async def test_a_dummy_with_someones_consortial_id_learns_no_more_than_a_search(
    gql: GraphQL,
) -> None:
    # Given a NEKLS librarian who registers a dummy patron carrying another person's
    # consortial id
    librarian = await gql.login("lansing.librarian", "LANSING")
    data = await gql.ok(
        CREATE_PATRON_ID,
        {
            "input": {
                "institution": "NEKLS",
                "surname": "Dummy",
                "identifiers": [{"type": "CONSORTIAL_ID", "value": "KLN-00004"}],
            }
        },
        librarian,
    )
    assert data["createPatron"]["errors"] == []
    dummy = data["createPatron"]["patron"]["id"]
    # When it reads the dummy's consortial accounts
    shown = (await gql.ok(CONSORTIAL, {"id": dummy}, librarian))["node"]["consortialAccounts"]
    # Then it sees exactly what networkPatronSearch for that value shows: nothing of
    # WESTERN (found by university id only), and no more fields than the search gives
    assert shown == await searched(gql, librarian, "KLN-00004")
    assert "WESTERN" not in {a["institution"]["code"] for a in shown}


async def test_restricted_or_disabled_accounts_are_not_shown(gql: GraphQL) -> None:
    eastern = await gql.login("eastern.admin", "EASTERN-MAIN")
    western = await gql.login("western.admin", "WESTERN-MAIN")
    shown = None
    for n in range(1, 11):
        # An account that is shown now (not restricted, disabled or expired at EASTERN).
        if len((await account(gql, western, "WESTERN", f"KLN-{n:05d}"))["consortialAccounts"]) == 1:
            shown = (n, await account(gql, eastern, "EASTERN", f"KLN-{n:05d}"))
            break
    assert shown is not None
    n, theirs = shown
    result = await gql.ok(
        UPDATE,
        {"input": {"id": theirs["id"], "expectedVersion": theirs["version"], "enabled": False}},
        eastern,
    )
    assert result["updatePatron"]["errors"] == []
    assert (await account(gql, western, "WESTERN", f"KLN-{n:05d}"))["consortialAccounts"] == []


async def test_circulation_staff_and_other_institutions_see_nothing(gql: GraphQL) -> None:
    circ = await gql.login("eastern.circ", "EASTERN-MAIN")
    assert (await account(gql, circ, "EASTERN", "KLN-00001"))["consortialAccounts"] == []
    nekls = await gql.login("nekls.admin", "LANSING")
    edges = (await gql.ok(FIND, {"institution": "EASTERN", "q": "KLN-00001"}, nekls))["patrons"][
        "edges"
    ]
    assert edges == []
