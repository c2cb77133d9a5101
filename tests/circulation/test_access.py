"""Who may lend, return and see loans: circulation staff of the patron's institution only."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.circulation import CHECK_IN, CHECK_OUT, LOAN_NODE, CirculationApi, loan_rows
from tests.support.graphql import GraphQL
from tests.support.patrons import PASSWORD


async def test_other_institutions_cannot_lend_to_or_see_loans_of_our_patrons(
    gql: GraphQL,
    circ: CirculationApi,
    lansing: str,
    eastern_circ: str,
    connection: AsyncConnection,
) -> None:
    # Given a NEKLS patron with an item on loan
    patron = await circ.borrower(lansing)
    loan = await circ.check_out(lansing, patron["id"], "AC-1")
    before = await loan_rows(connection)
    # When EASTERN circulation staff lend to that patron
    error = await circ.refused(eastern_circ, patron["id"], "AC-2")
    # Then there is no such patron for them, and nothing is written
    assert (error["code"], error["field"]) == ("NOT_FOUND", ["input", "patronId"])
    assert await loan_rows(connection) == before
    # ... they see neither the patron, its loans, nor the loan itself
    assert (await gql.ok(LOAN_NODE, {"id": loan["id"]}, eastern_circ))["node"] is None
    data = await gql.ok(
        "query($id: ID!) { node(id: $id) { ... on Patron { loans { totalCount } } } }",
        {"id": patron["id"]},
        eastern_circ,
    )
    assert data["node"] is None
    # ... and checking in the same barcode does not return NEKLS's item
    payload = await circ.check_in_payload(eastern_circ, "AC-1")
    assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]
    assert await loan_rows(connection) == before
    assert await circ.items_on_loan(lansing, patron["id"]) == ["AC-1"]


async def test_barcodes_are_per_institution(
    circ: CirculationApi, lansing: str, eastern_admin: str
) -> None:
    # The same barcode on loan at NEKLS is another item at EASTERN
    nekls = await circ.borrower(lansing)
    eastern = await circ.borrower(
        eastern_admin, institution="EASTERN", homeLibrary="EASTERN-MAIN", userGroup="UNDERGRAD"
    )
    await circ.check_out(lansing, nekls["id"], "SHARED-1")
    loan = await circ.check_out(eastern_admin, eastern["id"], "SHARED-1")
    assert loan["library"] == {"code": "EASTERN-MAIN"}
    # ... and each institution checks in only its own
    await circ.check_in(eastern_admin, "SHARED-1")
    assert await circ.items_on_loan(lansing, nekls["id"]) == ["SHARED-1"]


async def test_anonymous_callers_are_unauthenticated(
    gql: GraphQL, circ: CirculationApi, lansing: str, connection: AsyncConnection
) -> None:
    patron = await circ.borrower(lansing)
    loan = await circ.check_out(lansing, patron["id"], "AN-1")
    before = await loan_rows(connection)
    for query, variables in (
        (CHECK_OUT, {"input": {"patronId": patron["id"], "itemBarcode": "AN-2"}}),
        (CHECK_IN, {"item": "AN-1"}),
    ):
        body = await gql(query, variables)
        assert body["data"] is None, body
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert await loan_rows(connection) == before
    body = await gql(LOAN_NODE, {"id": loan["id"]})
    assert body["data"] == {"node": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_patrons_see_their_own_loans_but_cannot_lend(
    gql: GraphQL, circ: CirculationApi, lansing: str, connection: AsyncConnection
) -> None:
    # Given a patron who logs in, with an item on loan
    patron = await circ.borrower(lansing, username="reader", password=PASSWORD)
    loan = await circ.check_out(lansing, patron["id"], "OWN-1")
    other = await circ.borrower(lansing, surname="Other")
    token = await gql.login("reader", "LANSING", password=PASSWORD)
    before = await loan_rows(connection)
    # Then they see their own loans
    mine = await gql.ok(
        "{ viewer { patron { loans { totalCount edges { node { itemBarcode } } } } } }",
        token=token,
    )
    assert mine["viewer"]["patron"]["loans"] == {
        "totalCount": 1,
        "edges": [{"node": {"itemBarcode": "OWN-1"}}],
    }
    assert (await gql.ok(LOAN_NODE, {"id": loan["id"]}, token))["node"]["itemBarcode"] == "OWN-1"
    # ... but may not lend to themselves, nor see or lend to others
    assert (await circ.refused(token, patron["id"], "OWN-2"))["code"] == "FORBIDDEN"
    assert (await circ.refused(token, other["id"], "OWN-2"))["code"] == "NOT_FOUND"
    # ... nor check items in
    payload = await circ.check_in_payload(token, "OWN-1")
    assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"]
    assert await loan_rows(connection) == before
