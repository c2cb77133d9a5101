"""The changes of an import's batch are written together (app.patrons.bulk_updates): a
patron changed by a row must be stored, versioned and audited exactly as `updatePatron`
stores the same change; rows later in the file see what the rows before them changed,
though nothing of the batch is written yet."""

from __future__ import annotations

from typing import Any

from tests.support.graphql import GraphQL
from tests.support.imports import HEADER, Importer, counts, find_patron, student, to_csv

UPDATE = """mutation($input: UpdatePatronInput!) {
  updatePatron(input: $input) { patron { id version } errors { code message field } }
}"""
TRAIL = """query($id: ID!) { node(id: $id) { ... on Patron {
  auditLog(first: 10) { edges { node { action actor changes } } } } } }"""

# What differs between the two patrons: their own keys, and the names of their steps.
OWN = {"id", "username", "barcode", "adminSystemId", "primaryEmail"}
OWN_CHANGES = {"username", "identifier:BARCODE", "primaryEmail"}


async def _trail(gql: GraphQL, token: str, patron_id: str) -> list[dict[str, Any]]:
    data = await gql.ok(TRAIL, {"id": patron_id}, token)
    return [edge["node"] for edge in data["node"]["auditLog"]["edges"]]


async def _patron(gql: GraphQL, token: str, admin_system_id: str) -> dict[str, Any]:
    found = await find_patron(gql, token, admin_system_id)
    assert found is not None, admin_system_id
    return found


async def _patrons(gql: GraphQL, token: str, *admin_system_ids: str) -> list[dict[str, Any]]:
    return [await _patron(gql, token, a) for a in admin_system_ids]


async def test_an_imported_change_is_stored_and_audited_as_update_patron_would(
    importer: Importer, gql: GraphQL, northfield: str
) -> None:
    shared = {
        "given_name": "Ada",
        "middle_name": "Maria",
        "surname": "Lovelace",
        "contact_emails": "Guardian.One@Example.org",
        "phone": "555-0100",
        "password": "correct horse battery",
        "library_groups": "Teachers",
    }
    rows = [student(n, **shared) for n in (90001, 90002)]
    assert counts(await importer.job(northfield, to_csv(HEADER, rows)))[0] == "SUCCEEDED"
    by_hand, imported = await _patrons(gql, northfield, "T90001", "T90002")
    assert by_hand["version"] == imported["version"] == 1

    change = {
        "givenName": "Augusta",
        "preferredName": "Ada",
        "surname": "King",
        "contactEmails": [{"address": "guardian.two@example.org"}],
        "phone": "555-0199",
        "cohort": "2030",
        "formClass": "9C",
        "expiryDate": "2029-06-30",
        "password": "another horse battery",
    }
    updated = await gql.ok(
        UPDATE,
        {
            "input": {
                "id": by_hand["id"],
                "expectedVersion": 1,
                "username": "augusta.by.hand",
                "barcode": "2990099001",
                "primaryEmail": "augusta.by.hand@northfield.example.edu",
                **change,
            }
        },
        northfield,
    )
    assert updated["updatePatron"]["errors"] == []
    row = {
        "admin_system_id": "T90002",
        "username": "augusta.by.import",
        "barcode": "2990099002",
        "primary_email": "augusta.by.import@northfield.example.edu",
        "given_name": "Augusta",
        "preferred_name": "Ada",
        "surname": "King",
        "contact_emails": "guardian.two@example.org",
        "phone": "555-0199",
        "cohort": "2030",
        "form_class": "9C",
        "expiry_date": "2029-06-30",
        "password": "another horse battery",
    }
    job = await importer.job(northfield, to_csv(list(row), [row]))
    assert counts(job) == ("SUCCEEDED", 1, 1, 0, 1, 0, 0)

    by_hand, imported = await _patrons(gql, northfield, "T90001", "T90002")
    assert imported["username"] == "augusta.by.import"
    assert imported["barcode"] == "2990099002"
    assert imported["version"] == 2
    assert {k: v for k, v in imported.items() if k not in OWN} == {
        k: v for k, v in by_hand.items() if k not in OWN
    }
    hand_entry, _ = await _trail(gql, northfield, by_hand["id"])
    import_entry, created_entry = await _trail(gql, northfield, imported["id"])
    assert (hand_entry["action"], import_entry["action"], created_entry["action"]) == (
        "update_patron",
        "import_update_patron",
        "import_create_patron",
    )
    assert import_entry["actor"] == hand_entry["actor"] == "northfield.admin"
    assert import_entry["changes"]["username"] == {
        "before": "test.student90002",
        "after": "augusta.by.import",
    }
    assert import_entry["changes"]["password"] == {"before": "(hidden)", "after": "(changed)"}
    assert {k: v for k, v in import_entry["changes"].items() if k not in OWN_CHANGES} == {
        k: v for k, v in hand_entry["changes"].items() if k not in OWN_CHANGES
    }


