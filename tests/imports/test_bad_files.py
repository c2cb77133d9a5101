"""Files and rows an import must refuse: clearly, writing nothing, the server staying up.

A problem with the file as a whole (its header, encoding or CSV syntax) refuses the
import before any row is read: a payload error on ["input", "file"] and no job. A
problem with a row is an error of that row (line and column); by default nothing of
the file is written then.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.imports import file_check
from tests.support.graphql import GraphQL
from tests.support.imports import (
    HEADER,
    STUDENTS,
    Importer,
    counts,
    errors_of,
    job_count,
    patron_count,
    student,
    table_counts,
    to_csv,
)


async def _assert_nothing_written(
    connection: AsyncConnection, before: dict[str, int], jobs: int | None = None
) -> None:
    assert await table_counts(connection) == before
    if jobs is not None:
        assert await job_count(connection) == jobs


async def _still_serving(gql: GraphQL, token: str) -> None:
    assert await patron_count(gql, token) >= 40


# ---------------------------------------------------------------- refused before any row


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param(
            to_csv([*HEADER, "favourite_colour"], [student(1, favourite_colour="blue")]),
            "'favourite_colour'",
            id="unknown-column",
        ),
        pytest.param(
            to_csv([*HEADER, "until"], [student(1, until="2030-01-01")]),
            "'until'",
            id="until",
        ),
        pytest.param(
            to_csv([*HEADER, "Surname"], [student(1, Surname="Again")]),
            "given twice",
            id="repeated-column",
        ),
        pytest.param(
            to_csv([*HEADER, "attribute:NO_SUCH_TYPE"], [student(1)]),
            "'attribute:NO_SUCH_TYPE'",
            id="unknown-attribute-type",
        ),
        pytest.param(b"", "empty", id="empty-file"),
        pytest.param(b"\r\n\r\n", "empty", id="blank-lines-only"),
        pytest.param(to_csv(HEADER, []), "no patrons", id="header-only"),
        pytest.param(
            to_csv(HEADER, [student(1)]) + b'T00002,x,,,"Unclosed,Name\r\n' + b"T00003,y\r\n",
            "line 3",
            id="unbalanced-quote",
        ),
        pytest.param(
            to_csv(HEADER, [student(1)]) + b'T00002,"x"y,,\r\n',
            "line 3",
            id="text-after-closing-quote",
        ),
        pytest.param(
            to_csv(HEADER, [student(1), student(2, given_name="Ren\xe9e")]).replace(
                "Renée".encode(), "Ren\xe9e".encode("latin-1")
            ),
            "Line 3 is not UTF-8",
            id="latin-1-row",
        ),
        pytest.param(
            "admin_system_id,surname\n".encode("utf-16"),
            "Line 1 is not UTF-8",
            id="utf-16-file",
        ),
        pytest.param(
            to_csv(HEADER, [student(1, given_name="x" * 200_000)]),
            "line 2",
            id="cell-over-the-csv-field-limit",
        ),
    ],
)
async def test_file_level_problems_refuse_the_import(
    importer: Importer,
    gql: GraphQL,
    northfield: str,
    connection: AsyncConnection,
    content: bytes,
    words: str,
) -> None:
    before, jobs = await table_counts(connection), await job_count(connection)
    error = await importer.refused(northfield, content)
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "file"])
    assert words in error["message"], error["message"]
    await _assert_nothing_written(connection, before, jobs)
    await _still_serving(gql, northfield)


async def test_the_api_process_leaves_parsing_the_upload_to_a_child_process(
    importer: Importer, northfield: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole file is checked (the refusals above) by app.imports.file_check in a
    process of its own: parsing it in the API process would hold the interpreter lock
    that the event loop serving every other request needs."""

    def parsed_here(path: object) -> None:
        raise AssertionError("the upload was parsed in the API process")

    monkeypatch.setattr(file_check, "file_facts", parsed_here)
    job = await importer.job(northfield, STUDENTS.read_bytes())
    assert counts(job) == ("SUCCEEDED", 20, 20, 20, 0, 0, 0)
    bad = to_csv(HEADER, [student(1)]) + b'T00002,"x"y,,\r\n'
    error = await importer.refused(northfield, bad)
    assert "line 3" in error["message"], error["message"]


