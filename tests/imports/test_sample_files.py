"""The sample files of the school NORTHFIELD, imported through the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.support.graphql import GraphQL

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

IMPORT = """mutation($input: ImportPatronsInput!) {
  importPatrons(input: $input) {
    job { status dryRun totalRows processedRows created updated unchanged failed message
          rowErrors(first: 100) { line column code message } }
    errors { code message field }
  }
}"""

COUNT = 'query { patrons(institution: "NORTHFIELD") { totalCount } }'


async def import_file(
    client: httpx.AsyncClient,
    token: str,
    content: bytes,
    *,
    dry_run: bool = False,
    match_on: str = "ADMIN_SYSTEM_ID",
    mode: str = "UPSERT",
    name: str = "students.csv",
) -> dict[str, Any]:
    """A GraphQL multipart request, as a frontend uploads a file."""
    operations = {
        "query": IMPORT,
        "variables": {
            "input": {
                "institution": "NORTHFIELD",
                "file": None,
                "matchOn": match_on,
                "mode": mode,
                "dryRun": dry_run,
            }
        },
    }
    response = await client.post(
        "/graphql",
        data={
            "operations": orjson.dumps(operations).decode(),
            "map": orjson.dumps({"0": ["variables.input.file"]}).decode(),
        },
        files={"0": (name, content, "text/csv")},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["importPatrons"]
    return payload


async def test_students_import_then_reimport_changes_nothing(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    before = (await gql.ok(COUNT, token=token))["patrons"]["totalCount"]
    content = (DATA / "northfield-students.csv").read_bytes()
    first = await import_file(client, token, content)
    assert first["errors"] == []
    assert {
        k: first["job"][k]
        for k in (
            "status",
            "totalRows",
            "processedRows",
            "created",
            "updated",
            "unchanged",
            "failed",
        )
    } == {
        "status": "SUCCEEDED",
        "totalRows": 20,
        "processedRows": 20,
        "created": 20,
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
    }
    assert (await gql.ok(COUNT, token=token))["patrons"]["totalCount"] == before + 20
    again = await import_file(client, token, content)
    assert (again["job"]["created"], again["job"]["updated"], again["job"]["unchanged"]) == (
        0,
        0,
        20,
    )


async def test_errors_file_reports_seven_rows_and_writes_nothing(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    before = (await gql.ok(COUNT, token=token))["patrons"]["totalCount"]
    payload = await import_file(client, token, (DATA / "northfield-with-errors.csv").read_bytes())
    job = payload["job"]
    assert job["status"] == "FAILED"
    assert (job["created"], job["failed"]) == (1, 7)
    assert [(e["line"], e["column"], e["code"]) for e in job["rowErrors"]] == [
        (3, "surname", "MANDATORY_FIELD"),
        (4, "primary_email", "INVALID_EMAIL"),
        (5, "password", "PASSWORD_TOO_SHORT"),
        (6, "barcode", "DUPLICATE_IDENTIFIER"),
        (7, "form_class", "INVALID_INPUT"),
        (8, "home_library", "INVALID_INPUT"),
        (9, "expiry_date", "INVALID_INPUT"),
    ]
    assert (await gql.ok(COUNT, token=token))["patrons"]["totalCount"] == before
