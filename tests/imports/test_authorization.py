"""Who may import, and who may see an import job."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.settings import Settings
from tests.support.graphql import GraphQL
from tests.support.imports import (
    HEADER,
    JOB,
    STUDENTS,
    Importer,
    counts,
    errors_of,
    job_count,
    student,
    table_counts,
    to_csv,
)

NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


def _files(folder: Path) -> list[Path]:
    return list(folder.iterdir())


@pytest.fixture
def upload_dir(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Uploaded files wait here for their job (so the test can see none is left behind)."""
    monkeypatch.setattr(settings, "import_dir", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(
    ("username", "library", "institution"),
    [
        ("eastern.circ", "EASTERN-MAIN", "EASTERN"),  # CIRCULATION only
        ("lansing.librarian", "LANSING", "NORTHFIELD"),  # a librarian of another institution
        ("eastern.admin", "EASTERN-MAIN", "NORTHFIELD"),  # a system admin elsewhere
        ("network.admin", "LANSING", "NORTHFIELD"),  # the network admin is not its librarian
    ],
)
async def test_only_librarians_of_the_institution_may_import(
    importer: Importer,
    gql: GraphQL,
    connection: AsyncConnection,
    upload_dir: Path,
    username: str,
    library: str,
    institution: str,
) -> None:
    token = await gql.login(username, library)
    before, jobs = await table_counts(connection), await job_count(connection)
    error = await importer.refused(token, STUDENTS.read_bytes(), institution=institution)
    assert error["code"] == "FORBIDDEN"
    assert await table_counts(connection) == before
    assert await job_count(connection) == jobs
    assert _files(upload_dir) == []


async def test_an_unknown_institution_is_said_to_be_unknown(
    importer: Importer, gql: GraphQL, connection: AsyncConnection, upload_dir: Path
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    before, jobs = await table_counts(connection), await job_count(connection)
    error = await importer.refused(token, STUDENTS.read_bytes(), institution="NO-SUCH-PLACE")
    assert (error["code"], error["message"]) == (
        "NOT_FOUND",
        "There is no institution with the code 'NO-SUCH-PLACE'.",
    )
    assert await table_counts(connection) == before
    assert await job_count(connection) == jobs
    assert _files(upload_dir) == []


async def test_anonymous_callers_are_unauthenticated(
    importer: Importer, connection: AsyncConnection, upload_dir: Path
) -> None:
    before, jobs = await table_counts(connection), await job_count(connection)
    response = await importer.raw(None, STUDENTS.read_bytes())
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await table_counts(connection) == before
    assert await job_count(connection) == jobs
    assert _files(upload_dir) == []


async def test_uploaded_files_are_removed_after_the_job(
    importer: Importer, northfield: str, upload_dir: Path
) -> None:
    job = await importer.job(northfield, STUDENTS.read_bytes())
    assert job["status"] == "SUCCEEDED"
    error = await importer.refused(northfield, b"nonsense_column\r\nx\r\n")
    assert error["code"] == "INVALID_INPUT"
    assert _files(upload_dir) == []


async def test_a_librarian_cannot_grant_roles_through_a_file(
    importer: Importer, gql: GraphQL, connection: AsyncConnection
) -> None:
    """A LIBRARIAN (not a system admin) imports with its own powers: no LIBRARIAN grants."""
    token = await gql.login("basehor.librarian", "BASEHOR")
    before = await table_counts(connection)
    columns = ["admin_system_id", "surname", "home_library", "system_groups", "staff_member"]
    rows = [
        {
            "admin_system_id": "NK-ROLE-1",
            "surname": "Climber",
            "home_library": "BASEHOR",
            "system_groups": "LIBRARY_USERS;LIBRARIAN",
            "staff_member": "true",
        }
    ]
    job = await importer.job(token, to_csv(columns, rows), institution="NEKLS")
    assert errors_of(job) == [(2, "system_groups", "FORBIDDEN")]
    assert await table_counts(connection) == before


async def test_jobs_are_visible_to_librarians_of_their_institution_only(
    importer: Importer, gql: GraphQL, northfield: str
) -> None:
    # A NORTHFIELD desk account with CIRCULATION only, imported by its system admin.
    desk = student(
        900,
        username="desk.northfield",
        password="Desk-password-1",
        staff_member="true",
        form_class="",
        cohort="",
        user_group="STAFF",
        system_groups="LIBRARY_USERS;CIRCULATION",
    )
    job = await importer.job(northfield, to_csv(HEADER, [desk]))
    assert counts(job)[0] == "SUCCEEDED", job
    circ = await gql.login("desk.northfield", "NORTHFIELD-MAIN", password="Desk-password-1")

    data = await gql.ok(JOB, {"id": job["id"]}, northfield)
    assert data["node"]["__typename"] == "ImportJob"
    assert data["node"]["id"] == job["id"]
    assert data["node"]["created"] == 1

    for username, library in [
        ("lansing.librarian", "LANSING"),
        ("eastern.admin", "EASTERN-MAIN"),
        ("network.admin", "LANSING"),
    ]:
        other = await gql.login(username, library)
        assert (await gql.ok(JOB, {"id": job["id"]}, other))["node"] is None, username
        assert (await gql.ok(NODES, {"ids": [job["id"]]}, other))["nodes"] == [None]
    assert (await gql.ok(JOB, {"id": job["id"]}, circ))["node"] is None
    assert (await gql.ok(NODES, {"ids": [job["id"]]}, northfield))["nodes"] == [
        {"__typename": "ImportJob", "id": job["id"]}
    ]
    anonymous = await gql(JOB, {"id": job["id"]})
    assert anonymous.get("data") is None or anonymous["data"]["node"] is None

    # CIRCULATION staff of the institution may not import either.
    error = await importer.refused(circ, STUDENTS.read_bytes())
    assert error["code"] == "FORBIDDEN"
