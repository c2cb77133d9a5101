"""Patron.auditLog: who did what, with the before/after of changed fields only; no passwords."""

from __future__ import annotations

import json

from tests.support.graphql import GraphQL
from tests.support.patrons import AUDIT, PASSWORD, PatronApi

HIDDEN = {"before": "(hidden)", "after": "(changed)"}


async def test_create_is_audited_without_the_password(
    gql: GraphQL, api: PatronApi, lansing: str
) -> None:
    # When a librarian registers a patron with a password
    patron = await api.create(
        lansing,
        surname="Audited",
        givenName="Ada",
        username="ada",
        password=PASSWORD,
        barcode="AUD-1",
        primaryEmail="ada@example.org",
        userGroup="ADULT",
        contactEmails=[{"address": "pa@example.org", "label": "Pa"}],
        identifiers=[{"type": "CONSORTIAL_ID", "value": "AUD-C1"}],
    )
    # Then one entry names the actor, the action and every value set; the password only as hidden
    response = await gql.raw(AUDIT, {"id": patron["id"]}, token=lansing)
    assert PASSWORD not in response.text
    entries = await api.audit(lansing, patron["id"])
    assert entries == [
        {
            "actor": "lansing.librarian",
            "action": "create_patron",
            "changes": {
                # The Kanopy (LANSING) rule sets the entitlement of a LANSING patron.
                "attribute:KANOPY_LANSING": {"before": None, "after": ["ALLOWED"]},
                "contactEmails": {
                    "before": [],
                    "after": [{"address": "pa@example.org", "label": "Pa"}],
                },
                "enabled": {"before": None, "after": True},
                "givenName": {"before": None, "after": "Ada"},
                "homeLibrary": {"before": None, "after": "LANSING"},
                "identifier:BARCODE": {"before": None, "after": "AUD-1"},
                "identifier:CONSORTIAL_ID": {"before": None, "after": "AUD-C1"},
                "isGeneric": {"before": None, "after": False},
                "isStaff": {"before": None, "after": False},
                "password": HIDDEN,
                "primaryEmail": {"before": None, "after": "ada@example.org"},
                "surname": {"before": None, "after": "Audited"},
                "systemGroups": {"before": [], "after": ["LIBRARY_USERS"]},
                "userGroup": {"before": None, "after": "ADULT"},
                "username": {"before": None, "after": "ada"},
            },
        }
    ]


async def test_create_without_password_has_no_password_change(api: PatronApi, lansing: str) -> None:
    patron = await api.create(lansing, surname="Plain")
    [entry] = await api.audit(lansing, patron["id"])
    assert entry["action"] == "create_patron"
    assert "password" not in entry["changes"]


async def test_update_records_changed_fields_only(
    api: PatronApi, lansing: str, nekls_admin: str
) -> None:
    # Given a patron
    patron = await api.create(
        lansing,
        surname="Changer",
        givenName="Cal",
        username="cal",
        password=PASSWORD,
        barcode="CH-1",
        phone="111",
    )
    # When it is changed three times by two people (once with nothing new)
    await api.update(
        lansing,
        id=patron["id"],
        expectedVersion=1,
        givenName="Callum",
        phone="111",
        barcode="CH-2",
        libraries=["BASEHOR"],
    )
    await api.update(nekls_admin, id=patron["id"], expectedVersion=2, surname="Changer")
    await api.update(
        nekls_admin,
        id=patron["id"],
        expectedVersion=2,
        password="another-secret",
        systemGroups=["LIBRARIAN"],
        primaryEmail="cal@example.org",
    )
    # Then the trail, newest first, has one entry per real change with only what changed
    entries = await api.audit(lansing, patron["id"])
    assert [(e["actor"], e["action"]) for e in entries] == [
        ("nekls.admin", "update_patron"),
        ("lansing.librarian", "update_patron"),
        ("lansing.librarian", "create_patron"),
    ]
    assert entries[0]["changes"] == {
        "password": HIDDEN,
        "primaryEmail": {"before": None, "after": "cal@example.org"},
        "systemGroups": {"before": ["LIBRARY_USERS"], "after": ["LIBRARIAN", "LIBRARY_USERS"]},
    }
    assert entries[1]["changes"] == {
        "givenName": {"before": "Cal", "after": "Callum"},
        "identifier:BARCODE": {"before": "CH-1", "after": "CH-2"},
        "libraries": {"before": [], "after": ["BASEHOR"]},
    }
    dumped = json.dumps(entries)
    assert PASSWORD not in dumped
    assert "another-secret" not in dumped


async def test_password_only_change_is_audited_as_hidden(api: PatronApi, lansing: str) -> None:
    patron = await api.create(lansing, surname="Secretive", username="secretive", password=PASSWORD)
    await api.update(lansing, id=patron["id"], expectedVersion=1, password="a-new-password")
    await api.update(lansing, id=patron["id"], expectedVersion=2, password=None)
    entries = await api.audit(lansing, patron["id"])
    assert [e["changes"] for e in entries[:2]] == [{"password": HIDDEN}, {"password": HIDDEN}]


async def test_refused_changes_leave_no_entry(
    api: PatronApi, lansing: str, eastern_admin: str
) -> None:
    patron = await api.create(lansing, surname="Steady")
    before = await api.audit(lansing, patron["id"])
    await api.update_payload(lansing, id=patron["id"], expectedVersion=7, surname="Stale")
    await api.update_payload(lansing, id=patron["id"], expectedVersion=1, surname=None)
    await api.update_payload(eastern_admin, id=patron["id"], expectedVersion=1, surname="Foreign")
    assert await api.audit(lansing, patron["id"]) == before
    assert len(before) == 1


async def test_audit_log_is_staff_only(gql: GraphQL, api: PatronApi, lansing: str) -> None:
    # Given a patron who can read their own record
    patron = await api.create(lansing, surname="Curious", username="curious", password=PASSWORD)
    token = await gql.login("curious", "LANSING", password=PASSWORD)
    # Then their own audit trail is empty for them, but not for staff
    assert await api.audit(token, patron["id"]) == []
    assert [(e["actor"], e["action"]) for e in await api.audit(lansing, patron["id"])] == [
        ("curious", "login"),
        ("lansing.librarian", "create_patron"),
    ]


PAGE = """query($id: ID!, $after: String) {
  node(id: $id) {
    ... on Patron {
      auditLog(first: 2, after: $after) {
        edges { cursor node { action changes } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    }
  }
}"""


async def test_audit_log_pages(gql: GraphQL, api: PatronApi, lansing: str) -> None:
    # Given a patron with four entries
    patron = await api.create(lansing, surname="Paged", phone="0")
    for version in (1, 2, 3):
        await api.update(lansing, id=patron["id"], expectedVersion=version, phone=str(version))
    # When the trail is read two at a time
    first = (await gql.ok(PAGE, {"id": patron["id"]}, lansing))["node"]["auditLog"]
    after = first["pageInfo"]["endCursor"]
    second = (await gql.ok(PAGE, {"id": patron["id"], "after": after}, lansing))["node"]["auditLog"]
    # Then it comes newest first, each entry once
    phones = [e["node"]["changes"]["phone"]["after"] for e in first["edges"] + second["edges"]]
    assert phones == ["3", "2", "1", "0"]
    assert [e["node"]["action"] for e in second["edges"]] == ["update_patron", "create_patron"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert second["pageInfo"]["hasNextPage"] is False
    assert second["pageInfo"]["hasPreviousPage"] is True
