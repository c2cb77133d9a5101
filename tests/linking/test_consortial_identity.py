"""One person, no primary: a consortial id shared with a HOME account of the searching
institution means that account, never a copy (seed 001)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import Database
from app.lifecycle.consortial import duplicate_copies
from tests.support.cli import run_cli
from tests.support.graphql import GraphQL
from tests.support.ids import pk_of
from tests.support.linking import CREATE_PATRON_ID, account

SEARCH = """query($input: NetworkPatronSearchInput!) {
  networkPatronSearch(input: $input) {
    matches { ref institution { code } localAccount { id } linkedAccount { id } }
    errors { code }
  }
}"""
LINK = """mutation($ref: ID!) {
  linkAccount(input: {sourcePatron: $ref, reason: WALK_IN}) {
    linkedAccount { id accountType } created errors { code message }
  }
}"""
CHECK_OUT = """mutation($ref: ID!, $item: String!) {
  checkOut(input: {sourcePatron: $ref, itemBarcode: $item}) {
    loan { patron { id } } errors { code message }
  }
}"""


async def linked_count(connection: AsyncConnection, institution: str) -> int:
    rows = await connection.execute(
        text(
            "SELECT count(*) FROM patron p JOIN institution i ON i.id = p.institution_id "
            "WHERE i.code = :c AND p.account_type = 'LINKED'"
        ),
        {"c": institution},
    )
    return int(rows.scalar_one())


async def eastern_match(gql: GraphQL, token: str) -> tuple[str, dict[str, Any]]:
    """A demo consortial id WESTERN holds at home and finds at EASTERN."""
    for n in range(1, 11):
        value = f"KLN-{n:05d}"
        data = await gql.ok(SEARCH, {"input": {"identifier": value}}, token)
        matches = [
            m
            for m in data["networkPatronSearch"]["matches"]
            if m["institution"]["code"] == "EASTERN"
        ]
        if matches:
            return value, matches[0]
    raise AssertionError("no demo consortial id is found at EASTERN")


async def test_a_person_with_a_home_account_here_is_never_copied(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    western = await gql.login("western.admin", "WESTERN-MAIN")
    value, match = await eastern_match(gql, western)
    mine = await account(gql, western, "WESTERN", value)
    # Network search says the person has an account here
    assert match["localAccount"] == {"id": mine["id"]}
    assert match["linkedAccount"] is None
    copies_before = await linked_count(connection, "WESTERN")
    # Linking answers with that HOME account and makes no copy (nor touches the account)
    linked = (await gql.ok(LINK, {"ref": match["ref"]}, western))["linkAccount"]
    assert linked == {
        "linkedAccount": {"id": mine["id"], "accountType": "HOME"},
        "created": False,
        "errors": [],
    }
    assert await linked_count(connection, "WESTERN") == copies_before
    assert (await account(gql, western, "WESTERN", value))["version"] == mine["version"]
    # A walk-in checkout lends to the HOME account
    lent = (await gql.ok(CHECK_OUT, {"ref": match["ref"], "item": "KLN-ITEM-1"}, western))[
        "checkOut"
    ]
    assert lent == {"loan": {"patron": {"id": mine["id"]}}, "errors": []}
    assert await linked_count(connection, "WESTERN") == copies_before


async def test_copies_of_a_person_held_at_home_are_listed_for_merging(
    gql: GraphQL, connection: AsyncConnection, database: Database
) -> None:
    # Given an EASTERN patron with a consortial id WESTERN does not hold yet ...
    eastern = await gql.login("eastern.admin", "EASTERN-MAIN")
    created = await gql.ok(
        CREATE_PATRON_ID,
        {
            "input": {
                "institution": "EASTERN",
                "homeLibrary": "EASTERN-MAIN",
                "userGroup": "UNDERGRAD",
                "surname": "Twofold",
                "givenName": "Tess",
                "identifiers": [
                    {"type": "UNIV_ID", "value": "TWO-E-1"},
                    {"type": "CONSORTIAL_ID", "value": "KLN-TWO-1"},
                ],
            }
        },
        eastern,
    )
    assert created["createPatron"]["errors"] == [], created
    # ... linked at WESTERN as a copy
    western = await gql.login("western.admin", "WESTERN-MAIN")
    data = await gql.ok(SEARCH, {"input": {"identifier": "TWO-E-1"}}, western)
    [match] = data["networkPatronSearch"]["matches"]
    assert match["localAccount"] is None
    linked = (await gql.ok(LINK, {"ref": match["ref"]}, western))["linkAccount"]
    assert linked["created"] is True, linked
    copy_id = linked["linkedAccount"]["id"]
    async with database.session() as session:
        assert await duplicate_copies(session) == []
    # When WESTERN registers the same person at home with the consortial id (as before
    # linking knew consortial ids, the copy does not hold it: the HOME account did)
    await connection.execute(
        text("DELETE FROM patron_identifier WHERE patron_id = :p AND value_key = 'kln-two-1'"),
        {"p": pk_of(copy_id, "Patron")},
    )
    home = await gql.ok(
        CREATE_PATRON_ID,
        {
            "input": {
                "institution": "WESTERN",
                "homeLibrary": "WESTERN-MAIN",
                "userGroup": "STUDENT",
                "surname": "Twofold",
                "givenName": "Tess",
                "identifiers": [{"type": "CONSORTIAL_ID", "value": "KLN-TWO-1"}],
            }
        },
        western,
    )
    assert home["createPatron"]["errors"] == [], home
    home_id = home["createPatron"]["patron"]["id"]
    # Then the copy is listed, to merge into the HOME account
    async with database.session() as session:
        found = await duplicate_copies(session)
    assert [(d.institution, d.source_institution) for d in found] == [("WESTERN", "EASTERN")]
    assert (found[0].copy_id, found[0].home_id) == (
        pk_of(copy_id, "Patron"),
        pk_of(home_id, "Patron"),
    )
    # ... and from now on linking answers with the HOME account
    data = await gql.ok(SEARCH, {"input": {"identifier": "TWO-E-1"}}, western)
    assert data["networkPatronSearch"]["matches"][0]["localAccount"] == {"id": home_id}


async def test_the_cli_report_says_when_there_is_nothing_to_merge(
    cli_database: Database,
) -> None:
    result = await run_cli("check-consortial")
    assert result.exit_code == 0, result.output
    assert "No duplicates" in result.output
