"""Cohort and form class come from the institution's lists where it has one, on every path
that sets them (create, update, merge); without a list they stay free text."""

from __future__ import annotations

from typing import Any

from tests.support.graphql import GraphQL
from tests.support.network import add, remove
from tests.support.patrons import PatronApi

MERGE = """mutation($input: MergePatronsInput!) {
  mergePatrons(input: $input) { patron { id cohort formClass } errors { code message field } }
}"""


def refusal(message: str, field: str) -> list[dict[str, Any]]:
    return [{"code": "INVALID_INPUT", "message": message, "field": ["input", field]}]


async def test_without_a_list_any_text_is_taken(api: PatronApi, lansing: str) -> None:
    patron = await api.create(lansing, surname="Freetext", cohort="banana", formClass="Zebra 9")
    assert (patron["cohort"], patron["formClass"]) == ("banana", "Zebra 9")


async def test_create_takes_listed_values_in_their_spelling_and_refuses_others(
    gql: GraphQL, api: PatronApi, lansing: str, nekls_admin: str
) -> None:
    # Given NEKLS lists the cohorts 2027 and 2028 and the form class 7A
    for kind, value in (("COHORT", "2027"), ("COHORT", "2028"), ("FORM_CLASS", "7A")):
        assert (await add(gql, nekls_admin, kind, value))["errors"] == []
    count = await api.count(lansing)
    # When a librarian registers a patron with values not listed
    refused = await api.create_payload(
        lansing,
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Banana",
        cohort="banana",
        formClass="7C",
    )
    # Then both fields are refused, naming the allowed values, and nothing is written
    assert refused["patron"] is None
    assert refused["errors"] == [
        *refusal("'banana' is not a cohort of NEKLS: choose one of 2027, 2028.", "cohort"),
        *refusal("'7C' is not a form class of NEKLS: choose one of 7A.", "formClass"),
    ]
    assert await api.count(lansing) == count
    # And a listed value in another case is stored as listed
    patron = await api.create(lansing, surname="Listed", cohort=" 2027 ", formClass="7a")
    assert (patron["cohort"], patron["formClass"]) == ("2027", "7A")
    # And clearing them is allowed
    cleared = await api.update(
        lansing, id=patron["id"], expectedVersion=patron["version"], cohort=None, formClass=None
    )
    assert (cleared["cohort"], cleared["formClass"]) == (None, None)


async def test_update_refuses_unlisted_values_and_keeps_what_the_patron_had(
    gql: GraphQL, api: PatronApi, lansing: str, nekls_admin: str
) -> None:
    # Given a patron whose cohort predates the list
    patron = await api.create(lansing, surname="Legacy", cohort="Class of 27")
    assert (await add(gql, nekls_admin, "COHORT", "2027"))["errors"] == []
    # When a librarian sets an unlisted cohort
    refused = await api.update_payload(
        lansing, id=patron["id"], expectedVersion=patron["version"], cohort="2030"
    )
    # Then it is refused and the patron is unchanged
    assert refused["patron"] is None
    assert refused["errors"] == refusal(
        "'2030' is not a cohort of NEKLS: choose one of 2027.", "cohort"
    )
    assert await api.read(lansing, patron["id"]) == patron
    # And an edit that repeats the value it has (not listed) goes through
    renamed = await api.update(
        lansing,
        id=patron["id"],
        expectedVersion=patron["version"],
        givenName="Lee",
        cohort="Class of 27",
    )
    assert (renamed["givenName"], renamed["cohort"]) == ("Lee", "Class of 27")
    # And a listed value replaces it
    listed = await api.update(
        lansing, id=patron["id"], expectedVersion=renamed["version"], cohort="2027"
    )
    assert listed["cohort"] == "2027"


async def test_a_long_list_is_named_by_its_size(
    gql: GraphQL, api: PatronApi, lansing: str, nekls_admin: str
) -> None:
    for year in range(7, 13):
        for group in "ABC":
            assert (await add(gql, nekls_admin, "FORM_CLASS", f"{year}{group}"))["errors"] == []
    refused = await api.create_payload(
        lansing, institution="NEKLS", homeLibrary="LANSING", surname="Many", formClass="13A"
    )
    assert refused["errors"] == refusal(
        "'13A' is not a form class of NEKLS: choose one of its 18 form classes "
        "(Institution.formClasses lists them).",
        "formClass",
    )


async def test_other_institutions_lists_do_not_apply(
    gql: GraphQL, api: PatronApi, lansing: str, eastern_admin: str
) -> None:
    assert (await add(gql, eastern_admin, "COHORT", "2027", institution="EASTERN"))["errors"] == []
    patron = await api.create(lansing, surname="Nekls", cohort="2031")
    assert patron["cohort"] == "2031"


async def test_a_merge_takes_only_listed_values(
    gql: GraphQL, api: PatronApi, lansing: str, nekls_admin: str
) -> None:
    # Given a survivor without cohort or form class, and a duplicate with both from
    # before NEKLS listed them (only the form class is on the list, in another case)
    survivor = await api.create(lansing, surname="Survivor")
    duplicate = await api.create(lansing, surname="Duplicate", cohort="1999", formClass="7a")
    assert (await add(gql, nekls_admin, "COHORT", "2027"))["errors"] == []
    assert (await add(gql, nekls_admin, "FORM_CLASS", "7A"))["errors"] == []
    # When they are merged
    variables = {"input": {"survivor": survivor["id"], "duplicates": [duplicate["id"]]}}
    refused = (await gql.ok(MERGE, variables, lansing))["mergePatrons"]
    # Then the merge is refused: the survivor would take an unlisted cohort
    assert refused["patron"] is None
    assert refused["errors"] == [
        {
            "code": "INVALID_INPUT",
            "message": "'1999' is not a cohort of NEKLS: choose one of 2027. The survivor "
            "would take it from this duplicate: give the duplicate a listed cohort (or none) "
            "first.",
            "field": ["input", "duplicates", "0"],
        }
    ]
    assert await api.read(lansing, survivor["id"]) == survivor
    assert await api.read(lansing, duplicate["id"]) == duplicate
    # And once the duplicate's cohort is cleared, the survivor takes the listed form class
    await api.update(lansing, id=duplicate["id"], expectedVersion=duplicate["version"], cohort=None)
    merged = (await gql.ok(MERGE, variables, lansing))["mergePatrons"]
    assert merged["errors"] == []
    assert (merged["patron"]["cohort"], merged["patron"]["formClass"]) == (None, "7A")


async def test_an_emptied_list_takes_free_text_again(
    gql: GraphQL, api: PatronApi, lansing: str, nekls_admin: str
) -> None:
    await add(gql, nekls_admin, "COHORT", "2027")
    assert (
        await api.create_payload(
            lansing, institution="NEKLS", homeLibrary="LANSING", surname="X", cohort="2040"
        )
    )["errors"] != []
    assert (await remove(gql, nekls_admin, "COHORT", "2027"))["errors"] == []
    assert (await api.create(lansing, surname="X", cohort="2040"))["cohort"] == "2040"
