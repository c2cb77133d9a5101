"""deletePatron: permanent removal, never of oneself, no personal data left in the audit trail."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.graphql import GraphQL
from tests.support.ids import patron_pk
from tests.support.patrons import ADD_BLOCK, PASSWORD, PatronApi


async def test_delete_removes_the_patron(gql: GraphQL, api: PatronApi, lansing: str) -> None:
    # Given a patron with identifiers, contacts, groups, a block and an open session
    patron = await api.create(
        lansing,
        surname="Departed",
        givenName="Dora",
        username="departed",
        password=PASSWORD,
        barcode="GONE-1",
        identifiers=[{"type": "CONSORTIAL_ID", "value": "GONE-C1"}],
        contactEmails=[{"address": "kin@example.org", "label": "Kin"}],
        systemGroups=["CIRCULATION"],
        libraries=["LANSING"],
    )
    block = await gql.ok(ADD_BLOCK, {"id": patron["id"]}, lansing)
    assert block["addPatronBlock"]["errors"] == []
    their_token = await gql.login("departed", "LANSING", password=PASSWORD)
    count = await api.count(lansing)
    # When the librarian deletes it
    payload = await api.delete(lansing, patron["id"])
    # Then it is gone everywhere
    assert payload == {"deletedId": patron["id"], "errors": []}
    assert await api.read(lansing, patron["id"]) is None
    for term in ("Departed", "GONE-1", "departed", "Dora Departed"):
        assert (await api.search(lansing, search=term))["totalCount"] == 0, term
    assert await api.count(lansing) == count - 1
    # ... its session no longer works
    body = await gql('{ patrons(institution: "NEKLS") { totalCount } }', token=their_token)
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    # ... deleting it again finds nothing
    again = await api.delete(lansing, patron["id"])
    assert again == {
        "deletedId": None,
        "errors": [
            {"code": "NOT_FOUND", "message": "There is no such patron.", "field": ["input", "id"]}
        ],
    }
    assert await api.count(lansing) == count - 1
    # ... and its username, barcode and consortial id are free again
    heir = await api.create(
        lansing,
        surname="Heir",
        barcode="GONE-1",
        username="departed",
        identifiers=[{"type": "CONSORTIAL_ID", "value": "GONE-C1"}],
    )
    assert (heir["barcode"], heir["username"]) == ("GONE-1", "departed")


async def test_seeded_patron_can_be_deleted(api: PatronApi, lansing: str) -> None:
    first = (await api.search(lansing, first=1))["edges"][0]["node"]
    count = await api.count(lansing)
    assert await api.delete(lansing, first["id"]) == {"deletedId": first["id"], "errors": []}
    assert await api.read(lansing, first["id"]) is None
    assert await api.count(lansing) == count - 1
    assert (await api.search(lansing, search=first["barcode"]))["totalCount"] == 0


async def test_cannot_delete_yourself(api: PatronApi, lansing: str) -> None:
    # Given the librarian's own account
    me_id = await api.viewer_id(lansing)
    me = await api.read(lansing, me_id)
    count = await api.count(lansing)
    # When they delete it
    payload = await api.delete(lansing, me_id)
    # Then it is refused and nothing changed
    assert payload == {
        "deletedId": None,
        "errors": [
            {
                "code": "FORBIDDEN",
                "message": "You cannot remove your own account.",
                "field": ["input", "id"],
            }
        ],
    }
    assert await api.read(lansing, me_id) == me
    assert await api.count(lansing) == count


@pytest.mark.parametrize("patron_id", ["UGF0cm9uOjk5OTk5OQ", "garbage", "TGlicmFyeTox"])
async def test_delete_unknown_patron(api: PatronApi, lansing: str, patron_id: str) -> None:
    count = await api.count(lansing)
    assert await api.delete(lansing, patron_id) == {
        "deletedId": None,
        "errors": [
            {"code": "NOT_FOUND", "message": "There is no such patron.", "field": ["input", "id"]}
        ],
    }
    assert await api.count(lansing) == count


async def test_audit_of_deleted_patron_keeps_no_personal_values(
    api: PatronApi, lansing: str, connection: AsyncConnection
) -> None:
    # Given a patron created, changed and blocked, so it has audit entries with personal values
    patron = await api.create(
        lansing,
        surname="Zyxwvut",
        givenName="Quentina",
        username="zyx.q",
        password=PASSWORD,
        barcode="ZYX-BARCODE-9",
        primaryEmail="zyx@example.org",
        phone="555-9876",
        contactEmails=[{"address": "zyxmum@example.org", "label": "Mum"}],
    )
    await api.update(
        lansing, id=patron["id"], expectedVersion=1, surname="Zyxwvut-Smith", cohort="2031"
    )
    pk = patron_pk(patron["id"])
    personal = [
        "Zyxwvut",
        "Quentina",
        "zyx.q",
        "ZYX-BARCODE-9",
        "zyx@example.org",
        "555-9876",
        "zyxmum@example.org",
        "Mum",
        "2031",
        PASSWORD,
    ]

    async def entries() -> list[tuple[str, str]]:
        rows = await connection.execute(
            text(
                "SELECT action, changes FROM audit_entry "
                "WHERE entity_type = 'Patron' AND entity_id = :id ORDER BY id"
            ),
            {"id": pk},
        )
        return [
            (action, changes if isinstance(changes, str) else json.dumps(changes))
            for action, changes in rows.all()
        ]

    before = await entries()
    assert [action for action, _ in before] == ["create_patron", "update_patron"]
    assert "Zyxwvut" in before[0][1]
    assert PASSWORD not in before[0][1]
    # When it is deleted
    assert (await api.delete(lansing, patron["id"]))["errors"] == []
    # Then its audit entries remain (plus the removal) but hold no personal value
    after = await entries()
    assert [action for action, _ in after] == ["create_patron", "update_patron", "delete_patron"]
    for action, changes in after:
        for value in personal:
            assert value not in changes, (action, value, changes)
    assert json.loads(after[1][1]) == {"cohort": {"redacted": True}, "surname": {"redacted": True}}


async def test_librarian_cannot_remove_accounts_with_roles_beyond_their_own(
    api: PatronApi, lansing: str, nekls_admin: str
) -> None:
    # Given a fellow librarian and the system administrator
    ids = {}
    for username in ("basehor.librarian", "nekls.admin"):
        found = await api.search(lansing, search=username)
        ids[username] = found["edges"][0]["node"]["id"]
    count = await api.count(lansing)
    # When a LIBRARIAN removes them
    for username, role in (
        ("basehor.librarian", "LIBRARIAN and its login library (BASEHOR)"),
        ("nekls.admin", "SYSTEM_ADMIN and its login libraries (BASEHOR, TONGANOXIE)"),
    ):
        before = await api.read(lansing, ids[username])
        payload = await api.delete(lansing, ids[username])
        # Then it is refused and nothing changed
        assert payload == {
            "deletedId": None,
            "errors": [
                {
                    "code": "FORBIDDEN",
                    "message": f"Only someone who may grant {role} can remove this account.",
                    "field": ["input", "id"],
                }
            ],
        }
        assert await api.read(lansing, ids[username]) == before
    assert await api.count(lansing) == count
    # ... but the SYSTEM_ADMIN may remove the librarian, and the librarian a CIRCULATION clerk
    assert (await api.delete(nekls_admin, ids["basehor.librarian"]))["errors"] == []
    clerk = await api.create(lansing, surname="Clerk", systemGroups=["CIRCULATION"])
    assert (await api.delete(lansing, clerk["id"]))["errors"] == []
    assert await api.count(lansing) == count - 1