async def test_match_column_missing_is_refused(importer: Importer, northfield: str) -> None:
    columns = [c for c in HEADER if c != "barcode"]
    error = await importer.refused(northfield, to_csv(columns, [student(1)]), match_on="BARCODE")
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "matchOn"])


async def test_a_bom_is_tolerated_and_header_names_are_normalised(
    importer: Importer, gql: GraphQL, northfield: str
) -> None:
    content = "\ufeff".encode() + STUDENTS.read_bytes()
    job = await importer.job(northfield, content)
    assert counts(job) == ("SUCCEEDED", 20, 20, 20, 0, 0, 0)
    # Header cells in another case and with spaces around them name the same columns.
    header = [f" {c.upper()} " for c in HEADER]
    row = {f" {k.upper()} ": v for k, v in student(1).items()}
    job = await importer.job(northfield, to_csv(header, [row]))
    assert counts(job) == ("SUCCEEDED", 1, 1, 1, 0, 0, 0)


async def test_lf_line_ends_blank_lines_and_quoted_cells(
    importer: Importer, northfield: str
) -> None:
    lines = to_csv(HEADER, [student(1), student(2)]).decode().split("\r\n")
    content = "\n".join([lines[0], "", lines[1], "   ", lines[2], ""]).encode()
    job = await importer.job(northfield, content)
    assert counts(job) == ("SUCCEEDED", 2, 2, 2, 0, 0, 0)


# ---------------------------------------------------------------- errors of rows


async def test_unknown_codes_in_cells_are_errors_of_their_rows(
    importer: Importer, gql: GraphQL, northfield: str, connection: AsyncConnection
) -> None:
    before = await table_counts(connection)
    rows = [
        student(1),
        student(2, home_library="NOWHERE"),
        student(3, home_library="LANSING"),  # a library, but of another institution
        student(4, user_group="ADULT"),  # a user group of NEKLS, not of NORTHFIELD
        student(5, system_groups="LIBRARY_USERS;WIZARDS"),
        student(6, library_groups="Teachers;Chess club"),
        student(7, staff_member="maybe"),
        student(8, form_class="NULL", cohort="NULL", user_group="STUDENT"),
    ]
    job = await importer.job(northfield, to_csv(HEADER, rows))
    assert counts(job) == ("FAILED", 8, 8, 2, 0, 0, 6)
    assert errors_of(job) == [
        (3, "home_library", "INVALID_INPUT"),
        (4, "home_library", "INVALID_INPUT"),
        (5, "user_group", "INVALID_INPUT"),
        (6, "system_groups", "INVALID_INPUT"),
        (7, "library_groups", "INVALID_INPUT"),
        (8, "staff_member", "INVALID_INPUT"),
    ]
    messages = [e["message"] for e in job["rowErrors"]]
    assert "NOWHERE" in messages[0]
    assert "WIZARDS" in messages[3]
    assert "Chess club" in messages[4]
    assert "Nothing was written" in job["message"] or "nothing was written" in job["message"]
    await _assert_nothing_written(connection, before)


@pytest.mark.parametrize(
    "value", ["31/12/2027", "2027-13-01", "2027-02-30", "20271231", "2027-W52-1", "tomorrow"]
)
async def test_dates_must_be_written_yyyy_mm_dd(
    importer: Importer, northfield: str, connection: AsyncConnection, value: str
) -> None:
    before = await table_counts(connection)
    job = await importer.job(
        northfield, to_csv(HEADER, [student(1), student(2, expiry_date=value)])
    )
    assert counts(job) == ("FAILED", 2, 2, 1, 0, 0, 1)
    assert errors_of(job) == [(3, "expiry_date", "INVALID_INPUT")]
    assert "YYYY-MM-DD" in job["rowErrors"][0]["message"]
    await _assert_nothing_written(connection, before)


