"""Consortial ids: a person's accounts elsewhere, as network search shows them."""

from __future__ import annotations

from typing import Any

from tests.conftest import GraphQL

FIND = """query($institution: String!, $q: String!) {
  patrons(institution: $institution, filter: {search: $q}) {
    edges { node { id version surname userGroup { code }
      consortialAccounts { institution { code } surname givenName cohort userGroup { code } ref } } }
  }
}"""
UPDATE = (
    """mutation($input: UpdatePatronInput!) { updatePatron(input: $input) { errors { code } } }"""
)


async def account(gql: GraphQL, token: str, institution: str, value: str) -> dict[str, Any]:
    edges = (await gql.ok(FIND, {"institution": institution, "q": value}, token))["patrons"][
        "edges"
    ]
    assert len(edges) == 1, edges
    node: dict[str, Any] = edges[0]["node"]
    return node


async def test_the_same_person_at_western_is_listed_with_shared_fields_only(gql: GraphQL) -> None:
    eastern = await gql.login("eastern.admin", "EASTERN-MAIN")
    western = await gql.login("western.admin", "WESTERN-MAIN")
    listed = []
    for n in range(1, 11):
        mine = await account(gql, eastern, "EASTERN", f"KLN-{n:05d}")
        theirs = await account(gql, western, "WESTERN", f"KLN-{n:05d}")
        if mine["consortialAccounts"]:
            listed.append((mine, theirs))
    # Most of the ten shared ids are shown (a few WESTERN accounts may be restricted,
    # disabled or expired in the generated demo data).
    assert listed
    for mine, theirs in listed:
        [other] = mine["consortialAccounts"]
        assert other["institution"] == {"code": "WESTERN"}
        assert other["surname"] == theirs["surname"]
        assert other["cohort"] is None  # WESTERN does not share cohorts
        assert other["ref"]


async def test_restricted_or_disabled_accounts_are_not_shown(gql: GraphQL) -> None:
    eastern = await gql.login("eastern.admin", "EASTERN-MAIN")
    western = await gql.login("western.admin", "WESTERN-MAIN")
    shown = None
    for n in range(1, 11):
        # An account that is shown now (not restricted, disabled or expired at WESTERN).
        if len((await account(gql, eastern, "EASTERN", f"KLN-{n:05d}"))["consortialAccounts"]) == 1:
            shown = (n, await account(gql, western, "WESTERN", f"KLN-{n:05d}"))
            break
    assert shown is not None
    n, theirs = shown
    result = await gql.ok(
        UPDATE,
        {"input": {"id": theirs["id"], "expectedVersion": theirs["version"], "enabled": False}},
        western,
    )
    assert result["updatePatron"]["errors"] == []
    assert (await account(gql, eastern, "EASTERN", f"KLN-{n:05d}"))["consortialAccounts"] == []


async def test_circulation_staff_and_other_institutions_see_nothing(gql: GraphQL) -> None:
    circ = await gql.login("eastern.circ", "EASTERN-MAIN")
    assert (await account(gql, circ, "EASTERN", "KLN-00001"))["consortialAccounts"] == []
    nekls = await gql.login("nekls.admin", "LANSING")
    edges = (await gql.ok(FIND, {"institution": "EASTERN", "q": "KLN-00001"}, nekls))["patrons"][
        "edges"
    ]
    assert edges == []
