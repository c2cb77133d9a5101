"""Rows are checked and written in batches: a file must give the same result whatever the
batch size, and rows must see each other across and within batches exactly as if they
were written one by one (duplicates caught, keys freed by earlier rows usable)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.imports import service
from tests.support.graphql import GraphQL
from tests.support.imports import (
    HEADER,
    Importer,
    counts,
    errors_of,
    find_patron,
    student,
    table_counts,
    to_csv,
)

TRAIL = """query($id: ID!) { node(id: $id) { ... on Patron {
  auditLog(first: 10) { edges { node { action actor changes } } } } } }"""


@pytest.fixture(params=[3, 1000], ids=["batches-of-3", "one-batch"])
def batch_size(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    size: int = request.param
    monkeypatch.setattr(service, "BATCH", size)
    if size < 10:
        # Small files take the paths of large ones: the tables analysed inside the import
        # (PostgreSQL) and the first lines of unique values kept on disk.
        from app.imports import first_lines, statistics

        monkeypatch.setattr(statistics, "FIRST", 2)
        monkeypatch.setattr(first_lines, "FLUSH", 4)
    return size


async def test_every_row_of_a_file_is_written_with_its_relations_and_audit_entry(
    importer: Importer, gql: GraphQL, northfield: str, batch_size: int
) -> None:
    rows = [
        student(n, contact_emails=f"parent{n}@example.org", library_groups="") for n in range(10)
    ]
    job = await importer.job(northfield, to_csv(HEADER, rows))
    assert counts(job) == ("SUCCEEDED", 10, 10, 10, 0, 0, 0)
    for n in (0, 4, 9):
        patron = await find_patron(gql, northfield, f"T{n:05d}")
        assert patron is not None
        assert patron["username"] == f"test.student{n}"
        assert patron["barcode"] == f"29900{n:05d}"
        assert patron["contactEmails"] == [{"address": f"parent{n}@example.org", "label": None}]
        assert patron["homeLibrary"] == {"code": "NORTHFIELD-MAIN"}
        assert patron["userGroup"] == {"code": "STUDENT"}
        assert patron["systemGroups"] == ["LIBRARY_USERS"]
        assert patron["version"] == 1
        trail = (await gql.ok(TRAIL, {"id": patron["id"]}, northfield))["node"]["auditLog"]
        entries = [edge["node"] for edge in trail["edges"]]
        assert [e["action"] for e in entries] == ["import_create_patron"]
        assert entries[0]["actor"] == "northfield.admin"
        assert entries[0]["changes"]["surname"] == {"before": None, "after": f"Student{n}"}

    # The same file again: nothing changes, whatever the batches.
    again = await importer.job(northfield, to_csv(HEADER, rows))
    assert counts(again) == ("SUCCEEDED", 10, 10, 0, 0, 10, 0)


@pytest.mark.parametrize(
    ("column", "code"),
    [("username", "DUPLICATE_USERNAME"), ("barcode", "DUPLICATE_IDENTIFIER")],
)
async def test_a_key_given_twice_in_the_file_is_refused_on_the_later_line(
    importer: Importer,
    northfield: str,
    connection: AsyncConnection,
    batch_size: int,
    column: str,
    code: str,
) -> None:
    before = await table_counts(connection)
    rows = [student(n) for n in range(8)]
    # Line 8 (row 7) repeats row 1's key: in another batch of 3, or in the same batch.
    rows[6][column] = rows[0][column]
    rows[7][column] = rows[5][column]
    job = await importer.job(northfield, to_csv(HEADER, rows))
    assert counts(job)[0] == "FAILED"
    assert counts(job)[6] == 2
    assert errors_of(job) == [(8, column, code), (9, column, code)]
    assert await table_counts(connection) == before


async def test_a_match_key_given_twice_creates_once_then_updates(
    importer: Importer, gql: GraphQL, northfield: str, batch_size: int
) -> None:
    rows = [student(n) for n in range(5)]
    rows.append(student(1, given_name="Renamed"))  # line 7: row 1 again, in another batch
    rows.append(student(4, cohort="2030"))  # line 8: row 4 again, in the same batch of 3
    job = await importer.job(northfield, to_csv(HEADER, rows))
    assert counts(job) == ("SUCCEEDED", 7, 7, 5, 2, 0, 0)
    one = await find_patron(gql, northfield, "T00001")
    four = await find_patron(gql, northfield, "T00004")
    assert one is not None
    assert four is not None
    assert (one["givenName"], one["version"]) == ("Renamed", 2)
    assert (four["cohort"], four["version"]) == ("2030", 2)


async def test_a_username_freed_by_an_earlier_row_can_be_taken_by_a_later_one(
    importer: Importer, gql: GraphQL, northfield: str, batch_size: int
) -> None:
    first = await importer.job(northfield, to_csv(HEADER, [student(1), student(2)]))
    assert counts(first)[3] == 2
    rows: list[dict[str, Any]] = [
        student(1, username="moved.away"),  # frees test.student1
        student(3),
        student(4),
        student(5, username="test.student1"),  # takes it (a later batch of 3)
        student(6, username="test.student2"),  # still held by T00002: refused
    ]
    job = await importer.job(northfield, to_csv(HEADER, rows))
    assert errors_of(job) == [(6, "username", "DUPLICATE_USERNAME")]
    rows.pop()
    job = await importer.job(northfield, to_csv(HEADER, rows))
    assert counts(job) == ("SUCCEEDED", 4, 4, 3, 1, 0, 0)
    five = await find_patron(gql, northfield, "T00005")
    one = await find_patron(gql, northfield, "T00001")
    assert five is not None
    assert one is not None
    assert five["username"] == "test.student1"
    assert one["username"] == "moved.away"


async def test_a_dry_run_of_a_large_file_writes_nothing_and_reports_every_bad_row(
    importer: Importer, northfield: str, connection: AsyncConnection, batch_size: int
) -> None:
    before = await table_counts(connection)
    rows = [student(n) for n in range(25)]
    rows[3]["primary_email"] = "not-an-address"
    rows[20]["home_library"] = "NOWHERE"
    rows[24]["barcode"] = rows[2]["barcode"]
    job = await importer.job(northfield, to_csv(HEADER, rows), dry_run=True)
    assert counts(job) == ("FAILED", 25, 25, 22, 0, 0, 3)
    assert errors_of(job) == [
        (5, "primary_email", "INVALID_EMAIL"),
        (22, "home_library", "INVALID_INPUT"),
        (26, "barcode", "DUPLICATE_IDENTIFIER"),
    ]
    assert await table_counts(connection) == before


async def test_a_value_repeated_far_down_the_file_names_the_line_that_had_it(
    importer: Importer, northfield: str, connection: AsyncConnection, batch_size: int
) -> None:
    before = await table_counts(connection)
    rows = [student(n) for n in range(12)]
    rows[10]["barcode"] = rows[1]["barcode"]  # line 12 repeats line 3's barcode
    rows[11]["username"] = rows[9]["username"].upper()  # line 13 repeats line 11's username
    job = await importer.job(northfield, to_csv(HEADER, rows))
    assert counts(job) == ("FAILED", 12, 12, 10, 0, 0, 2)
    assert [(e["line"], e["column"], e["code"], e["message"]) for e in job["rowErrors"]] == [
        (
            12,
            "barcode",
            "DUPLICATE_IDENTIFIER",
            f"The barcode {rows[1]['barcode']!r} repeats line 3 of this file: each patron "
            "needs a barcode of its own.",
        ),
        (
            13,
            "username",
            "DUPLICATE_USERNAME",
            f"The username {rows[11]['username']!r} repeats line 11 of this file: each "
            "patron needs a username of its own.",
        ),
    ]
    assert await table_counts(connection) == before


async def test_a_write_that_loses_a_race_fails_the_job_saying_why_and_writes_nothing(
    importer: Importer,
    northfield: str,
    connection: AsyncConnection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The checks found a username free, and another session took it before the batch was
    written (simulated: the check is told the name is free): the unique index refuses the
    write, and the job fails with the registry's message, nothing of the file written."""
    from app.patrons.lookups import CachedLookups

    first = [student(1)]
    assert counts(await importer.job(northfield, to_csv(HEADER, first)))[0] == "SUCCEEDED"
    before = await table_counts(connection)

    async def free(*_: Any, **__: Any) -> bool:
        return False

    monkeypatch.setattr(CachedLookups, "username_taken", free)
    rows = [student(2), student(3, username=first[0]["username"])]
    job = await importer.job(northfield, to_csv(HEADER, rows))
    assert job["status"] == "FAILED"
    assert job["message"].startswith("This username was just taken by another patron.")
    assert "Nothing was written." in job["message"]
    assert await table_counts(connection) == before
