"""The discovery layer flow ("Get It" at another institution): an API client of the target
with scope `linking` searches and links, under the same rules, restrictions and idempotency."""

from __future__ import annotations

from tests.support.graphql import error
from tests.support.linking import Net

EASTERN_DISCOVERY = "nzc_demo-eastern-discovery"


async def client_secret(net: Net, name: str, scopes: list[str], library: str | None = None) -> str:
    token = await net.token("eastern.admin")
    return await net.gql.api_client(
        token, scopes, name=name, institution="EASTERN", library=library
    )


async def test_discovery_layer_searches_and_links_a_patron(net: Net) -> None:
    # Given a WESTERN student (EASTERN's "University students" rule applies)
    source = await net.western_source(1)
    rules = await net.rules("eastern.admin", "EASTERN")
    students = next(r for r in rules if r["name"] == "University students")
    # When EASTERN's discovery layer searches the patron's university ID
    match = await net.find(EASTERN_DISCOVERY, "TEST-WU0001")
    assert (match["institution"], match["surname"]) == ({"code": "WESTERN"}, "Westsource1")
    # And links the patron for a request
    payload = await net.link(EASTERN_DISCOVERY, match["ref"], "DISCOVERY_REQUEST")
    # Then EASTERN has a linked account made under its rules, at the client's library
    assert payload["created"] is True
    copy = payload["linkedAccount"]
    expiry = students["expiry"]["date"]
    assert {
        k: copy[k]
        for k in ("institution", "homeLibrary", "accountType", "userGroup", "surname", "expiryDate")
    } == {
        "institution": {"code": "EASTERN"},
        "homeLibrary": {"code": "EASTERN-MAIN"},
        "accountType": "LINKED",
        "userGroup": {"code": "WALKIN"},
        "surname": "Westsource1",
        "expiryDate": expiry,
    }
    assert copy["linkedFrom"]["rule"] == {"name": "University students"}
    assert copy["linkedFrom"]["status"] == "ACTIVE"
    # And the reason is recorded
    assert await net.rows("SELECT link_reason FROM patron WHERE account_type = 'LINKED'") == [
        {"link_reason": "DISCOVERY_REQUEST"}
    ]
    # And linking again (the patron requests a second item) refreshes the same account
    again = await net.link(EASTERN_DISCOVERY, match["ref"], "DISCOVERY_REQUEST")
    assert (again["created"], again["linkedAccount"]["id"]) == (False, copy["id"])
    # And EASTERN's staff see the account the client made; the source shows it as linked
    assert await net.read("eastern.admin", copy["id"]) == again["linkedAccount"]
    found = await net.find("eastern.admin", "TEST-WU0001")
    assert found["linkedAccount"] == {"id": copy["id"]}
    assert source["accountType"] == "HOME"
    # And both searches and the link are audited as the client
    entries = await net.audit("network_patron_search", "link_account", "relink_account")
    assert [(e["action"], e["actor_name"]) for e in entries] == [
        ("network_patron_search", "client Eastern discovery layer"),
        ("link_account", "client Eastern discovery layer"),
        ("relink_account", "client Eastern discovery layer"),
        ("network_patron_search", "eastern.admin"),
    ]


async def test_discovery_layer_meets_the_same_restrictions(net: Net) -> None:
    # Given a WESTERN community borrower (restricted at WESTERN) and a student
    await net.western_source(2, userGroup="COMMUNITY")
    student = await net.western_source(3)
    ref = (await net.find(EASTERN_DISCOVERY, "TEST-WU0003"))["ref"]
    # Then the client finds neither the restricted patron nor anyone by barcode
    for identifier in ("TEST-WU0002", "TEST-W0003"):
        assert await net.search(EASTERN_DISCOVERY, identifier=identifier) == {
            "matches": [],
            "errors": [],
        }
    # And WESTERN does not let anyone search it by name
    result = await net.search(EASTERN_DISCOVERY, name="Westsource3", institutions=["WESTERN"])
    assert [e["code"] for e in result["errors"]] == ["NAME_SEARCH_NOT_ALLOWED"]
    # And once the student is disabled, the old ref links nothing
    await net.update("western.librarian", student, enabled=False)
    payload = await net.link_payload(EASTERN_DISCOVERY, ref, "DISCOVERY_REQUEST")
    assert payload["errors"] == [
        error(
            "SOURCE_RESTRICTED",
            "The account is disabled at its home institution.",
            "input",
            "sourcePatron",
        )
    ]
    # And a ref made for another institution is refused
    western_ref = await _nekls_ref_for_western(net)
    payload = await net.link_payload(EASTERN_DISCOVERY, western_ref, "DISCOVERY_REQUEST")
    assert [e["code"] for e in payload["errors"]] == ["SOURCE_NOT_FOUND"]
    assert await net.linked_accounts() == []


async def _nekls_ref_for_western(net: Net) -> str:
    await net.create_source(
        "lansing.librarian",
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Publicpatron",
        barcode="TEST-N0001",
    )
    ref: str = (await net.find("western.librarian", "TEST-N0001"))["ref"]
    return ref


async def test_a_client_without_the_linking_scope_is_forbidden(net: Net) -> None:
    # Given a WESTERN student and an EASTERN client with patron_read only
    await net.western_source(4)
    ref = (await net.find(EASTERN_DISCOVERY, "TEST-WU0004"))["ref"]
    secret = await client_secret(net, "Reader", ["patron_read"], "EASTERN-MAIN")
    forbidden = {
        "code": "FORBIDDEN",
        "message": "Only librarians (or API clients with the linking scope) may search and "
        "link other members' patrons.",
        "field": None,
    }
    # When it searches and links
    result = await net.search(secret, identifier="TEST-WU0004")
    payload = await net.link_payload(secret, ref, "DISCOVERY_REQUEST")
    # Then both are forbidden and nothing is linked
    assert result == {"matches": [], "errors": [forbidden]}
    assert payload == {"linkedAccount": None, "created": None, "errors": [forbidden]}
    assert await net.linked_accounts() == []
    assert await net.audit("network_patron_search", "link_account") == [
        {
            "action": "network_patron_search",
            "actor_name": "client Eastern discovery layer",
            "entity_id": None,
            "institution_id": await net.institution_id("EASTERN"),
        }
    ]
    # While a client with the linking scope and no library of its own links at EASTERN's
    # first library (the first of Institution.libraries)
    linker = await client_secret(net, "Linker", ["linking"])
    linked = await net.link(linker, ref, "DISCOVERY_REQUEST")
    assert linked["created"] is True
    assert linked["linkedAccount"]["homeLibrary"] == {"code": "EASTERN-LAW"}
