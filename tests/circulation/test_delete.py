"""deletePatron with loans: refused while any is outstanding; history stays, anonymised."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.circulation import LOAN_NODE, CirculationApi, loan_rows
from tests.support.graphql import GraphQL
from tests.support.ids import pk_of
from tests.support.patrons import PatronApi


async def test_delete_waits_for_loans_and_keeps_anonymised_history(
    gql: GraphQL,
    circ: CirculationApi,
    api: PatronApi,
    lansing: str,
    connection: AsyncConnection,
) -> None:
    # Given a patron with one item returned and one still on loan
    patron = await circ.borrower(lansing, surname="Leaving", barcode="LEAVE-1")
    pk = pk_of(patron["id"], "Patron")
    returned = await circ.check_out(lansing, patron["id"], "DL-1")
    await circ.check_in(lansing, "DL-1")
    active = await circ.check_out(lansing, patron["id"], "DL-2")
    # When the librarian deletes the patron
    payload = await api.delete(lansing, patron["id"])
    # Then it is refused and nothing is deleted
    assert payload["deletedId"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("LOANS_OUTSTANDING", ["input", "id"])
    ]
    assert "1 item" in payload["errors"][0]["message"]
    assert (await api.read(lansing, patron["id"])) is not None
    assert await circ.items_on_loan(lansing, patron["id"]) == ["DL-2"]
    assert [r["patron_id"] for r in await loan_rows(connection, "DL-2")] == [pk]
    # When the item is checked in, deletion works
    await circ.check_in(lansing, "DL-2")
    assert await api.delete(lansing, patron["id"]) == {"deletedId": patron["id"], "errors": []}
    assert await api.read(lansing, patron["id"]) is None
    # Then the loan history stays in the loan table, without the patron
    rows = await loan_rows(connection, "DL-1") + await loan_rows(connection, "DL-2")
    assert [(r["item_barcode"], r["patron_id"]) for r in rows] == [("DL-1", None), ("DL-2", None)]
    assert all(r["returned_at"] is not None for r in rows)
    orphans = await connection.execute(
        text("SELECT count(*) FROM loan WHERE patron_id = :pk"), {"pk": pk}
    )
    assert orphans.scalar_one() == 0
    # ... and anonymised loans are no longer shown to anyone
    for loan in (returned, active):
        assert (await gql.ok(LOAN_NODE, {"id": loan["id"]}, lansing))["node"] is None
    # ... while the items can be lent to others
    other = await circ.borrower(lansing, surname="Staying")
    await circ.check_out(lansing, other["id"], "DL-2")
