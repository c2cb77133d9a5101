"""Re-imports change only what changed, and keep what the importer cannot see.

An edited copy of northfield-students.csv (two emails and one surname changed, the
password column removed, cohort NULL in two rows) updates exactly three patrons and
leaves photos, blocks, loans, passwords and hidden attributes alone.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.passwords import verify_password
from app.settings import Settings
from tests.support.graphql import GraphQL
from tests.support.imports import (
    HEADER,
    STUDENTS,
    Importer,
    counts,
    errors_of,
    find_patron,
    multipart,
    read_rows,
    student,
    to_csv,
)

SET_PHOTO = """mutation($id: ID!, $file: Upload!) {
  setPatronPhoto(input: {patronId: $id, file: $file}) {
    patron { id photo { contentType } } errors { code message field }
  }
}"""

ADD_BLOCK = """mutation($input: AddPatronBlockInput!) {
  addPatronBlock(input: $input) { patron { id blocks { type { code } } } errors { code message } }
}"""

CHECK_OUT = """mutation($input: CheckOutInput!) {
  checkOut(input: $input) { loan { id itemBarcode } errors { code message field } }
}"""

UPDATE = """mutation($input: UpdatePatronInput!) {
  updatePatron(input: $input) {
    patron { id version attributes { type { code } values } } errors { code message field }
  }
}"""


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 40), (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


async def _password_hashes(connection: AsyncConnection, usernames: list[str]) -> dict[str, Any]:
    rows = await connection.execute(
        text("SELECT username, password_hash FROM patron WHERE username IN :names").bindparams(
            bindparam("names", expanding=True)
        ),
        {"names": usernames},
    )
    return dict(rows.all())  # type: ignore[arg-type]


async def _versions(gql: GraphQL, token: str, ids: list[str]) -> dict[str, int]:
    out = {}
    for admin_id in ids:
        patron = await find_patron(gql, token, admin_id)
        assert patron is not None
        out[admin_id] = patron["version"]
    return out


def _edited_copy() -> bytes:
    """The sample file with 2 emails and 1 surname changed, no password column, and
    cohort NULL on the renamed student (a change) and on a teacher (already empty)."""
    columns, rows = read_rows(STUDENTS)
    by_id = {row["admin_system_id"]: row for row in rows}
    by_id["NF1003"]["primary_email"] = "mia.brown2@northfield.example.edu"
    by_id["NF1007"]["primary_email"] = "leo.lee@alumni.northfield.example.edu"
    by_id["NF1012"]["surname"] = "Greene"
    by_id["NF1012"]["cohort"] = "NULL"
    by_id["NF1017"]["cohort"] = "NULL"
    return to_csv([c for c in columns if c != "password"], rows)


async def test_edited_copy_updates_three_and_keeps_what_the_file_cannot_see(
    importer: Importer,
    gql: GraphQL,
    client: Any,
    northfield: str,
    connection: AsyncConnection,
    settings: Settings,
) -> None:
    first = await importer.job(northfield, STUDENTS.read_bytes())
    assert counts(first) == ("SUCCEEDED", 20, 20, 20, 0, 0, 0)
    all_ids = [f"NF{1000 + n}" for n in range(20)]

    # Things no import file has: a photo, a loan and a block on a patron the edit changes.
    mia = await find_patron(gql, northfield, "NF1003")
    assert mia is not None
    response = await client.post(
        "/graphql",
        **multipart(
            SET_PHOTO, {"id": mia["id"], "file": None}, "variables.file", "mia.png", _png()
        ),
        headers={"authorization": f"Bearer {northfield}"},
    )
    assert response.json()["data"]["setPatronPhoto"]["errors"] == [], response.text
    loan = await gql.ok(
        CHECK_OUT, {"input": {"patronId": mia["id"], "itemBarcode": "NF-BOOK-1"}}, northfield
    )
    assert loan["checkOut"]["errors"] == [], loan
    block = await gql.ok(
        ADD_BLOCK,
        {"input": {"patronId": mia["id"], "blockType": "CONDUCT", "note": "Ran in the hall"}},
        northfield,
    )
    assert block["addPatronBlock"]["errors"] == [], block

    hashes_before = await _password_hashes(
        connection, ["ava.nguyen", "mia.brown", "liam.smith", "grace.green"]
    )
    assert hashes_before["ava.nguyen"] is not None
    assert hashes_before["liam.smith"] is None
    versions_before = await _versions(gql, northfield, all_ids)

    again = await importer.job(northfield, _edited_copy())
    assert counts(again) == ("SUCCEEDED", 20, 20, 0, 3, 17, 0)
    assert again["rowErrors"] == []

    versions_after = await _versions(gql, northfield, all_ids)
    bumped = {k for k in all_ids if versions_after[k] != versions_before[k]}
    assert bumped == {"NF1003", "NF1007", "NF1012"}
    assert all(versions_after[k] == versions_before[k] + 1 for k in bumped)

    mia = await find_patron(gql, northfield, "NF1003")
    assert mia is not None
    assert mia["primaryEmail"] == "mia.brown2@northfield.example.edu"
    assert mia["photo"] == {"contentType": "image/jpeg"}
    assert mia["blocks"] == [{"type": {"code": "CONDUCT"}, "note": "Ran in the hall"}]
    assert mia["loans"]["totalCount"] == 1
    assert (mia["cohort"], mia["formClass"]) == ("2030", "10A")
    grace = await find_patron(gql, northfield, "NF1012")
    assert grace is not None
    assert (grace["surname"], grace["cohort"], grace["formClass"]) == ("Greene", None, "7A")
    sam = await find_patron(gql, northfield, "NF1017")
    assert sam is not None
    assert sam["cohort"] is None
    assert sam["libraryGroups"] == [{"name": "Teachers"}]
    # No password column: every password stays as it was (set or not set).
    assert await _password_hashes(connection, list(hashes_before)) == hashes_before

    # Re-importing the edited copy again changes nothing at all.
    third = await importer.job(northfield, _edited_copy())
    assert counts(third) == ("SUCCEEDED", 20, 20, 0, 0, 20, 0)
    assert await _versions(gql, northfield, all_ids) == versions_after


async def test_passwords_change_only_when_given(
    importer: Importer, northfield: str, connection: AsyncConnection, settings: Settings
) -> None:
    rows = [
        student(1, password="First-pass-1"),
        student(2, password="First-pass-2"),
        student(3),
    ]
    assert counts(await importer.job(northfield, to_csv(HEADER, rows)))[3] == 3
    names = ["test.student1", "test.student2", "test.student3"]
    before = await _password_hashes(connection, names)
    assert before["test.student3"] is None

    # Row 1: same password again (no change); row 2: empty cell (keeps); row 3: a new one.
    rows = [
        student(1, password="First-pass-1"),
        student(2, password=""),
        student(3, password="Brand-new-3"),
    ]
    job = await importer.job(northfield, to_csv(HEADER, rows))
    assert counts(job) == ("SUCCEEDED", 3, 3, 0, 1, 2, 0)
    after = await _password_hashes(connection, names)
    assert after["test.student1"] == before["test.student1"]
    assert after["test.student2"] == before["test.student2"]
    assert verify_password(settings, after["test.student3"], "Brand-new-3")

    # A changed password replaces the old one.
    job = await importer.job(northfield, to_csv(HEADER, [student(1, password="Second-pass-1")]))
    assert counts(job) == ("SUCCEEDED", 1, 1, 0, 1, 0, 0)
    hashed = (await _password_hashes(connection, ["test.student1"]))["test.student1"]
    assert verify_password(settings, hashed, "Second-pass-1")
    assert not verify_password(settings, hashed, "First-pass-1")

    # NULL cannot remove a password through an import.
    job = await importer.job(northfield, to_csv(HEADER, [student(1, password="NULL")]))
    assert job["status"] == "FAILED"
    assert errors_of(job) == [(2, "password", "INVALID_INPUT")]
    assert (await _password_hashes(connection, ["test.student1"]))["test.student1"] == hashed


async def test_empty_cells_keep_and_null_clears(
    importer: Importer, gql: GraphQL, northfield: str
) -> None:
    full = student(
        10,
        middle_name="Quinn",
        preferred_name="Tessa",
        phone="555-0100",
        contact_emails="mum@example.org;dad@example.org",
    )
    assert counts(await importer.job(northfield, to_csv(HEADER, [full])))[3] == 1
    # Only the match key and surname filled in: everything else is kept.
    sparse = {"admin_system_id": "T00010", "surname": "Student10"}
    job = await importer.job(northfield, to_csv(HEADER, [sparse]))
    assert counts(job) == ("SUCCEEDED", 1, 1, 0, 0, 1, 0)
    patron = await find_patron(gql, northfield, "T00010")
    assert patron is not None
    assert (patron["middleName"], patron["preferredName"], patron["phone"]) == (
        "Quinn",
        "Tessa",
        "555-0100",
    )
    assert [c["address"] for c in patron["contactEmails"]] == [
        "mum@example.org",
        "dad@example.org",
    ]
    version = patron["version"]

    cleared = {
        "admin_system_id": "T00010",
        "middle_name": "NULL",
        "phone": "NULL",
        "contact_emails": "NULL",
        "expiry_date": "NULL",
        "user_group": "NULL",
    }
    job = await importer.job(northfield, to_csv(HEADER, [cleared]))
    assert counts(job) == ("SUCCEEDED", 1, 1, 0, 1, 0, 0)
    patron = await find_patron(gql, northfield, "T00010")
    assert patron is not None
    assert patron["version"] == version + 1
    assert (patron["middleName"], patron["phone"], patron["expiryDate"], patron["userGroup"]) == (
        None,
        None,
        None,
        None,
    )
    assert patron["contactEmails"] == []
    assert (patron["preferredName"], patron["surname"]) == ("Tessa", "Student10")

    # Mandatory fields cannot be cleared; the row is an error and nothing changes.
    job = await importer.job(
        northfield,
        to_csv(HEADER, [{"admin_system_id": "T00010", "surname": "NULL", "home_library": "NULL"}]),
    )
    assert job["status"] == "FAILED"
    assert errors_of(job) == [(2, "surname", "INVALID_INPUT"), (2, "home_library", "INVALID_INPUT")]
    patron = await find_patron(gql, northfield, "T00010")
    assert patron is not None
    assert patron["version"] == version + 1


async def test_contact_email_labels_survive_a_reimport(
    importer: Importer, gql: GraphQL, northfield: str
) -> None:
    row = student(11, contact_emails="mum@example.org")
    assert counts(await importer.job(northfield, to_csv(HEADER, [row])))[3] == 1
    patron = await find_patron(gql, northfield, "T00011")
    assert patron is not None
    data = await gql.ok(
        UPDATE,
        {
            "input": {
                "id": patron["id"],
                "expectedVersion": patron["version"],
                "contactEmails": [{"address": "mum@example.org", "label": "Mother"}],
            }
        },
        northfield,
    )
    assert data["updatePatron"]["errors"] == [], data
    job = await importer.job(northfield, to_csv(HEADER, [row]))
    assert counts(job) == ("SUCCEEDED", 1, 1, 0, 0, 1, 0)
    patron = await find_patron(gql, northfield, "T00011")
    assert patron is not None
    assert patron["contactEmails"] == [{"address": "mum@example.org", "label": "Mother"}]


async def test_until_is_not_importable(
    importer: Importer, northfield: str, connection: AsyncConnection
) -> None:
    from tests.support.imports import job_count, table_counts

    before, jobs = await table_counts(connection), await job_count(connection)
    error = await importer.refused(
        northfield, to_csv([*HEADER, "until"], [student(20, until="2030-01-01")])
    )
    assert (error["code"], error["field"]) == ("INVALID_INPUT", ["input", "file"])
    assert "'until'" in error["message"]
    assert await table_counts(connection) == before
    assert await job_count(connection) == jobs


# ---------------------------------------------------------------- hidden attributes (NEKLS)

NEKLS_HEADER = [
    "admin_system_id",
    "surname",
    "given_name",
    "phone",
    "home_library",
    "user_group",
]


def _nekls(n: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "admin_system_id": f"NK{n:04d}",
        "surname": f"Kansan{n}",
        "given_name": "Kim",
        "phone": "785-555-0100",
        "home_library": "LANSING",
        "user_group": "ADULT",
    }
    row.update(overrides)
    return row


def _kanopy(patron: dict[str, Any]) -> list[str] | None:
    for attribute in patron["attributes"]:
        if attribute["type"]["code"] == "KANOPY_LANSING":
            values: list[str] = attribute["values"]
            return values
    return None


async def test_attributes_hidden_from_the_importer_survive(
    importer: Importer, gql: GraphQL
) -> None:
    lansing = await gql.login("lansing.librarian", "LANSING")
    basehor = await gql.login("basehor.librarian", "BASEHOR")
    # LANSING imports three patrons, setting KANOPY_LANSING (visible at LANSING only).
    rows = [_nekls(1), _nekls(2), _nekls(3)]
    values = {"NK0001": "ALLOWED", "NK0002": "NOT_ALLOWED", "NK0003": ""}  # NK0003: the rule
    for row in rows:
        row["attribute:KANOPY_LANSING"] = values[row["admin_system_id"]]
    job = await importer.job(
        lansing, to_csv([*NEKLS_HEADER, "attribute:KANOPY_LANSING"], rows), institution="NEKLS"
    )
    assert counts(job) == ("SUCCEEDED", 3, 3, 3, 0, 0, 0), job
    expected = {"NK0001": ["ALLOWED"], "NK0002": ["NOT_ALLOWED"], "NK0003": ["ALLOWED"]}
    for admin_id, kanopy in expected.items():
        patron = await find_patron(gql, lansing, admin_id, "NEKLS")
        assert patron is not None
        assert _kanopy(patron) == kanopy

    # BASEHOR cannot see the attribute; its import changes phones and moves NK0003 to BASEHOR.
    changed = [
        _nekls(1, phone="785-555-0199"),
        _nekls(2),
        _nekls(3, home_library="BASEHOR"),
    ]
    patron = await find_patron(gql, basehor, "NK0001", "NEKLS")
    assert patron is not None
    assert _kanopy(patron) is None  # hidden from BASEHOR sessions
    job = await importer.job(basehor, to_csv(NEKLS_HEADER, changed), institution="NEKLS")
    assert counts(job) == ("SUCCEEDED", 3, 3, 0, 2, 1, 0), job
    for admin_id, kanopy in expected.items():
        patron = await find_patron(gql, lansing, admin_id, "NEKLS")
        assert patron is not None
        assert _kanopy(patron) == kanopy, admin_id
    moved = await find_patron(gql, lansing, "NK0003", "NEKLS")
    assert moved is not None
    assert moved["homeLibrary"] == {"code": "BASEHOR"}

    # A BASEHOR file that names the attribute is refused row by row; nothing changes.
    job = await importer.job(
        basehor,
        to_csv(
            [*NEKLS_HEADER, "attribute:KANOPY_LANSING"],
            [{**_nekls(1), "attribute:KANOPY_LANSING": "NOT_ALLOWED"}],
        ),
        institution="NEKLS",
    )
    assert job["status"] == "FAILED"
    assert errors_of(job) == [(2, "attribute:KANOPY_LANSING", "ATTRIBUTE_FORBIDDEN")]
    patron = await find_patron(gql, lansing, "NK0001", "NEKLS")
    assert patron is not None
    assert _kanopy(patron) == ["ALLOWED"]
