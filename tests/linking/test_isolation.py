"""Staff of a third institution see none of a link; every search and link is audited."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.graphql import error
from tests.support.ids import pk_of
from tests.support.linking import Net

LINKED_PATRONS = """query($i: String!) {
  patrons(institution: $i, filter: {accountType: LINKED}) { totalCount edges { node { id } } }
}"""

CONFIG = """query($i: String!) {
  institution(code: $i) {
    linkedAccountRules { name }
    restrictedUserGroups { userGroup { code } }
  }
}"""

CHECK_OUT = """mutation($id: ID!, $item: String!) {
  checkOut(input: {patronId: $id, itemBarcode: $item}) { loan { id } errors { code message } }
}"""

NO_LINKED_ACCOUNT = error("NOT_FOUND", "There is no such linked account.", "input", "id")


async def linked_patrons(net: Net, username: str, institution: str) -> dict[str, Any]:
    data = await net.gql.ok(LINKED_PATRONS, {"i": institution}, await net.token(username))
    result: dict[str, Any] = data["patrons"]
    return result


@pytest.mark.parametrize("outsider", ["lansing.librarian", "northfield.admin", "western.librarian"])
async def test_other_institutions_see_nothing_of_a_linked_account(net: Net, outsider: str) -> None:
    # Given EASTERN linked a WESTERN student
    await net.western_source(1)
    copy = await net.find_and_link("eastern.admin", "TEST-WU0001")
    # Then EASTERN's staff see it among EASTERN's patrons
    assert await linked_patrons(net, "eastern.admin", "EASTERN") == {
        "totalCount": 1,
        "edges": [{"node": {"id": copy["id"]}}],
    }
    # And staff of another institution (the source's included) do not: not by id, not listed
    assert await net.read(outsider, copy["id"]) is None
    assert await linked_patrons(net, outsider, "EASTERN") == {"totalCount": 0, "edges": []}
    # And they cannot refresh or unlink it: it does not exist for them
    assert await net.refresh_payload(outsider, copy["id"]) == {
        "linkedAccount": None,
        "created": None,
        "errors": [NO_LINKED_ACCOUNT],
    }
    assert await net.unlink(outsider, copy["id"]) == {
        "deletedId": None,
        "errors": [NO_LINKED_ACCOUNT],
    }
    # And EASTERN's rules and restricted groups are not shown to them
    data = await net.gql.ok(CONFIG, {"i": "EASTERN"}, await net.token(outsider))
    assert data["institution"] == {
        "linkedAccountRules": [],
        "restrictedUserGroups": [],
    }
    # And nothing changed
    assert [a["id"] for a in await net.linked_accounts()] == [pk_of(copy["id"])]
    assert await net.read("eastern.admin", copy["id"]) == copy


async def test_refs_from_another_institutions_search_are_refused(net: Net) -> None:
    # Given EASTERN searched a WESTERN student and holds its ref; EASTERN's copy's ref too
    await net.western_source(2)
    ref = (await net.find("eastern.admin", "TEST-WU0002"))["ref"]
    copy = (await net.link("eastern.admin", ref))["linkedAccount"]
    # When NEKLS and NORTHFIELD try to link with them
    for username in ("lansing.librarian", "northfield.admin"):
        for stolen in (ref, copy["linkedFrom"]["ref"]):
            payload = await net.link_payload(username, stolen)
            # Then the source is not found for them and nothing is created
            assert payload == {
                "linkedAccount": None,
                "created": None,
                "errors": [
                    error(
                        "SOURCE_NOT_FOUND",
                        "The patron was not found; search again.",
                        "input",
                        "sourcePatron",
                    )
                ],
            }
    assert [a["target"] for a in await net.linked_accounts()] == ["EASTERN"]


async def test_the_target_unlinks_its_linked_account(net: Net) -> None:
    # Given EASTERN's linked account of a WESTERN student
    source = await net.western_source(4)
    copy = await net.find_and_link("eastern.admin", "TEST-WU0004")
    # When EASTERN unlinks it
    payload = await net.unlink("eastern.admin", copy["id"])
    # Then it is gone; the source stays and no longer lists it
    assert payload == {"deletedId": copy["id"], "errors": []}
    assert await net.read("eastern.admin", copy["id"]) is None
    assert await net.linked_accounts() == []
    query = "query($id: ID!) { node(id: $id) { ... on Patron { linkedAccounts { institution { code } } } } }"
    data = await net.gql.ok(query, {"id": source["id"]}, await net.token("western.librarian"))
    assert data["node"]["linkedAccounts"] == []
    # And an account with an item on loan is not unlinked
    again = await net.link("eastern.admin", (await net.find("eastern.admin", "TEST-WU0004"))["ref"])
    loaned = again["linkedAccount"]
    checkout = await net.gql.ok(
        CHECK_OUT, {"id": loaned["id"], "item": "TEST-ITEM-4"}, await net.token("eastern.admin")
    )
    assert checkout["checkOut"]["errors"] == []
    assert await net.unlink("eastern.admin", loaned["id"]) == {
        "deletedId": None,
        "errors": [
            error(
                "LOANS_OUTSTANDING",
                "The linked account still has 1 item(s) on loan; check them in first.",
                "input",
                "id",
            )
        ],
    }
    assert await net.read("eastern.admin", loaned["id"]) is not None
    # And a HOME account is not a linked account to unlink
    assert await net.unlink("western.librarian", source["id"]) == {
        "deletedId": None,
        "errors": [NO_LINKED_ACCOUNT],
    }
    assert (await net.read("western.librarian", source["id"])) is not None
    # And the link after the unlink made a new account
    assert again["created"] is True
    assert loaned["id"] != copy["id"]
    assert [e["action"] for e in await net.audit("unlink_account")] == ["unlink_account"]


async def test_every_search_and_link_is_audited(net: Net) -> None:
    # Given a WESTERN student
    await net.western_source(5)
    eastern = await net.institution_id("EASTERN")
    nekls = await net.institution_id("NEKLS")
    # When EASTERN searches (finding it), searches again (finding nobody) and links it,
    # and NEKLS searches by name (refused) and links it too
    match = await net.find("eastern.admin", "TEST-WU0005")
    await net.search("eastern.admin", identifier="TEST-NOBODY")
    copy = (await net.link("eastern.admin", match["ref"], "MANUAL"))["linkedAccount"]
    await net.search("lansing.librarian", name="Westsource5", institutions=["WESTERN"])
    nekls_copy = await net.find_and_link("lansing.librarian", "TEST-WU0005")
    # Then each search and each link has an audit entry in the searcher's institution
    assert await net.audit("network_patron_search", "link_account") == [
        {
            "action": "network_patron_search",
            "actor_name": "eastern.admin",
            "entity_id": None,
            "institution_id": eastern,
        },
        {
            "action": "network_patron_search",
            "actor_name": "eastern.admin",
            "entity_id": None,
            "institution_id": eastern,
        },
        {
            "action": "link_account",
            "actor_name": "eastern.admin",
            "entity_id": pk_of(copy["id"]),
            "institution_id": eastern,
        },
        {
            "action": "network_patron_search",
            "actor_name": "lansing.librarian",
            "entity_id": None,
            "institution_id": nekls,
        },
        {
            "action": "network_patron_search",
            "actor_name": "lansing.librarian",
            "entity_id": None,
            "institution_id": nekls,
        },
        {
            "action": "link_account",
            "actor_name": "lansing.librarian",
            "entity_id": pk_of(nekls_copy["id"]),
            "institution_id": nekls,
        },
    ]
    # And the entries say what was searched, what was found and how it was linked
    changes = await net.rows(
        "SELECT changes FROM audit_entry WHERE action IN ('network_patron_search', "
        "'link_account') AND actor_name = 'eastern.admin' ORDER BY id"
    )
    values = [
        c["changes"] if isinstance(c["changes"], dict) else json.loads(c["changes"])
        for c in changes
    ]
    source_id = await net.scalar(
        "SELECT id FROM patron WHERE surname = 'Westsource5' AND account_type = 'HOME'"
    )
    assert values[0]["query"]["after"] == {
        "identifier": "TEST-WU0005",
        "identifierType": None,
        "name": None,
        "institutions": None,
    }
    assert values[0]["matches"]["after"] == [f"WESTERN:{source_id}"]
    assert values[1]["matches"]["after"] == []
    assert values[2] == {
        "source": {"before": None, "after": f"WESTERN:{source_id}"},
        "rule": {"before": None, "after": "University students"},
        "reason": {"before": None, "after": "MANUAL"},
    }


SOURCE_CONFIG = """query($i: String!) {
  institution(code: $i) {
    sharedFields { field shared }
    restrictedUserGroups { userGroup { code } }
    searchableIdentifierTypes { code }
    settings { networkSearchByName }
  }
}"""


@pytest.mark.parametrize("username", ["western.librarian", "eastern.admin", "network.admin"])
async def test_only_the_sources_system_admin_decides_what_it_exposes(
    net: Net, username: str
) -> None:
    # Given WESTERN's sharing configuration
    admin = await net.token("western.admin")
    before = await net.gql.ok(SOURCE_CONFIG, {"i": "WESTERN"}, admin)
    token = await net.token(username)
    forbidden = {
        "code": "FORBIDDEN",
        "message": "Only a system administrator of WESTERN may change its network settings.",
        "field": None,
    }
    # When someone else changes it, every way
    changes = [
        (
            "setSharedFields",
            'setSharedFields(input: {institution: "WESTERN", '
            "fields: [{field: COHORT, shared: true}]})",
        ),
        (
            "addRestrictedUserGroup",
            'addRestrictedUserGroup(input: {institution: "WESTERN", userGroup: "STUDENT"})',
        ),
        (
            "removeRestrictedUserGroup",
            'removeRestrictedUserGroup(input: {institution: "WESTERN", userGroup: "COMMUNITY"})',
        ),
        (
            "addSearchableIdentifierType",
            'addSearchableIdentifierType(input: {institution: "WESTERN", identifierType: "BARCODE"})',
        ),
        (
            "removeSearchableIdentifierType",
            'removeSearchableIdentifierType(input: {institution: "WESTERN", '
            'identifierType: "UNIV_ID"})',
        ),
        (
            "updateInstitutionSettings",
            'updateInstitutionSettings(input: {institution: "WESTERN", networkSearchByName: true})',
        ),
    ]
    for name, mutation in changes:
        data = await net.gql.ok(
            f"mutation {{ {mutation} {{ institution {{ code }} errors {{ code message field }} }} }}",
            token=token,
        )
        # Then it is forbidden
        assert data[name] == {"institution": None, "errors": [forbidden]}, name
    # And nothing changed
    assert await net.gql.ok(SOURCE_CONFIG, {"i": "WESTERN"}, admin) == before
    assert before["institution"]["restrictedUserGroups"] == [{"userGroup": {"code": "COMMUNITY"}}]
    assert before["institution"]["searchableIdentifierTypes"] == [{"code": "UNIV_ID"}]
