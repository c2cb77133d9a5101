"""One active loan per item, checkIn, and Patron.loans paging."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.circulation import LOAN_NODE, CirculationApi, loan_count, loan_rows, parse_time
from tests.support.graphql import GraphQL
from tests.support.patrons import PatronApi


async def test_an_item_on_loan_cannot_be_lent_again(
    circ: CirculationApi, lansing: str, connection: AsyncConnection
) -> None:
    # Given an item on loan to one patron
    first = await circ.borrower(lansing, surname="First")
    second = await circ.borrower(lansing, surname="Second")
    await circ.check_out(lansing, first["id"], "IT-1")
    before = await loan_count(connection)
    # When it is lent again, to someone else or the same patron, in any spelling
    for patron, item in ((second, "IT-1"), (first, "IT-1"), (second, "  it-1 ")):
        error = await circ.refused(lansing, patron["id"], item)
        # Then it is a conflict and nothing is written
        assert error["code"] == "CONFLICT", error
        assert error["field"] == ["input", "itemBarcode"]
    assert await loan_count(connection) == before
    assert await circ.items_on_loan(lansing, first["id"]) == ["IT-1"]
    assert (await circ.loans(lansing, second["id"]))["totalCount"] == 0


async def test_check_in_returns_the_item_and_it_can_be_lent_again(
    gql: GraphQL,
    circ: CirculationApi,
    api: PatronApi,
    lansing: str,
    connection: AsyncConnection,
) -> None:
    # Given an item on loan
    first = await circ.borrower(lansing, surname="First")
    second = await circ.borrower(lansing, surname="Second")
    lent = await circ.check_out(lansing, first["id"], "IT-2")
    # When it is checked in (barcode as the scanner reads it)
    returned = await circ.check_in(lansing, " it-2 ")
    # Then the same loan is returned now
    assert returned["id"] == lent["id"]
    assert returned["itemBarcode"] == "IT-2"
    assert returned["returnedAt"] is not None
    assert parse_time(returned["returnedAt"]) >= parse_time(lent["loanedAt"])
    assert await circ.items_on_loan(lansing, first["id"]) == []
    history = await circ.loans(lansing, first["id"], active=False)
    assert [e["node"]["id"] for e in history["edges"]] == [lent["id"]]
    node = (await gql.ok(LOAN_NODE, {"id": lent["id"]}, lansing))["node"]
    assert node["returnedAt"] == returned["returnedAt"]
    # ... a second checkIn finds nothing on loan
    again = await circ.check_in_payload(lansing, "IT-2")
    assert again["loan"] is None
    assert [e["code"] for e in again["errors"]] == ["NOT_FOUND"]
    # ... and the item can be lent again
    relent = await circ.check_out(lansing, second["id"], "IT-2")
    assert relent["id"] != lent["id"]
    rows = await loan_rows(connection, "IT-2")
    assert [r["returned_at"] is None for r in rows] == [False, True]
    assert [r["active_item_key"] for r in rows] == [None, "it-2"]
    # ... each step audited on the patrons
    log = [(e["actor"], e["action"]) for e in await api.audit(lansing, first["id"])]
    assert ("lansing.librarian", "check_out") in log
    assert ("lansing.librarian", "check_in") in log
    assert ("lansing.librarian", "check_out") in [
        (e["actor"], e["action"]) for e in await api.audit(lansing, second["id"])
    ]


async def test_check_in_of_an_item_not_on_loan(
    circ: CirculationApi, lansing: str, connection: AsyncConnection
) -> None:
    before = await loan_rows(connection)
    payload = await circ.check_in_payload(lansing, "NEVER-LENT")
    assert payload["loan"] is None
    assert payload["errors"] == [
        {
            "code": "NOT_FOUND",
            "message": "Item NEVER-LENT is not on loan here.",
            "field": ["input", "itemBarcode"],
        }
    ]
    assert await loan_rows(connection) == before


async def test_invalid_checkout_input(
    circ: CirculationApi, lansing: str, connection: AsyncConnection
) -> None:
    patron = await circ.borrower(lansing)
    before = await loan_count(connection)
    # A blank or overlong barcode
    for item in ("   ", "X" * 101):
        error = await circ.refused(lansing, patron["id"], item)
        assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "itemBarcode"])
    # Neither or both of patronId and sourcePatron
    for fields in ({}, {"patronId": patron["id"], "sourcePatron": "abc"}):
        payload = await circ.check_out_payload(lansing, itemBarcode="IT-3", **fields)
        assert payload["loan"] is None
        assert [e["code"] for e in payload["errors"]] == ["INVALID_INPUT"], payload
    # An id that is no patron's
    for bad in ("not-an-id", (await circ.check_out(lansing, patron["id"], "IT-4"))["id"]):
        error = await circ.refused(lansing, bad, "IT-5")
        assert (error["code"], error["field"]) == ("NOT_FOUND", ["input", "patronId"])
    assert await loan_count(connection) == before + 1


async def test_patron_loans_pages_newest_first(circ: CirculationApi, lansing: str) -> None:
    # Given five loans, two of them returned
    patron = await circ.borrower(lansing)
    items = [f"PG-{n}" for n in range(1, 6)]
    ids = [(await circ.check_out(lansing, patron["id"], item))["id"] for item in items]
    await circ.check_in(lansing, "PG-2")
    await circ.check_in(lansing, "PG-4")
    newest_first = list(reversed(ids))
    # When paging two at a time
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = await circ.loans(lansing, patron["id"], first=2, after=after)
        pages += 1
        assert page["totalCount"] == 5
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        edges = page["edges"]
        assert page["pageInfo"]["startCursor"] == edges[0]["cursor"]
        assert page["pageInfo"]["endCursor"] == edges[-1]["cursor"]
        seen += [e["node"]["id"] for e in edges]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # Then every loan comes once, newest first, in three pages
    assert seen == newest_first
    assert pages == 3
    # ... the active filter keeps the three on loan, the inactive one the two returned
    active = await circ.loans(lansing, patron["id"], active=True)
    assert active["totalCount"] == 3
    assert [e["node"]["itemBarcode"] for e in active["edges"]] == ["PG-5", "PG-3", "PG-1"]
    assert all(e["node"]["returnedAt"] is None for e in active["edges"])
    returned = await circ.loans(lansing, patron["id"], active=False, first=1)
    assert returned["totalCount"] == 2
    assert [e["node"]["itemBarcode"] for e in returned["edges"]] == ["PG-4"]
    assert returned["pageInfo"]["hasNextPage"] is True
    rest = await circ.loans(
        lansing, patron["id"], active=False, after=returned["pageInfo"]["endCursor"]
    )
    assert [e["node"]["itemBarcode"] for e in rest["edges"]] == ["PG-2"]
    assert rest["pageInfo"]["hasNextPage"] is False
    # ... first: 0 gives only the count
    empty = await circ.loans(lansing, patron["id"], first=0)
    assert (empty["totalCount"], empty["edges"]) == (5, [])
    # ... and other patrons' loans are not mixed in
    other = await circ.borrower(lansing, surname="Other")
    await circ.check_out(lansing, other["id"], "PG-6")
    assert (await circ.loans(lansing, patron["id"]))["totalCount"] == 5
    assert (await circ.loans(lansing, other["id"]))["totalCount"] == 1
