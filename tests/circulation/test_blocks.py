"""checkOut and blocks: PATRON_BLOCKED unless overrideBlocks by a session with OVERRIDE_BLOCKS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import UTCDateTime
from tests.support.circulation import (
    CREATE_BLOCK_TYPE,
    CirculationApi,
    loan_count,
    loan_rows,
)
from tests.support.graphql import GraphQL
from tests.support.ids import pk_of
from tests.support.patrons import PatronApi


async def test_blocked_patron_is_refused(
    circ: CirculationApi, lansing: str, connection: AsyncConnection
) -> None:
    # Given a patron with a fines block
    patron = await circ.borrower(lansing)
    await circ.block(lansing, patron["id"], "FINES", note="Owes 40 dollars")
    before = await loan_count(connection)
    # When circulation staff lend without overriding
    error = await circ.refused(lansing, patron["id"], "BL-1")
    # Then the block is named and nothing is written
    assert error["code"] == "PATRON_BLOCKED", error
    assert error["field"] == ["input", "patronId"]
    assert "Fines over the limit" in error["message"]
    assert await loan_count(connection) == before
    assert (await circ.loans(lansing, patron["id"]))["totalCount"] == 0


async def test_override_needs_override_blocks(
    circ: CirculationApi, lansing: str, nekls_admin: str, connection: AsyncConnection
) -> None:
    # Given a blocked patron
    patron = await circ.borrower(lansing)
    await circ.block(lansing, patron["id"], "CONDUCT")
    # When a LIBRARIAN (without OVERRIDE_BLOCKS) overrides
    error = await circ.refused(lansing, patron["id"], "BL-2", overrideBlocks=True)
    # Then it is forbidden and nothing is written
    assert error["code"] == "FORBIDDEN", error
    assert error["field"] == ["input", "overrideBlocks"]
    assert await loan_rows(connection, "BL-2") == []
    # When a SYSTEM_ADMIN (OVERRIDE_BLOCKS by implication) overrides
    loan = await circ.check_out(nekls_admin, patron["id"], "BL-2", overrideBlocks=True)
    # Then the item is lent, at the admin's library
    assert loan["library"] == {"code": "LANSING"}
    assert await circ.items_on_loan(lansing, patron["id"]) == ["BL-2"]
    # ... and overrideBlocks: false is no override
    error = await circ.refused(nekls_admin, patron["id"], "BL-3", overrideBlocks=False)
    assert error["code"] == "PATRON_BLOCKED", error


async def test_granted_override_blocks_lets_circulation_staff_override(
    gql: GraphQL,
    circ: CirculationApi,
    api: PatronApi,
    nekls_admin: str,
    connection: AsyncConnection,
) -> None:
    # Given a CIRCULATION-only desk account and a blocked patron
    desk, token = await circ.staff(
        nekls_admin, "nekls.desk", ["CIRCULATION"], libraries=["BASEHOR"], homeLibrary="BASEHOR"
    )
    patron = await circ.borrower(nekls_admin)
    await circ.block(nekls_admin, patron["id"], "FINES")
    # ... which may lend but not override
    assert (await circ.refused(token, patron["id"], "BL-4", overrideBlocks=True))["code"] == (
        "FORBIDDEN"
    )
    assert await loan_rows(connection, "BL-4") == []
    # When the system administrator grants OVERRIDE_BLOCKS
    updated = await api.update(
        nekls_admin,
        id=desk["id"],
        expectedVersion=desk["version"],
        systemGroups=["CIRCULATION", "OVERRIDE_BLOCKS"],
    )
    assert set(updated["systemGroups"]) == {"LIBRARY_USERS", "CIRCULATION", "OVERRIDE_BLOCKS"}
    token = await gql.login("nekls.desk", "BASEHOR", password="Sesame-Street-42")
    # Then the desk may override, and the loan is made at its library
    loan = await circ.check_out(token, patron["id"], "BL-4", overrideBlocks=True)
    assert loan["library"] == {"code": "BASEHOR"}
    # ... while without overrideBlocks the block still refuses
    assert (await circ.refused(token, patron["id"], "BL-5"))["code"] == "PATRON_BLOCKED"


async def test_expired_blocks_do_not_block(
    circ: CirculationApi, lansing: str, connection: AsyncConnection
) -> None:
    # Given a block that expires in an hour
    patron = await circ.borrower(lansing)
    expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    await circ.block(lansing, patron["id"], "FINES", expiresAt=expires)
    assert (await circ.refused(lansing, patron["id"], "BL-6"))["code"] == "PATRON_BLOCKED"
    # When the hour has passed
    statement = text("UPDATE patron_block SET expires_at = :past WHERE patron_id = :id")
    await connection.execute(
        statement.bindparams(bindparam("past", type_=UTCDateTime)),
        {"past": datetime.now(UTC) - timedelta(minutes=1), "id": pk_of(patron["id"], "Patron")},
    )
    # Then the patron may borrow without any override
    await circ.check_out(lansing, patron["id"], "BL-6")


async def test_block_types_that_do_not_block_loans(
    gql: GraphQL, circ: CirculationApi, lansing: str, nekls_admin: str
) -> None:
    # Given a block type that does not block loans (and the demo's LOST, which does)
    data = await gql.ok(
        CREATE_BLOCK_TYPE,
        {
            "input": {
                "institution": "NEKLS",
                "code": "NOTE",
                "description": "A note for the desk",
                "blocksLoans": False,
            }
        },
        nekls_admin,
    )
    assert data["createBlockType"]["errors"] == [], data
    patron = await circ.borrower(lansing)
    await circ.block(lansing, patron["id"], "NOTE")
    # When the patron borrows: lent
    await circ.check_out(lansing, patron["id"], "BL-7")
    # When a loan-blocking block is added: refused
    await circ.block(lansing, patron["id"], "LOST")
    assert (await circ.refused(lansing, patron["id"], "BL-8"))["code"] == "PATRON_BLOCKED"
