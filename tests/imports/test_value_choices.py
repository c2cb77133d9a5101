"""The patron CSV import takes cohorts and form classes from NORTHFIELD's lists: a value
not listed fails its row, with the column named; listed values take the listed spelling."""

from __future__ import annotations

import httpx

from tests.support.graphql import GraphQL
from tests.support.imports import HEADER, Importer, counts, find_patron, student, to_csv
from tests.support.network import add


async def test_import_rows_with_unlisted_values_fail_with_their_column(
    gql: GraphQL, client: httpx.AsyncClient
) -> None:
    # Given NORTHFIELD lists the cohorts 2027 and 2028 and the form classes 8A and 8B
    admin = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    for kind, value in (
        ("COHORT", "2027"),
        ("COHORT", "2028"),
        ("FORM_CLASS", "8A"),
        ("FORM_CLASS", "8B"),
    ):
        assert (await add(gql, admin, kind, value, institution="NORTHFIELD"))["errors"] == []
    # When a file with one listed row (in another case), one unlisted cohort and one
    # unlisted form class is imported
    rows = [
        student(1, cohort="2028", form_class="8b"),
        student(2, cohort="banana"),
        student(3, form_class="9Z"),
    ]
    job = await Importer(client).job(admin, to_csv(HEADER, rows))
    # Then the unlisted rows fail, with their column named
    assert counts(job) == ("FAILED", 3, 3, 1, 0, 0, 2)
    assert [(e["line"], e["column"], e["code"], e["message"]) for e in job["rowErrors"]] == [
        (
            3,
            "cohort",
            "INVALID_INPUT",
            "'banana' is not a cohort of NORTHFIELD: choose one of 2027, 2028.",
        ),
        (
            4,
            "form_class",
            "INVALID_INPUT",
            "'9Z' is not a form class of NORTHFIELD: choose one of 8A, 8B.",
        ),
    ]
    # And the import, all or nothing, wrote none of them
    assert await find_patron(gql, admin, "T00001") is None
    # When the listed row is imported alone, it is created in the listed spelling
    job = await Importer(client).job(admin, to_csv(HEADER, rows[:1]))
    assert counts(job) == ("SUCCEEDED", 1, 1, 1, 0, 0, 0)
    created = await find_patron(gql, admin, "T00001")
    assert created is not None
    assert (created["cohort"], created["formClass"]) == ("2028", "8B")


async def test_without_lists_the_import_takes_any_text(
    gql: GraphQL, client: httpx.AsyncClient
) -> None:
    admin = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    job = await Importer(client).job(
        admin, to_csv(HEADER, [student(1, cohort="banana", form_class="Zebra")])
    )
    assert counts(job) == ("SUCCEEDED", 1, 1, 1, 0, 0, 0)
    created = await find_patron(gql, admin, "T00001")
    assert created is not None
    assert (created["cohort"], created["formClass"]) == ("banana", "Zebra")