async def test_rows_see_the_changes_of_the_rows_before_them_in_the_same_batch(
    importer: Importer, gql: GraphQL, northfield: str
) -> None:
    first = [student(n) for n in (1, 2, 3)]
    assert counts(await importer.job(northfield, to_csv(HEADER, first)))[0] == "SUCCEEDED"
    one, _, three = await _patrons(gql, northfield, "T00001", "T00002", "T00003")

    rows = [
        # T00001 gives up its barcode and username for new ones ...
        student(1, barcode="2990099991", username="first.renamed"),
        # ... which a stored patron and a new one take, later in the same batch;
        student(2, barcode=one["barcode"]),
        student(4, username=one["username"]),
        # and a patron changed twice in one file gets both changes, in order.
        student(1, barcode="2990099991", username="first.renamed", surname="Twice"),
    ]
    # A key a row before it took is refused (a file with a refused row writes nothing).
    refused = student(3, barcode="2990099991", surname="Refused")
    job = await importer.job(northfield, to_csv(HEADER, [*rows[:3], refused, rows[3]]))
    assert counts(job) == ("FAILED", 5, 5, 1, 3, 0, 1)
    assert [(e["line"], e["column"], e["code"]) for e in job["rowErrors"]] == [
        (5, "barcode", "DUPLICATE_IDENTIFIER")
    ]
    assert await _patrons(gql, northfield, "T00001", "T00003") == [one, three]
    assert await find_patron(gql, northfield, "T00004") is None

    job = await importer.job(northfield, to_csv(HEADER, rows))
    assert counts(job) == ("SUCCEEDED", 4, 4, 1, 3, 0, 0)
    one_after, two_after, four = await _patrons(gql, northfield, "T00001", "T00002", "T00004")
    assert (one_after["barcode"], one_after["username"], one_after["surname"]) == (
        "2990099991",
        "first.renamed",
        "Twice",
    )
    assert one_after["version"] == 3
    assert [e["action"] for e in await _trail(gql, northfield, one["id"])] == [
        "import_update_patron",
        "import_update_patron",
        "import_create_patron",
    ]
    assert (two_after["barcode"], two_after["version"]) == (one["barcode"], 2)
    assert four["username"] == one["username"]
    assert await _patron(gql, northfield, "T00003") == three


async def test_a_file_cannot_take_the_last_system_administrator_away(
    importer: Importer, gql: GraphQL, northfield: str
) -> None:
    """Each row's check of the institution's other administrators sees the rows before
    it: two rows that each leave "another" administrator cannot remove both."""
    columns = ["username", "surname", "home_library", "staff_member", "system_groups"]
    second = {
        "username": "second.admin",
        "surname": "Second",
        "home_library": "NORTHFIELD-MAIN",
        "staff_member": "true",
        "system_groups": "LIBRARY_USERS;LIBRARIAN;SYSTEM_ADMIN",
    }
    job = await importer.job(northfield, to_csv(columns, [second]), match_on="USERNAME")
    assert counts(job)[0] == "SUCCEEDED", job
    rows = [
        {**second, "system_groups": "LIBRARY_USERS;LIBRARIAN"},
        {"username": "northfield.admin", "system_groups": "LIBRARY_USERS;LIBRARIAN"},
    ]
    job = await importer.job(northfield, to_csv(columns, rows), match_on="USERNAME")
    assert counts(job) == ("FAILED", 2, 2, 0, 1, 0, 1)
    assert [(e["line"], e["code"]) for e in job["rowErrors"]] == [(3, "CONFLICT")]
    assert "last enabled system administrator" in job["rowErrors"][0]["message"]
    # Nothing was written: both are administrators still.
    roles = """query($s: String!) { patrons(institution: "NORTHFIELD", filter: {search: $s})
      { edges { node { username systemGroups } } } }"""
    for username in ("second.admin", "northfield.admin"):
        data = await gql.ok(roles, {"s": username}, northfield)
        [node] = [e["node"] for e in data["patrons"]["edges"] if e["node"]["username"] == username]
        assert "SYSTEM_ADMIN" in node["systemGroups"], node
