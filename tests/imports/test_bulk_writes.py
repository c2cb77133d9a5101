"""The new patrons of an import are written in bulk (app.patrons.bulk_writes): a patron
imported from a row must be stored, and audited, exactly as `createPatron` stores and
audits the same patron; its keys are found by the batch lookups of the next file."""

from __future__ import annotations

from typing import Any

from tests.support.graphql import GraphQL
from tests.support.imports import HEADER, Importer, counts, find_patron, student, to_csv

CREATE = """mutation($input: CreatePatronInput!) {
  createPatron(input: $input) { patron { id } errors { code message field } }
}"""
TRAIL = """query($id: ID!) { node(id: $id) { ... on Patron {
  auditLog(first: 10) { edges { node { action actor changes } } } } } }"""

# What differs between the two patrons: their own keys, and the names of their steps.
OWN = {"id", "username", "barcode", "adminSystemId", "primaryEmail"}
OWN_CHANGES = {"username", "identifier:BARCODE", "identifier:ADMIN_SYSTEM_ID", "primaryEmail"}


async def _trail(gql: GraphQL, token: str, patron_id: str) -> list[dict[str, Any]]:
    data = await gql.ok(TRAIL, {"id": patron_id}, token)
    return [edge["node"] for edge in data["node"]["auditLog"]["edges"]]


async def test_an_imported_patron_is_stored_and_audited_as_create_patron_would(
    importer: Importer, gql: GraphQL, northfield: str
) -> None:
    shared = {
        "given_name": "Ada",
        "middle_name": "Maria",
        "preferred_name": "Addie",
        "surname": "Lovelace",
        "phone": "555-0100",
        "cohort": "2029",
        "form_class": "7B",
        "expiry_date": "2028-06-30",
        "password": "correct horse battery",
    }
    created = await gql.ok(
        CREATE,
        {
            "input": {
                "institution": "NORTHFIELD",
                "homeLibrary": "NORTHFIELD-MAIN",
                "userGroup": "STUDENT",
                "adminSystemId": "T90001",
                "username": "made.by.hand",
                "barcode": "2990090001",
                "primaryEmail": "made.by.hand@northfield.example.edu",
                "contactEmails": [{"address": "Guardian.One@Example.org"}],
                "givenName": shared["given_name"],
                "middleName": shared["middle_name"],
                "preferredName": shared["preferred_name"],
                "surname": shared["surname"],
                "phone": shared["phone"],
                "cohort": shared["cohort"],
                "formClass": shared["form_class"],
                "expiryDate": shared["expiry_date"],
                "password": shared["password"],
                "enabled": True,
                "isStaff": False,
                "isGeneric": False,
            }
        },
        northfield,
    )
    assert created["createPatron"]["errors"] == []
    row = student(
        90002,
        admin_system_id="T90002",
        username="made.by.import",
        barcode="2990090002",
        primary_email="made.by.import@northfield.example.edu",
        contact_emails="Guardian.One@Example.org",
        **shared,
    )
    job = await importer.job(northfield, to_csv(HEADER, [row]))
    assert counts(job) == ("SUCCEEDED", 1, 1, 1, 0, 0, 0)

    by_hand = await find_patron(gql, northfield, "T90001")
    imported = await find_patron(gql, northfield, "T90002")
    assert by_hand is not None
    assert imported is not None
    assert imported["username"] == "made.by.import"
    assert imported["barcode"] == "2990090002"
    assert imported["contactEmails"] == [{"address": "Guardian.One@example.org", "label": None}]
    assert {k: v for k, v in imported.items() if k not in OWN} == {
        k: v for k, v in by_hand.items() if k not in OWN
    }

    [hand_entry] = await _trail(gql, northfield, by_hand["id"])
    [import_entry] = await _trail(gql, northfield, imported["id"])
    assert (hand_entry["action"], import_entry["action"]) == (
        "create_patron",
        "import_create_patron",
    )
    assert import_entry["actor"] == hand_entry["actor"] == "northfield.admin"
    assert import_entry["changes"]["username"] == {"before": None, "after": "made.by.import"}
    assert import_entry["changes"]["password"] == {"before": "(hidden)", "after": "(changed)"}
    assert {k: v for k, v in import_entry["changes"].items() if k not in OWN_CHANGES} == {
        k: v for k, v in hand_entry["changes"].items() if k not in OWN_CHANGES
    }


async def test_keys_written_in_bulk_are_found_by_the_next_import(
    importer: Importer, northfield: str
) -> None:
    first = [student(n) for n in range(5)]
    assert counts(await importer.job(northfield, to_csv(HEADER, first)))[0] == "SUCCEEDED"
    # Matched on admin_system_id (updated), and new rows that take a written barcode or
    # username are refused with the registry's messages.
    second = [
        student(0, surname="Renamed"),
        student(7, barcode=first[1]["barcode"]),
        student(8, username=first[2]["username"].upper()),
    ]
    job = await importer.job(northfield, to_csv(HEADER, second), dry_run=True)
    assert counts(job)[2:] == (3, 0, 1, 0, 2)
    assert [(e["line"], e["column"], e["code"]) for e in job["rowErrors"]] == [
        (3, "barcode", "DUPLICATE_IDENTIFIER"),
        (4, "username", "DUPLICATE_USERNAME"),
    ]