async def test_rows_with_too_many_or_too_few_cells(
    importer: Importer, gql: GraphQL, northfield: str, connection: AsyncConnection
) -> None:
    before = await table_counts(connection)
    good = to_csv(HEADER, [student(1)]).decode()
    short = ",".join(["T00002", "short.row", "", "2990000002", "Short"])
    long_row = to_csv(HEADER, [student(3)]).decode().split("\r\n")[1] + ",extra,cells"
    content = (good + short + "\r\n" + long_row + "\r\n").encode()
    job = await importer.job(northfield, content)
    assert counts(job) == ("FAILED", 3, 3, 1, 0, 0, 2)
    assert errors_of(job) == [(3, None, "INVALID_INPUT"), (4, None, "INVALID_INPUT")]
    assert "5 cells" in job["rowErrors"][0]["message"]
    assert "23 cells" in job["rowErrors"][1]["message"]
    await _assert_nothing_written(connection, before)
    await _still_serving(gql, northfield)


async def test_lines_are_those_where_a_record_starts(
    importer: Importer, northfield: str, connection: AsyncConnection
) -> None:
    """A quoted cell may hold a line break (the record then spans two lines); the error
    of a later row still names the line it is on in the file."""
    before = await table_counts(connection)
    rows = [
        student(1, given_name="Line\nBreak"),
        student(2, primary_email="not-an-email"),
    ]
    job = await importer.job(northfield, to_csv(HEADER, rows))
    assert errors_of(job) == [
        (2, "given_name", "INVALID_INPUT"),
        (4, "primary_email", "INVALID_EMAIL"),
    ]
    await _assert_nothing_written(connection, before)


async def test_control_characters_and_nul_bytes(
    importer: Importer, gql: GraphQL, northfield: str, connection: AsyncConnection
) -> None:
    before = await table_counts(connection)
    rows = [
        student(1, surname="Nul\x00Byte"),
        student(2, username="nul\x00name"),
        {**student(3), "admin_system_id": "T\x0000003"},
        student(4, given_name="Tab\there"),
    ]
    job = await importer.job(northfield, to_csv(HEADER, rows))
    assert job["status"] == "FAILED"
    assert errors_of(job) == [
        (2, "surname", "INVALID_INPUT"),
        (3, "username", "INVALID_INPUT"),
        (4, "admin_system_id", "INVALID_INPUT"),
        (5, "given_name", "INVALID_INPUT"),
    ]
    await _assert_nothing_written(connection, before)
    await _still_serving(gql, northfield)


async def test_the_errors_sample_file(
    importer: Importer, northfield: str, connection: AsyncConnection
) -> None:
    from tests.support.imports import WITH_ERRORS

    before = await table_counts(connection)
    job = await importer.job(northfield, WITH_ERRORS.read_bytes())
    assert counts(job) == ("FAILED", 8, 8, 1, 0, 0, 7)
    assert [e["line"] for e in job["rowErrors"]] == [3, 4, 5, 6, 7, 8, 9]
    await _assert_nothing_written(connection, before)


async def test_registry_rules_apply_to_each_row(
    importer: Importer, northfield: str, connection: AsyncConnection
) -> None:
    before = await table_counts(connection)
    rows: list[dict[str, Any]] = [
        student(1),
        student(2, username="test.student1"),  # taken by the row above
        student(3, barcode=student(1)["barcode"]),  # the barcode of row 1
        student(4, generic_user="true"),  # generic with personal data
        student(5, admin_system_id=""),  # no match key
        student(6, password="short"),
        student(7, username="has space"),
    ]
    job = await importer.job(northfield, to_csv(HEADER, rows))
    found = errors_of(job)
    assert (3, "username", "DUPLICATE_USERNAME") in found
    assert (4, "barcode", "DUPLICATE_IDENTIFIER") in found
    assert any(line == 5 and code == "INVALID_INPUT" for line, _, code in found)
    assert (6, "admin_system_id", "MANDATORY_FIELD") in found
    assert (7, "password", "PASSWORD_TOO_SHORT") in found
    assert (8, "username", "INVALID_INPUT") in found
    assert job["failed"] == 6
    await _assert_nothing_written(connection, before)
