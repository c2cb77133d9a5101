"""checkOut: who may borrow at all (NOT_ALLOWED_TO_BORROW) and nothing is written when refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app import clock
from tests.support.circulation import CirculationApi, end_of_day, loan_count, loan_rows, parse_time
from tests.support.patrons import PatronApi


def _refused_accounts() -> list[Any]:
    today = clock.today()
    return [
        pytest.param({"enabled": False}, "disabled", id="disabled"),
        pytest.param({"expiryDate": str(today - timedelta(days=1))}, "expired", id="expired"),
        pytest.param(
            {
                "until": str(today - timedelta(days=1)),
                "expiryDate": str(today + timedelta(days=30)),
            },
            "access ended",
            id="past-until",
        ),
        pytest.param({"isGeneric": True, "userGroup": None}, "Generic", id="generic"),
    ]


@pytest.mark.parametrize(("fields", "reason"), _refused_accounts())
async def test_accounts_that_may_not_borrow_are_refused(
    circ: CirculationApi,
    lansing: str,
    connection: AsyncConnection,
    fields: dict[str, Any],
    reason: str,
) -> None:
    # Given a NEKLS account that may not borrow
    patron = await circ.borrower(lansing, **fields)
    before = await loan_count(connection)
    # When circulation staff lend it an item
    error = await circ.refused(lansing, patron["id"], "BR-REFUSED-1")
    # Then it is refused with the reason
    assert error["code"] == "NOT_ALLOWED_TO_BORROW", error
    assert error["field"] == ["input", "patronId"]
    assert reason in error["message"], error
    # ... and no loan was written
    assert await loan_count(connection) == before
    assert await loan_rows(connection, "BR-REFUSED-1") == []
    assert (await circ.loans(lansing, patron["id"]))["totalCount"] == 0


async def test_refusal_comes_before_blocks_and_overrides(
    circ: CirculationApi, nekls_admin: str, connection: AsyncConnection
) -> None:
    # Given a disabled and blocked patron
    patron = await circ.borrower(nekls_admin, enabled=False)
    await circ.block(nekls_admin, patron["id"])
    # When someone who may override blocks lends with overrideBlocks
    error = await circ.refused(nekls_admin, patron["id"], "BR-ORDER-1", overrideBlocks=True)
    # Then the account itself may not borrow: overriding blocks does not help
    assert error["code"] == "NOT_ALLOWED_TO_BORROW", error
    assert await loan_rows(connection, "BR-ORDER-1") == []


async def test_boundaries_expiry_and_until_today_may_still_borrow(
    circ: CirculationApi, lansing: str
) -> None:
    today = clock.today()
    # Given accounts that expire today and whose access ends today
    expiring = await circ.borrower(lansing, expiryDate=str(today))
    ending = await circ.borrower(lansing, until=str(today))
    # When they borrow
    first = await circ.check_out(lansing, expiring["id"], "BR-EDGE-1")
    second = await circ.check_out(lansing, ending["id"], "BR-EDGE-2")
    # Then both may; the second is due by the end of today
    assert parse_time(first["dueAt"]) - parse_time(first["loanedAt"]) == timedelta(days=21)
    assert parse_time(second["dueAt"]) == end_of_day(today)


async def test_non_student_without_library_group_may_not_borrow_at_northfield(
    circ: CirculationApi, api: PatronApi, northfield_admin: str, connection: AsyncConnection
) -> None:
    # Given a NORTHFIELD teacher (no form class) in no library group
    teacher = await circ.borrower(
        northfield_admin,
        institution="NORTHFIELD",
        homeLibrary="NORTHFIELD-MAIN",
        userGroup="STAFF",
        isStaff=True,
    )
    # When they borrow
    error = await circ.refused(northfield_admin, teacher["id"], "NF-SET-1")
    # Then it is refused and nothing is written
    assert error["code"] == "NOT_ALLOWED_TO_BORROW", error
    assert "library group" in error["message"]
    assert await loan_rows(connection, "NF-SET-1") == []
    # ... a non-staff non-student is refused too
    guest = await circ.borrower(
        northfield_admin, institution="NORTHFIELD", homeLibrary="NORTHFIELD-MAIN", userGroup=None
    )
    assert (await circ.refused(northfield_admin, guest["id"], "NF-SET-1"))["code"] == (
        "NOT_ALLOWED_TO_BORROW"
    )
    # When the teacher is put in the Teachers group
    teachers = await api.teachers_group_id(northfield_admin)
    await api.update(
        northfield_admin,
        id=teacher["id"],
        expectedVersion=teacher["version"],
        libraryGroups=[teachers],
    )
    # Then they may borrow (STAFF: 28 days)
    loan = await circ.check_out(northfield_admin, teacher["id"], "NF-SET-1")
    assert parse_time(loan["dueAt"]) - parse_time(loan["loanedAt"]) == timedelta(days=28)
    assert loan["library"] == {"code": "NORTHFIELD-MAIN"}
    assert [r["item_barcode"] for r in await loan_rows(connection, "NF-SET-1")] == ["NF-SET-1"]


async def test_students_at_northfield_need_no_library_group(
    circ: CirculationApi, northfield_admin: str
) -> None:
    student = await circ.borrower(
        northfield_admin,
        institution="NORTHFIELD",
        homeLibrary="NORTHFIELD-MAIN",
        userGroup="STUDENT",
        formClass="9B",
        cohort="2030",
    )
    loan = await circ.check_out(northfield_admin, student["id"], "NF-BOOK-1")
    assert parse_time(loan["dueAt"]) - parse_time(loan["loanedAt"]) == timedelta(days=14)


async def test_institutions_without_library_groups_lend_to_non_students(
    circ: CirculationApi, lansing: str
) -> None:
    # NEKLS defines no library groups: an adult in none may borrow.
    adult = await circ.borrower(lansing, isStaff=False)
    assert adult["libraryGroups"] == []
    await circ.check_out(lansing, adult["id"], "NK-BOOK-1")
    assert await circ.items_on_loan(lansing, adult["id"]) == ["NK-BOOK-1"]
