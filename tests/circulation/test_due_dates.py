"""Due dates: the loan period of the patron's user group (14 days without one), capped at `until`."""

from __future__ import annotations

from datetime import timedelta

from app import clock
from tests.support.circulation import (
    CREATE_USER_GROUP,
    CirculationApi,
    end_of_day,
    parse_time,
)
from tests.support.graphql import GraphQL
from tests.support.patrons import PatronApi


async def test_due_date_is_the_user_groups_loan_period(circ: CirculationApi, lansing: str) -> None:
    # ADULT lends for 21 days, ILL for 42
    adult = await circ.borrower(lansing, userGroup="ADULT")
    ill = await circ.borrower(lansing, userGroup="ILL")
    for patron, item, days in ((adult, "DD-1", 21), (ill, "DD-2", 42)):
        loan = await circ.check_out(lansing, patron["id"], item)
        loaned = parse_time(loan["loanedAt"])
        assert parse_time(loan["dueAt"]) - loaned == timedelta(days=days), loan
        assert loan["returnedAt"] is None


async def test_new_user_group_loan_period(
    gql: GraphQL, circ: CirculationApi, lansing: str, nekls_admin: str
) -> None:
    # Given a user group created with a 3-day loan period
    data = await gql.ok(
        CREATE_USER_GROUP,
        {
            "input": {
                "institution": "NEKLS",
                "code": "SHORT",
                "name": "Short loans",
                "loanPeriodDays": 3,
            }
        },
        nekls_admin,
    )
    assert data["createUserGroup"] == {
        "userGroup": {"code": "SHORT", "loanPeriodDays": 3},
        "errors": [],
    }
    patron = await circ.borrower(lansing, userGroup="SHORT")
    # Then its loans are due in 3 days
    loan = await circ.check_out(lansing, patron["id"], "DD-3")
    assert parse_time(loan["dueAt"]) - parse_time(loan["loanedAt"]) == timedelta(days=3)


async def test_without_user_group_the_default_is_14_days(
    circ: CirculationApi, lansing: str
) -> None:
    patron = await circ.borrower(lansing, userGroup=None)
    assert patron["userGroup"] is None
    loan = await circ.check_out(lansing, patron["id"], "DD-4")
    assert parse_time(loan["dueAt"]) - parse_time(loan["loanedAt"]) == timedelta(days=14)


async def test_due_date_is_capped_at_the_end_of_until(circ: CirculationApi, lansing: str) -> None:
    today = clock.today()
    # Given an adult (21 days) whose access ends in 5 days
    soon = await circ.borrower(lansing, until=str(today + timedelta(days=5)))
    # When they borrow, the item is due at the end of that day, not in 21 days
    loan = await circ.check_out(lansing, soon["id"], "DD-5")
    assert parse_time(loan["dueAt"]) == end_of_day(today + timedelta(days=5))
    assert parse_time(loan["dueAt"]) < parse_time(loan["loanedAt"]) + timedelta(days=21)
    # ... while an `until` after the loan period changes nothing
    later = await circ.borrower(lansing, until=str(today + timedelta(days=60)))
    loan = await circ.check_out(lansing, later["id"], "DD-6")
    assert parse_time(loan["dueAt"]) - parse_time(loan["loanedAt"]) == timedelta(days=21)


async def test_the_cap_follows_until_at_checkout_time(
    circ: CirculationApi, api: PatronApi, lansing: str
) -> None:
    today = clock.today()
    # Given a patron without `until`, then given one
    patron = await circ.borrower(lansing)
    first = await circ.check_out(lansing, patron["id"], "DD-7")
    assert parse_time(first["dueAt"]) - parse_time(first["loanedAt"]) == timedelta(days=21)
    await api.update(
        lansing,
        id=patron["id"],
        expectedVersion=patron["version"],
        until=str(today + timedelta(days=2)),
    )
    # When they borrow again, the new loan is capped
    second = await circ.check_out(lansing, patron["id"], "DD-8")
    assert parse_time(second["dueAt"]) == end_of_day(today + timedelta(days=2))
