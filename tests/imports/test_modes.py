"""Modes (CREATE_ONLY, UPDATE_ONLY, UPSERT), match keys and dry runs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.graphql import GraphQL
from tests.support.imports import (
    HEADER,
    STUDENTS,
    WITH_ERRORS,
    Importer,
    counts,
    errors_of,
    find_patron,
    job_count,
    student,
    table_counts,
    to_csv,
)


def _without_cursors(job: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(e["line"], e["column"], e["code"], e["message"]) for e in job["rowErrors"]]


async def test_create_only_refuses_existing_rows(
    importer: Importer, northfield: str, connection: AsyncConnection
) -> None:
    assert counts(await importer.job(northfield, to_csv(HEADER, [student(1)])))[3] == 1
    before = await table_counts(connection)
    rows = [student(2), student(1, surname="Changed"), student(3)]
    job = await importer.job(northfield, to_csv(HEADER, rows), mode="CREATE_ONLY")
    assert counts(job) == ("FAILED", 3, 3, 2, 0, 0, 1)
    assert errors_of(job) == [(3, "admin_system_id", "CONFLICT")]
    assert await table_counts(connection) == before
    # Without the existing row the same mode creates.
    job = await importer.job(
        northfield, to_csv(HEADER, [student(2), student(3)]), mode="CREATE_ONLY"
    )
    assert counts(job) == ("SUCCEEDED", 2, 2, 2, 0, 0, 0)


async def test_update_only_refuses_unknown_rows(
    importer: Importer, gql: GraphQL, northfield: str, connection: AsyncConnection
) -> None:
    assert counts(await importer.job(northfield, to_csv(HEADER, [student(1)])))[3] == 1
    before = await table_counts(connection)
    rows = [student(1, surname="Renamed"), student(2)]
    job = await importer.job(northfield, to_csv(HEADER, rows), mode="UPDATE_ONLY")
    assert counts(job) == ("FAILED", 2, 2, 0, 1, 0, 1)
    assert errors_of(job) == [(3, "admin_system_id", "NOT_FOUND")]
    assert await table_counts(connection) == before
    job = await importer.job(
        northfield, to_csv(HEADER, [student(1, surname="Renamed")]), mode="UPDATE_ONLY"
    )
    assert counts(job) == ("SUCCEEDED", 1, 1, 0, 1, 0, 0)
    patron = await find_patron(gql, northfield, "T00001")
    assert patron is not None
    assert patron["surname"] == "Renamed"


async def test_match_on_barcode(importer: Importer, gql: GraphQL, northfield: str) -> None:
    assert counts(await importer.job(northfield, to_csv(HEADER, [student(1)])))[3] == 1
    # The file knows the barcode but a new admin system id: the barcode finds the patron
    # (case-insensitively) and the admin system id is replaced.
    row = {"barcode": student(1)["barcode"].upper(), "admin_system_id": "NEW-ID-1"}
    job = await importer.job(
        northfield, to_csv(["barcode", "admin_system_id"], [row]), match_on="BARCODE"
    )
    assert counts(job) == ("SUCCEEDED", 1, 1, 0, 1, 0, 0)
    assert await find_patron(gql, northfield, "T00001") is None
    patron = await find_patron(gql, northfield, "NEW-ID-1")
    assert patron is not None
    assert patron["surname"] == "Student1"
    # An unknown barcode with UPDATE_ONLY is an error of its row, pointing at the barcode.
    job = await importer.job(
        northfield,
        to_csv(["barcode", "surname"], [{"barcode": "nope", "surname": "X"}]),
        match_on="BARCODE",
        mode="UPDATE_ONLY",
    )
    assert errors_of(job) == [(2, "barcode", "NOT_FOUND")]


async def test_match_on_username(importer: Importer, gql: GraphQL, northfield: str) -> None:
    assert counts(await importer.job(northfield, to_csv(HEADER, [student(1)])))[3] == 1
    row = {"username": "TEST.STUDENT1", "phone": "555-0199"}
    job = await importer.job(northfield, to_csv(["username", "phone"], [row]), match_on="USERNAME")
    # The username in another case is the same username; the spelling in the file wins.
    assert counts(job) == ("SUCCEEDED", 1, 1, 0, 1, 0, 0)
    patron = await find_patron(gql, northfield, "T00001")
    assert patron is not None
    assert (patron["phone"], patron["username"]) == ("555-0199", "TEST.STUDENT1")
    # A row without a username cannot be matched.
    job = await importer.job(
        northfield,
        to_csv(["username", "surname"], [{"username": "", "surname": "Nobody"}]),
        match_on="USERNAME",
    )
    assert errors_of(job) == [(2, "username", "MANDATORY_FIELD")]


async def test_upsert_creates_and_updates_in_one_file(importer: Importer, northfield: str) -> None:
    assert counts(await importer.job(northfield, to_csv(HEADER, [student(1), student(2)])))[3] == 2
    rows = [student(1), student(2, phone="555-0102"), student(3)]
    job = await importer.job(northfield, to_csv(HEADER, rows))
    assert counts(job) == ("SUCCEEDED", 3, 3, 1, 1, 1, 0)


async def test_dry_run_writes_nothing_and_reports_the_same(
    importer: Importer, northfield: str, connection: AsyncConnection
) -> None:
    for content in (STUDENTS.read_bytes(), WITH_ERRORS.read_bytes()):
        before = await table_counts(connection)
        dry = await importer.job(northfield, content, dry_run=True)
        assert dry["dryRun"] is True
        assert await table_counts(connection) == before
        real = await importer.job(northfield, content)
        assert real["dryRun"] is False
        assert counts(dry)[1:] == counts(real)[1:]
        assert _without_cursors(dry) == _without_cursors(real)
    # A clean dry run succeeds (and says it wrote nothing); a dry run of an imported file
    # reports every row unchanged.
    dry = await importer.job(northfield, STUDENTS.read_bytes(), dry_run=True)
    assert counts(dry) == ("SUCCEEDED", 20, 20, 0, 0, 20, 0)
    assert "nothing was written" in dry["message"]


async def test_dry_run_of_a_new_file(
    importer: Importer, northfield: str, connection: AsyncConnection
) -> None:
    before, jobs = await table_counts(connection), await job_count(connection)
    dry = await importer.job(northfield, STUDENTS.read_bytes(), dry_run=True)
    assert counts(dry) == ("SUCCEEDED", 20, 20, 20, 0, 0, 0)
    assert await table_counts(connection) == before
    assert await job_count(connection) == jobs + 1  # the job itself is kept


async def test_unknown_match_key_or_mode_is_a_graphql_error(
    importer: Importer, northfield: str
) -> None:
    response = await importer.raw(northfield, STUDENTS.read_bytes(), match_on="EMAIL")
    body = response.json()
    assert body.get("data") is None
    assert body["errors"]
