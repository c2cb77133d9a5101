"""The job keeps every row error; clients page through them with cursors."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.graphql import GraphQL
from tests.support.imports import (
    HEADER,
    JOB,
    ROW_ERRORS,
    Importer,
    counts,
    errors_of,
    student,
    table_counts,
    to_csv,
)


async def _page(gql: GraphQL, token: str, job_id: str, **args: Any) -> list[dict[str, Any]]:
    data = await gql.ok(ROW_ERRORS, {"id": job_id, **args}, token)
    page: list[dict[str, Any]] = data["node"]["rowErrors"]
    return page


async def test_250_bad_rows_are_all_kept_and_paged(
    importer: Importer, gql: GraphQL, northfield: str, connection: AsyncConnection
) -> None:
    before = await table_counts(connection)
    # Row 1 is fine; rows 2..251 each have one bad email; the last row is fine too.
    rows = [student(0)]
    rows += [student(n, primary_email=f"bad-{n}") for n in range(1, 251)]
    rows.append(student(251))
    job = await importer.job(northfield, to_csv(HEADER, rows))
    assert counts(job) == ("FAILED", 252, 252, 2, 0, 0, 250)
    assert len(job["rowErrors"]) == 100  # the first page (first: 100)
    assert await table_counts(connection) == before

    seen: list[dict[str, Any]] = []
    after = None
    pages = 0
    while True:
        page = await _page(gql, northfield, job["id"], first=40, after=after)
        if not page:
            break
        pages += 1
        assert len(page) <= 40
        seen += page
        after = page[-1]["cursor"]
    assert pages == 7  # 6 x 40 + 10
    assert [e["line"] for e in seen] == list(range(3, 253))
    assert {(e["column"], e["code"]) for e in seen} == {("primary_email", "INVALID_EMAIL")}
    assert "bad-1" in seen[0]["message"] or "@" in seen[0]["message"]
    assert len({e["cursor"] for e in seen}) == 250

    # The page size is capped (max_page_size) and defaults to 100.
    assert len(await _page(gql, northfield, job["id"], first=1000)) == 100
    assert len(await _page(gql, northfield, job["id"])) == 100
    assert await _page(gql, northfield, job["id"], first=0) == []
    # A cursor from the middle continues right after it.
    middle = seen[124]["cursor"]
    assert [e["line"] for e in await _page(gql, northfield, job["id"], first=3, after=middle)] == [
        128,
        129,
        130,
    ]
    # A negative page size is refused.
    body = await gql(ROW_ERRORS, {"id": job["id"], "first": -1}, northfield)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_a_row_with_several_problems_has_several_errors(
    importer: Importer, gql: GraphQL, northfield: str
) -> None:
    rows = [student(1, primary_email="nope", password="short", form_class="9Z", staff_member="1")]
    job = await importer.job(northfield, to_csv(HEADER, rows))
    assert counts(job) == ("FAILED", 1, 1, 0, 0, 0, 1)
    found = {(e["line"], e["column"], e["code"]) for e in job["rowErrors"]}
    assert found == {
        (2, "primary_email", "INVALID_EMAIL"),
        (2, "password", "PASSWORD_TOO_SHORT"),
        (2, "form_class", "INVALID_INPUT"),
    }
    # Row errors of another job are not mixed in.
    other = await importer.job(northfield, to_csv(HEADER, [student(2, primary_email="x")]))
    data = await gql.ok(JOB, {"id": job["id"]}, northfield)
    assert len(data["node"]["rowErrors"]) == 3
    assert [e["line"] for e in other["rowErrors"]] == [2]


async def test_every_address_is_checked_whatever_rows_before_it_had_the_same_domain(
    importer: Importer, northfield: str
) -> None:
    rows = [student(n) for n in range(6)]
    rows[0]["primary_email"] = "first@northfield.example.edu"  # the domain is known good
    rows[1]["primary_email"] = "two..dots@northfield.example.edu"  # the local part is not
    rows[2]["primary_email"] = "someone@bad_domain.example.org"
    rows[3]["primary_email"] = "another@bad_domain.example.org"  # refused again
    rows[4]["primary_email"] = ".leading.dot@northfield.example.edu"
    job = await importer.job(northfield, to_csv(HEADER, rows))
    assert counts(job) == ("FAILED", 6, 6, 2, 0, 0, 4)
    assert errors_of(job) == [
        (3, "primary_email", "INVALID_EMAIL"),
        (4, "primary_email", "INVALID_EMAIL"),
        (5, "primary_email", "INVALID_EMAIL"),
        (6, "primary_email", "INVALID_EMAIL"),
    ]
    assert job["rowErrors"][1]["message"] == job["rowErrors"][2]["message"]
