"""Purging linked accounts past their purge date: the service function and `netzone jobs purge`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.auth.policy import system_actor
from app.db import Database
from app.linking.service import purge_linked_accounts
from app.main import create_app
from tests.support.cli import cheap_settings, run_cli, seeded_database
from tests.support.graphql import GraphQL
from tests.support.ids import pk_of
from tests.support.linking import Net, day, eastern_only, today

CHECK_OUT = """mutation($id: ID!, $item: String!) {
  checkOut(input: {patronId: $id, itemBarcode: $item}) { loan { id } errors { code message } }
}"""


def by_group(group: str) -> list[dict[str, Any]]:
    return eastern_only({"parameter": "SOURCE_USER_GROUP", "operator": "EQUALS", "values": [group]})


async def purge_rules(net: Net) -> None:
    """WESTERN purges EASTERN undergraduates' copies yesterday, graduates' today,
    faculty's tomorrow (each expired the day before); WALKIN falls to the default rule
    (no purge date)."""
    for group, offset in (("UNDERGRAD", -1), ("GRAD", 0), ("FACULTY", 1)):
        await net.first_rule(
            "western.admin",
            "WESTERN",
            f"Purge {group}",
            conditions=by_group(group),
            expiry={"mode": "ABSOLUTE", "date": day(offset - 1)},
            purge={"mode": "ABSOLUTE", "date": day(offset)},
        )


async def test_purge_deletes_only_linked_accounts_past_their_purge_date(
    net: Net, database: Database
) -> None:
    # Given WESTERN copies purged yesterday (two), today, tomorrow and never
    await purge_rules(net)
    copies = {}
    for n, group in enumerate(("UNDERGRAD", "UNDERGRAD", "GRAD", "FACULTY", "WALKIN"), start=1):
        await net.eastern_source(n, userGroup=group)
        copies[n] = await net.find_and_link("western.librarian", f"TEST-EU{n:04d}")
    assert [copies[n]["purgeDate"] for n in copies] == [day(-1), day(-1), day(0), day(1), None]
    # And one of the two past its date still has an item on loan (lent while it was valid)
    await net.update("western.librarian", copies[2], expiryDate=day(30))
    loan = await net.gql.ok(
        CHECK_OUT,
        {"id": copies[2]["id"], "item": "TEST-ITEM-1"},
        await net.token("western.librarian"),
    )
    assert loan["checkOut"]["errors"] == []
    await net.update("western.librarian", copies[2], expiryDate=day(-2))
    # And a HOME account (whose purge date means nothing to the job) past such a date
    await net.connection.execute(
        text("UPDATE patron SET purge_date = :d WHERE surname = 'Sourcefield1'"),
        {"d": today() - timedelta(days=5)},
    )
    before = await net.linked_accounts()
    homes = await net.scalar("SELECT count(*) FROM patron WHERE account_type = 'HOME'")
    # When the purge runs
    async with database.session() as session:
        count = await purge_linked_accounts(session=session, actor=system_actor("purge test"))
    # Then only the copy past its purge date without loans is gone
    assert count == 1
    after = await net.linked_accounts()
    assert after == [a for a in before if a["id"] != pk_of(copies[1]["id"])]
    assert len(after) == 4
    assert await net.read("western.librarian", copies[1]["id"]) is None
    # And no HOME account was touched (the sources included)
    assert await net.scalar("SELECT count(*) FROM patron WHERE account_type = 'HOME'") == homes
    # And the purge is audited in the copy's institution
    assert await net.audit("purge_linked_account") == [
        {
            "action": "purge_linked_account",
            "actor_name": "purge test",
            "entity_id": pk_of(copies[1]["id"]),
            "institution_id": await net.institution_id("WESTERN"),
        }
    ]
    # And the source is no longer listed as linked there; linking again makes a new account
    relinked = await net.link(
        "western.librarian", (await net.find("western.librarian", "TEST-EU0001"))["ref"]
    )
    assert relinked["created"] is True
    # And a run on a later day purges what has passed its date by then
    async with database.session() as session:
        later = await purge_linked_accounts(
            session=session, actor=system_actor("purge test"), today=today() + timedelta(days=2)
        )
    assert later == 3  # the re-linked undergraduate, the graduate and faculty; not the loan
    remaining = await net.linked_accounts()
    assert [r["id"] for r in remaining] == [pk_of(copies[2]["id"]), pk_of(copies[5]["id"])]


async def test_a_valid_account_is_never_purged(net: Net, database: Database) -> None:
    # Given a rule that purges yesterday accounts that expire with their source
    await net.first_rule(
        "western.admin",
        "WESTERN",
        "Purge early",
        conditions=eastern_only(),
        expiry={"mode": "SAME_AS_SOURCE"},
        purge={"mode": "ABSOLUTE", "date": day(-1)},
    )
    await net.eastern_source(1, expiryDate=day(60))
    copy = await net.find_and_link("western.librarian", "TEST-EU0001")
    # Then the copy's purge date is its expiry date, not before
    assert (copy["expiryDate"], copy["purgeDate"]) == (day(60), day(60))
    # And a copy made before this rule existed, with a purge date before its expiry,
    # is left alone by the purge while it is valid
    await net.connection.execute(
        text("UPDATE patron SET purge_date = :d WHERE id = :id"),
        {"d": today() - timedelta(days=3), "id": pk_of(copy["id"])},
    )
    before = await net.linked_accounts()
    async with database.session() as session:
        count = await purge_linked_accounts(session=session, actor=system_actor("purge test"))
    assert count == 0
    assert await net.linked_accounts() == before


# ---------------------------------------------------------------- the CLI


@pytest.fixture
async def cli_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[GraphQL, Database]]:
    """A migrated, seeded SQLite file that `netzone` finds through DATABASE_URL, and an app
    on it to make linked accounts through the API."""
    async with seeded_database(tmp_path / "purge.db", monkeypatch) as (url, database):
        transport = httpx.ASGITransport(app=create_app(cheap_settings(url), database))
        async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
            yield GraphQL(http), database


async def _linked(database: Database) -> list[tuple[str, str]]:
    async with database.session() as session:
        rows = await session.execute(
            text(
                "SELECT surname, link_status FROM patron WHERE account_type = 'LINKED' "
                "ORDER BY surname"
            )
        )
        return [tuple(r) for r in rows]


async def test_jobs_purge_deletes_linked_accounts_past_their_purge_date(
    cli_app: tuple[GraphQL, Database],
) -> None:
    gql, database = cli_app
    net = Net(gql, None)  # type: ignore[arg-type]
    # Given WESTERN purges undergraduates' copies yesterday and faculty's tomorrow
    await purge_rules(net)
    await net.eastern_source(1, userGroup="UNDERGRAD")
    await net.eastern_source(2, userGroup="FACULTY")
    first = await net.find_and_link("western.librarian", "TEST-EU0001")
    second = await net.find_and_link("western.librarian", "TEST-EU0002")
    assert (first["purgeDate"], second["purgeDate"]) == (day(-1), day(1))
    assert await _linked(database) == [("Sourcefield1", "ACTIVE"), ("Sourcefield2", "ACTIVE")]
    # When `netzone jobs purge` runs, twice
    result = await run_cli("jobs", "purge")
    again = await run_cli("jobs", "purge")
    # Then the first run purged the one past its date, the second nothing
    assert result.exit_code == 0, result.output
    assert " ".join(result.output.split()) == "Purged 1 linked account(s) past their purge date."
    assert again.exit_code == 0, again.output
    assert " ".join(again.output.split()) == "Purged 0 linked account(s) past their purge date."
    assert await _linked(database) == [("Sourcefield2", "ACTIVE")]
    # And the sources are HOME accounts still
    async with database.session() as session:
        homes = (
            await session.execute(
                text(
                    "SELECT count(*) FROM patron "
                    "WHERE surname LIKE 'Sourcefield%' AND account_type = 'HOME'"
                )
            )
        ).scalar_one()
    assert homes == 2
