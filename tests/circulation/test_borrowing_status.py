"""Patron.borrowing: may this patron borrow now, and why not, by the code checkOut uses."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app import clock
from tests.support.circulation import CirculationApi, loan_count
from tests.support.graphql import GraphQL

BORROWING = """query($id: ID!) {
  node(id: $id) { ... on Patron { borrowing { allowed reasons { code message } } } }
}"""

EASTERN_DISCOVERY = "nzc_demo-eastern-discovery"


async def borrowing(gql: GraphQL, token: str, patron_id: str) -> dict[str, Any]:
    data = await gql.ok(BORROWING, {"id": patron_id}, token)
    assert data["node"] is not None, f"patron {patron_id} is not visible"
    answer: dict[str, Any] = data["node"]["borrowing"]
    return answer


def _accounts() -> list[Any]:
    today = clock.today()
    return [
        pytest.param({"enabled": False}, "DISABLED", "The account is disabled.", id="disabled"),
        pytest.param(
            {"expiryDate": str(today - timedelta(days=1))},
            "EXPIRED",
            f"The account expired on {today - timedelta(days=1)}.",
            id="expired",
        ),
        pytest.param(
            {"until": str(today - timedelta(days=2)), "expiryDate": str(today + timedelta(days=9))},
            "ACCESS_ENDED",
            f"The account's access ended on {today - timedelta(days=2)}.",
            id="past-until",
        ),
        pytest.param(
            {"isGeneric": True, "userGroup": None},
            "GENERIC_ACCOUNT",
            "Generic accounts cannot borrow.",
            id="generic",
        ),
    ]


@pytest.mark.parametrize(("fields", "code", "message"), _accounts())
async def test_borrowing_says_why_and_checkout_agrees(
    gql: GraphQL,
    circ: CirculationApi,
    lansing: str,
    connection: AsyncConnection,
    fields: dict[str, Any],
    code: str,
    message: str,
) -> None:
    # Given a NEKLS account that may not borrow
    patron = await circ.borrower(lansing, **fields)
    # When the desk asks whether it may borrow
    answer = await borrowing(gql, lansing, patron["id"])
    # Then it may not, with the reason
    assert answer == {"allowed": False, "reasons": [{"code": code, "message": message}]}
    # And checkOut refuses with the same sentence, writing nothing
    before = await loan_count(connection)
    error = await circ.refused(lansing, patron["id"], "BS-REFUSED-1")
    assert (error["code"], error["message"]) == ("NOT_ALLOWED_TO_BORROW", message)
    assert await loan_count(connection) == before


async def test_every_reason_is_listed_blocks_last(
    gql: GraphQL, circ: CirculationApi, nekls_admin: str
) -> None:
    # Given a patron who may borrow
    patron = await circ.borrower(nekls_admin)
    assert await borrowing(gql, nekls_admin, patron["id"]) == {"allowed": True, "reasons": []}
    await circ.check_out(nekls_admin, patron["id"], "BS-FINE-1")
    # When a block that stops loans is put on
    await circ.block(nekls_admin, patron["id"])
    blocked = await borrowing(gql, nekls_admin, patron["id"])
    # Then that is the reason, and checkOut refuses the same way unless overridden
    assert blocked == {
        "allowed": False,
        "reasons": [{"code": "BLOCKED", "message": "Blocked: Fines over the limit."}],
    }
    error = await circ.refused(nekls_admin, patron["id"], "BS-FINE-2")
    assert error["code"] == "PATRON_BLOCKED"
    assert "Fines over the limit" in error["message"]
    # And an account that is also disabled and expired lists every reason, in order
    yesterday = clock.today() - timedelta(days=1)
    await circ.patrons.update(
        nekls_admin,
        id=patron["id"],
        expectedVersion=(await circ.patrons.read(nekls_admin, patron["id"]))["version"],
        enabled=False,
        expiryDate=str(yesterday),
    )
    assert [r["code"] for r in (await borrowing(gql, nekls_admin, patron["id"]))["reasons"]] == [
        "DISABLED",
        "EXPIRED",
        "BLOCKED",
    ]


async def test_a_non_student_without_library_group_at_northfield(
    gql: GraphQL, circ: CirculationApi, northfield_admin: str
) -> None:
    teacher = await circ.borrower(
        northfield_admin,
        institution="NORTHFIELD",
        homeLibrary="NORTHFIELD-MAIN",
        userGroup="STAFF",
        isStaff=True,
    )
    assert await borrowing(gql, northfield_admin, teacher["id"]) == {
        "allowed": False,
        "reasons": [
            {
                "code": "NO_LIBRARY_GROUP",
                "message": "A patron who is not a student needs a library group to borrow.",
            }
        ],
    }


async def test_a_discovery_layer_reads_it_for_its_own_patrons_only(
    gql: GraphQL, circ: CirculationApi, eastern_admin: str, lansing: str
) -> None:
    # Given an expired EASTERN patron and a NEKLS patron
    eastern = await circ.borrower(
        eastern_admin,
        institution="EASTERN",
        homeLibrary="EASTERN-MAIN",
        userGroup="GRAD",
        expiryDate=str(clock.today() - timedelta(days=3)),
    )
    nekls = await circ.borrower(lansing)
    # When EASTERN's discovery layer (scope patron_read) asks
    answer = await borrowing(gql, EASTERN_DISCOVERY, eastern["id"])
    # Then it learns the patron may not borrow, and why
    assert answer["allowed"] is False
    assert [r["code"] for r in answer["reasons"]] == ["EXPIRED"]
    # But another institution's patron stays invisible
    data = await gql.ok(BORROWING, {"id": nekls["id"]}, EASTERN_DISCOVERY)
    assert data["node"] is None
