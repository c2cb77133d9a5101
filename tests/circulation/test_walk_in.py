"""Walk-ins: checkOut with sourcePatron links the other member's patron first, then lends.

A WESTERN patron (found at EASTERN by UNIV_ID, the only type WESTERN allows) walks into
EASTERN. The demo rule "University students" (WESTERN STUDENT -> WALKIN, 14 days) has no
resource sharing library; the tests add a rule with one where they need it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import clock
from tests.support.circulation import (
    CREATE_RULE,
    LINKED_ACCOUNT,
    NETWORK_SEARCH,
    UNLINK,
    CirculationApi,
    loan_count,
    loan_rows,
    parse_time,
)
from tests.support.graphql import GraphQL
from tests.support.ids import pk_of


@pytest.fixture
async def eastern_desk(circ: CirculationApi, eastern_admin: str) -> str:
    """A CIRCULATION + LIBRARIAN account of EASTERN, logged in at EASTERN-MAIN."""
    _, token = await circ.staff(
        eastern_admin,
        "eastern.desk",
        ["CIRCULATION", "LIBRARIAN"],
        institution="EASTERN",
        homeLibrary="EASTERN-MAIN",
        libraries=["EASTERN-MAIN"],
    )
    return token


async def western_student(
    circ: CirculationApi, western_librarian: str, univ_id: str, **fields: Any
) -> dict[str, Any]:
    return await circ.borrower(
        western_librarian,
        institution="WESTERN",
        homeLibrary="WESTERN-MAIN",
        userGroup="STUDENT",
        surname="Walker",
        givenName="Wanda",
        identifiers=[{"type": "UNIV_ID", "value": univ_id}],
        expiryDate=str(clock.today() + timedelta(days=365)),
        **fields,
    )


async def find(gql: GraphQL, token: str, univ_id: str) -> dict[str, Any]:
    """The one networkPatronSearch match of a UNIV_ID."""
    data = await gql.ok(NETWORK_SEARCH, {"input": {"identifier": univ_id}}, token)
    result = data["networkPatronSearch"]
    assert result["errors"] == [], result
    assert len(result["matches"]) == 1, result
    match: dict[str, Any] = result["matches"][0]
    assert match["institution"] == {"code": "WESTERN"}
    return match


async def walk_in(circ: CirculationApi, token: str, ref: str, item: str) -> dict[str, Any]:
    payload = await circ.check_out_payload(token, sourcePatron=ref, itemBarcode=item)
    assert payload["errors"] == [], payload
    loan: dict[str, Any] = payload["loan"]
    return loan


async def copies_of(connection: AsyncConnection, source_global_id: str) -> list[int]:
    rows = await connection.execute(
        text("SELECT id FROM patron WHERE link_source_patron_id = :s AND account_type = 'LINKED'"),
        {"s": pk_of(source_global_id, "Patron")},
    )
    return [int(r) for r in rows.scalars()]


async def test_walk_in_links_once_and_lends_at_the_session_library(
    gql: GraphQL,
    circ: CirculationApi,
    eastern_desk: str,
    western_librarian: str,
    connection: AsyncConnection,
) -> None:
    # Given a WESTERN student found at EASTERN by university ID, not yet linked
    source = await western_student(circ, western_librarian, "WALK-0001")
    match = await find(gql, eastern_desk, "WALK-0001")
    assert match["linkedAccount"] is None
    assert await copies_of(connection, source["id"]) == []
    # When the EASTERN desk lends an item to the walk-in
    loan = await walk_in(circ, eastern_desk, match["ref"], "WI-1")
    # Then a LINKED account exists, by the demo rule (WALKIN: 14 days)
    copies = await copies_of(connection, source["id"])
    assert len(copies) == 1
    match = await find(gql, eastern_desk, "WALK-0001")
    linked_id = match["linkedAccount"]["id"]
    assert match["linkedAccount"]["accountType"] == "LINKED"
    assert pk_of(linked_id, "Patron") == copies[0]
    linked = (await gql.ok(LINKED_ACCOUNT, {"id": linked_id}, eastern_desk))["node"]
    assert linked["institution"] == {"code": "EASTERN"}
    assert linked["userGroup"] == {"code": "WALKIN"}
    assert linked["linkedFrom"]["rule"] == {"name": "University students"}
    # ... the loan is the linked account's, at the session's library (the rule has none)
    assert loan["library"] == {"code": "EASTERN-MAIN"}
    assert parse_time(loan["dueAt"]) - parse_time(loan["loanedAt"]) == timedelta(days=14)
    assert await circ.items_on_loan(eastern_desk, linked_id) == ["WI-1"]
    # When the same patron walks in again
    again = await walk_in(circ, eastern_desk, match["ref"], "WI-2")
    # Then the account is refreshed, not created again
    assert await copies_of(connection, source["id"]) == copies
    assert again["library"] == {"code": "EASTERN-MAIN"}
    assert await circ.items_on_loan(eastern_desk, linked_id) == ["WI-2", "WI-1"]
    # ... and the loans are EASTERN's: WESTERN sees none on its patron
    assert (await circ.loans(western_librarian, source["id"]))["totalCount"] == 0


async def test_walk_in_uses_the_rules_resource_sharing_library(
    gql: GraphQL,
    circ: CirculationApi,
    eastern_admin: str,
    eastern_desk: str,
    western_librarian: str,
    connection: AsyncConnection,
) -> None:
    # Given a first rule for WESTERN patrons with a resource sharing library
    data = await gql.ok(
        CREATE_RULE,
        {
            "input": {
                "institution": "EASTERN",
                "name": "Western via the law library",
                "conditions": [
                    {"parameter": "SOURCE_INSTITUTION", "operator": "EQUALS", "values": ["WESTERN"]}
                ],
                "userGroup": "GRAD",
                "expiry": {"mode": "NONE"},
                "purge": {"mode": "NONE"},
                "refreshExpiryDate": False,
                "refreshPurgeDate": False,
                "copyNetworkBlocks": False,
                "position": 0,
                "resourceSharingLibrary": "EASTERN-LAW",
            }
        },
        eastern_admin,
    )
    rule = data["createLinkedAccountRule"]
    assert rule["errors"] == [], rule
    assert (rule["rule"]["position"], rule["rule"]["resourceSharingLibrary"]) == (
        0,
        {"code": "EASTERN-LAW"},
    )
    source = await western_student(circ, western_librarian, "WALK-0002")
    match = await find(gql, eastern_desk, "WALK-0002")
    # When the desk at EASTERN-MAIN lends to the walk-in, twice
    first = await walk_in(circ, eastern_desk, match["ref"], "WI-3")
    second = await walk_in(circ, eastern_desk, match["ref"], "WI-4")
    # Then the loans are made at the rule's library, for the rule's group (GRAD: 56 days)
    assert first["library"] == second["library"] == {"code": "EASTERN-LAW"}
    assert parse_time(first["dueAt"]) - parse_time(first["loanedAt"]) == timedelta(days=56)
    # ... by one linked account homed there
    copies = await copies_of(connection, source["id"])
    assert len(copies) == 1
    linked_id = (await find(gql, eastern_desk, "WALK-0002"))["linkedAccount"]["id"]
    linked = (await gql.ok(LINKED_ACCOUNT, {"id": linked_id}, eastern_desk))["node"]
    assert linked["homeLibrary"] == {"code": "EASTERN-LAW"}
    assert linked["userGroup"] == {"code": "GRAD"}
    assert linked["linkedFrom"]["rule"] == {"name": "Western via the law library"}
    # When the linked account is unlinked while it has loans
    payload = (await gql.ok(UNLINK, {"id": linked_id}, eastern_desk))["unlinkAccount"]
    # Then it is refused and nothing is deleted
    assert payload["deletedId"] is None
    assert [e["code"] for e in payload["errors"]] == ["LOANS_OUTSTANDING"]
    assert await copies_of(connection, source["id"]) == copies
    assert await circ.items_on_loan(eastern_desk, linked_id) == ["WI-4", "WI-3"]
    # When both items come back, unlinking works and the history stays anonymised
    await circ.check_in(eastern_desk, "WI-3")
    await circ.check_in(eastern_desk, "WI-4")
    payload = (await gql.ok(UNLINK, {"id": linked_id}, eastern_desk))["unlinkAccount"]
    assert payload == {"deletedId": linked_id, "errors": []}
    assert await copies_of(connection, source["id"]) == []
    rows = await loan_rows(connection, "WI-3") + await loan_rows(connection, "WI-4")
    assert [r["patron_id"] for r in rows] == [None, None]


async def test_walk_in_follows_the_borrowing_rules(
    gql: GraphQL,
    circ: CirculationApi,
    eastern_desk: str,
    western_librarian: str,
    connection: AsyncConnection,
) -> None:
    # Given a WESTERN student with fines (a network block, copied by the demo rule)
    source = await western_student(circ, western_librarian, "WALK-0003")
    await circ.block(western_librarian, source["id"], "FINES")
    match = await find(gql, eastern_desk, "WALK-0003")
    before = await loan_count(connection)
    # When the EASTERN desk lends to the walk-in
    payload = await circ.check_out_payload(
        eastern_desk, sourcePatron=match["ref"], itemBarcode="WI-5"
    )
    # Then the copied block refuses the loan: no loan is written, and no account linked
    assert payload["loan"] is None
    assert [e["code"] for e in payload["errors"]] == ["PATRON_BLOCKED"], payload
    assert await loan_count(connection) == before
    assert await copies_of(connection, source["id"]) == []


async def test_walk_in_needs_a_valid_reference_and_a_librarian(
    gql: GraphQL,
    circ: CirculationApi,
    eastern_admin: str,
    eastern_circ: str,
    western_librarian: str,
    connection: AsyncConnection,
) -> None:
    source = await western_student(circ, western_librarian, "WALK-0004")
    match = await find(gql, eastern_admin, "WALK-0004")
    before = await loan_count(connection)
    # A reference that was not made by networkPatronSearch for EASTERN
    payload = await circ.check_out_payload(
        eastern_admin, sourcePatron=match["ref"] + "x", itemBarcode="WI-6"
    )
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("SOURCE_NOT_FOUND", ["input", "sourcePatron"])
    ]
    # The same forged reference from the desk (CIRCULATION): not found either
    payload = await circ.check_out_payload(
        eastern_circ, sourcePatron=match["ref"] + "x", itemBarcode="WI-6"
    )
    assert [e["code"] for e in payload["errors"]] == ["SOURCE_NOT_FOUND"]
    # Anonymous callers are not authenticated
    body = await gql(
        'mutation($r: ID!) { checkOut(input: {sourcePatron: $r, itemBarcode: "WI-6"}) { loan { id } } }',
        {"r": match["ref"]},
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    # Nothing was linked or lent
    assert await copies_of(connection, source["id"]) == []
    assert await loan_count(connection) == before


async def test_refusals_before_linking(
    gql: GraphQL,
    circ: CirculationApi,
    eastern_admin: str,
    western_librarian: str,
    connection: AsyncConnection,
) -> None:
    # Given EASTERN's discovery layer, which may search and link (scope `linking`)
    discovery = "nzc_demo-eastern-discovery"
    source = await western_student(circ, western_librarian, "WALK-0005")
    match = await find(gql, discovery, "WALK-0005")
    before = await loan_count(connection)
    # When it tries to lend to the walk-in
    payload = await circ.check_out_payload(discovery, sourcePatron=match["ref"], itemBarcode="WI-7")
    # Then it is forbidden (lending is for circulation staff), before anything is linked
    assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"], payload
    assert await copies_of(connection, source["id"]) == []
    assert await loan_count(connection) == before
    # ... and a blank barcode is refused before linking too
    payload = await circ.check_out_payload(
        eastern_admin, sourcePatron=match["ref"], itemBarcode="  "
    )
    assert [e["code"] for e in payload["errors"]] == ["INVALID_INPUT"], payload
    assert await copies_of(connection, source["id"]) == []


LINK_ACCOUNT = """mutation($input: LinkAccountInput!) {
  linkAccount(input: $input) { linkedAccount { id } created errors { code message } }
}"""


async def test_the_desk_finds_walk_ins_by_identifier_only_and_links_only_by_lending(
    gql: GraphQL,
    circ: CirculationApi,
    eastern_admin: str,
    western_librarian: str,
    connection: AsyncConnection,
) -> None:
    # Given a CIRCULATION-only account of EASTERN (the desk) and a WESTERN student
    _, desk = await circ.staff(
        eastern_admin,
        "eastern.clerk",
        ["CIRCULATION"],
        institution="EASTERN",
        homeLibrary="EASTERN-MAIN",
        libraries=["EASTERN-MAIN"],
    )
    source = await western_student(circ, western_librarian, "WALK-0100")
    # The desk finds the student by university ID
    match = await find(gql, desk, "WALK-0100")
    # ... but may not search by name, so it cannot harvest patrons
    by_name = await gql(NETWORK_SEARCH, {"input": {"name": "Walker"}}, desk)
    assert by_name["data"]["networkPatronSearch"]["matches"] == []
    assert by_name["data"]["networkPatronSearch"]["errors"] == [
        {
            "code": "FORBIDDEN",
            "message": "The desk (CIRCULATION) may search other members' patrons by "
            "identifier only; a search by name needs a librarian.",
            "field": None,
        }
    ]
    # ... and may not link outside a checkout: nothing is created
    linked = await gql.ok(
        LINK_ACCOUNT, {"input": {"sourcePatron": match["ref"], "reason": "WALK_IN"}}, desk
    )
    assert linked["linkAccount"]["created"] is None or linked["linkAccount"]["created"] is False
    assert [e["code"] for e in linked["linkAccount"]["errors"]] == ["FORBIDDEN"]
    assert await copies_of(connection, source["id"]) == []
    # The walk-in checkout links and lends
    loan = await walk_in(circ, desk, match["ref"], "WI-DESK-1")
    copies = await copies_of(connection, source["id"])
    assert len(copies) == 1
    assert loan["library"] == {"code": "EASTERN-MAIN"}
    again = await find(gql, desk, "WALK-0100")
    assert again["linkedAccount"]["accountType"] == "LINKED"
    assert pk_of(again["linkedAccount"]["id"], "Patron") == copies[0]


async def test_a_walk_in_checkout_still_needs_the_desk(
    gql: GraphQL,
    circ: CirculationApi,
    eastern_admin: str,
    eastern_desk: str,
    western_librarian: str,
    connection: AsyncConnection,
) -> None:
    # A patron of EASTERN without a staff role cannot lend to a walk-in (nor link one)
    _, nobody = await circ.staff(
        eastern_admin,
        "eastern.reader",
        ["LIBRARY_USERS"],
        institution="EASTERN",
        homeLibrary="EASTERN-MAIN",
        libraries=["EASTERN-MAIN"],
    )
    source = await western_student(circ, western_librarian, "WALK-0101")
    match = await find(gql, eastern_desk, "WALK-0101")
    search = await gql(NETWORK_SEARCH, {"input": {"identifier": "WALK-0101"}}, nobody)
    assert [e["code"] for e in search["data"]["networkPatronSearch"]["errors"]] == ["FORBIDDEN"]
    payload = await circ.check_out_payload(nobody, sourcePatron=match["ref"], itemBarcode="WI-X")
    assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"]
    assert await copies_of(connection, source["id"]) == []
    assert await loan_rows(connection, "WI-X") == []
