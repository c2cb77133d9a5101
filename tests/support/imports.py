"""Import tests: the multipart request, CSV building and look-ups of what an import wrote.

Every import goes through the real HTTP API (a GraphQL multipart request, as a frontend
uploads a file). The per-test transaction of tests/conftest.py applies, so imports run
inline (settings.import_background is False) unless a test builds its own app.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.graphql import GraphQL

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
STUDENTS = DATA / "northfield-students.csv"
WITH_ERRORS = DATA / "northfield-with-errors.csv"

JOB_FIELDS = """
fragment JobFields on ImportJob {
  id status dryRun totalRows processedRows created updated unchanged failed message
  startedAt finishedAt
  rowErrors(first: 100) { line column code message cursor }
}
"""

IMPORT = (
    """mutation($input: ImportPatronsInput!) {
  importPatrons(input: $input) { job { ...JobFields } errors { code message field } }
}"""
    + JOB_FIELDS
)

JOB = "query($id: ID!) { node(id: $id) { __typename ... on ImportJob { ...JobFields } } }" + (
    JOB_FIELDS
)

ROW_ERRORS = """query($id: ID!, $first: Int, $after: String) {
  node(id: $id) { ... on ImportJob { rowErrors(first: $first, after: $after) {
    line column code message cursor } } }
}"""

PATRON_FIELDS = """
fragment PatronFields on Patron {
  id version username barcode adminSystemId givenName middleName preferredName surname
  primaryEmail contactEmails { address label } phone enabled isStaff isGeneric
  until expiryDate cohort formClass
  homeLibrary { code } userGroup { code } libraryGroups { name } systemGroups
  attributes { type { code } values }
  blocks { type { code } note }
  photo { contentType }
  loans(active: true) { totalCount }
}
"""

FIND = (
    """query($institution: String!, $search: String!) {
  patrons(institution: $institution, filter: {search: $search}, first: 20) {
    edges { node { ...PatronFields } }
  }
}"""
    + PATRON_FIELDS
)

COUNT = "query($i: String!) { patrons(institution: $i) { totalCount } }"

HEADER = [
    "admin_system_id",
    "username",
    "password",
    "barcode",
    "given_name",
    "middle_name",
    "preferred_name",
    "surname",
    "primary_email",
    "contact_emails",
    "phone",
    "enabled",
    "staff_member",
    "generic_user",
    "cohort",
    "form_class",
    "home_library",
    "user_group",
    "expiry_date",
    "library_groups",
    "system_groups",
]


def read_rows(path: Path = STUDENTS) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows (as dicts) of a CSV file."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        assert reader.fieldnames is not None
        return list(reader.fieldnames), rows


def to_csv(columns: list[str], rows: Iterable[dict[str, Any]]) -> bytes:
    """RFC 4180 CSV (CRLF line ends, as csv.writer writes) of the given columns."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return out.getvalue().encode("utf-8")


def student(n: int, **overrides: Any) -> dict[str, Any]:
    """A valid NORTHFIELD student row (admin_system_id T<n>), not one of the sample file."""
    row: dict[str, Any] = {
        "admin_system_id": f"T{n:05d}",
        "username": f"test.student{n}",
        "barcode": f"29900{n:05d}",
        "given_name": "Test",
        "surname": f"Student{n}",
        "primary_email": f"test.student{n}@northfield.example.edu",
        "enabled": "true",
        "staff_member": "false",
        "generic_user": "false",
        "cohort": "2028",
        "form_class": "8A",
        "home_library": "NORTHFIELD-MAIN",
        "user_group": "STUDENT",
        "expiry_date": "2027-12-31",
        "system_groups": "LIBRARY_USERS",
    }
    row.update(overrides)
    return row


def multipart(
    query: str, variables: dict[str, Any], path: str, name: str, content: bytes
) -> dict[str, Any]:
    """The parts of a GraphQL multipart request with one file at `path` in the variables."""
    operations = {"query": query, "variables": variables}
    return {
        "data": {
            "operations": orjson.dumps(operations).decode(),
            "map": orjson.dumps({"0": [path]}).decode(),
        },
        "files": {"0": (name, content, "text/csv")},
    }


class Importer:
    """importPatrons as a frontend sends it: a multipart POST with the file."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def raw(
        self,
        token: str | None,
        content: bytes,
        *,
        institution: str = "NORTHFIELD",
        match_on: str = "ADMIN_SYSTEM_ID",
        mode: str = "UPSERT",
        dry_run: bool = False,
        name: str = "patrons.csv",
        query: str = IMPORT,
    ) -> httpx.Response:
        variables = {
            "input": {
                "institution": institution,
                "file": None,
                "matchOn": match_on,
                "mode": mode,
                "dryRun": dry_run,
            }
        }
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return await self.http.post(
            "/graphql",
            **multipart(query, variables, "variables.input.file", name, content),
            headers=headers,
        )

    async def payload(self, token: str | None, content: bytes, **options: Any) -> dict[str, Any]:
        """The ImportPayload (no top-level errors allowed)."""
        response = await self.raw(token, content, **options)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        payload: dict[str, Any] = body["data"]["importPatrons"]
        return payload

    async def job(self, token: str | None, content: bytes, **options: Any) -> dict[str, Any]:
        """The job of an import that was accepted (it may still have failed rows)."""
        payload = await self.payload(token, content, **options)
        assert payload["errors"] == [], payload
        job: dict[str, Any] = payload["job"]
        assert job is not None
        return job

    async def refused(self, token: str | None, content: bytes, **options: Any) -> dict[str, Any]:
        """The only payload error of an import refused before any row was read."""
        payload = await self.payload(token, content, **options)
        assert payload["job"] is None, payload
        assert len(payload["errors"]) == 1, payload
        error: dict[str, Any] = payload["errors"][0]
        return error


def counts(job: dict[str, Any]) -> tuple[Any, ...]:
    """(status, total, processed, created, updated, unchanged, failed) of a job."""
    return (
        job["status"],
        job["totalRows"],
        job["processedRows"],
        job["created"],
        job["updated"],
        job["unchanged"],
        job["failed"],
    )


def errors_of(job: dict[str, Any]) -> list[tuple[int, str | None, str]]:
    return [(e["line"], e["column"], e["code"]) for e in job["rowErrors"]]


async def find_patron(
    gql: GraphQL, token: str, admin_system_id: str, institution: str = "NORTHFIELD"
) -> dict[str, Any] | None:
    """The patron with this admin system id (exactly), as the API shows it to `token`."""
    data = await gql.ok(FIND, {"institution": institution, "search": admin_system_id}, token)
    found = [
        edge["node"]
        for edge in data["patrons"]["edges"]
        if edge["node"]["adminSystemId"] == admin_system_id
    ]
    assert len(found) <= 1
    return found[0] if found else None


async def patron_count(gql: GraphQL, token: str, institution: str = "NORTHFIELD") -> int:
    data = await gql.ok(COUNT, {"i": institution}, token)
    return int(data["patrons"]["totalCount"])


async def table_counts(connection: AsyncConnection) -> dict[str, int]:
    """Row counts of every table an import may write (to prove it wrote nothing)."""
    out = {}
    for table in (
        "patron",
        "patron_identifier",
        "patron_contact_email",
        "patron_library_group",
        "patron_system_group",
        "patron_attribute",
        "audit_entry",
    ):
        result = await connection.execute(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
        out[table] = int(result.scalar_one())
    return out


async def job_count(connection: AsyncConnection) -> int:
    return int((await connection.execute(text("SELECT count(*) FROM import_job"))).scalar_one())
