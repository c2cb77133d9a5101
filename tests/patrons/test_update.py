"""updatePatron: partial updates, versions, passwords and who may grant which role."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.graphql import GraphQL, error
from tests.support.patrons import PASSWORD, PatronApi

STALE_MESSAGE = (
    "Someone else changed this patron after you opened it. Reload it and make your change again."
)


def without(patron: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in patron.items() if k not in keys}


async def full_patron(api: PatronApi, token: str, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "userGroup": "ADULT",
        "username": "full.patron",
        "password": PASSWORD,
        "barcode": "FULL-0001",
        "adminSystemId": "FULL-ADM-1",
        "identifiers": [
            {"type": "UNIV_ID", "value": "FULL-U1"},
            {"type": "CONSORTIAL_ID", "value": "FULL-C1"},
        ],
        "givenName": "Frances",
        "middleName": "Ursula",
        "preferredName": "Fran",
        "surname": "Fullerton",
        "primaryEmail": "fran@example.org",
        "contactEmails": [{"address": "dad@example.org", "label": "Father"}],
        "phone": "555-0101",
        "until": "2032-01-31",
        "expiryDate": "2031-12-31",
        "cohort": "2031",
        "formClass": "8A",
        "libraries": ["LANSING"],
    }
    fields.update(overrides)
    return await api.create(token, **fields)


# ---------------------------------------------------------------- partial updates


async def test_omitted_fields_stay_unchanged(api: PatronApi, lansing: str) -> None:
    # Given a patron with every field set
    before = await full_patron(api, lansing)
    # When only the given name is changed
    after = await api.update(lansing, id=before["id"], expectedVersion=1, givenName="Francesca")
    # Then only the given name, the version and the update time differ
    assert after["givenName"] == "Francesca"
    assert after["version"] == 2
    assert after["updatedAt"] > before["updatedAt"]  # the answer carries the new time
    assert without(after, "givenName", "version", "updatedAt") == without(
        before, "givenName", "version", "updatedAt"
    )
    assert await api.read(lansing, before["id"]) == after


async def test_explicit_null_clears_optional_fields(api: PatronApi, lansing: str) -> None:
    # Given a patron with every field set
    before = await full_patron(api, lansing)
    # When optional fields are sent as null
    after = await api.update(
        lansing,
        id=before["id"],
        expectedVersion=1,
        primaryEmail=None,
        barcode=None,
        phone=None,
        userGroup=None,
        middleName=None,
        preferredName=None,
        contactEmails=None,
        identifiers=None,
        until=None,
        expiryDate=None,
        cohort=None,
        formClass=None,
        libraries=None,
    )
    # Then exactly those are empty, the rest is as it was, and the version went up by one
    cleared = {
        "primaryEmail": None,
        "barcode": None,
        "phone": None,
        "userGroup": None,
        "middleName": None,
        "preferredName": None,
        "contactEmails": [],
        "until": None,
        "expiryDate": None,
        "cohort": None,
        "formClass": None,
        "libraries": [],
        "identifiers": [
            {
                "type": {
                    "code": "ADMIN_SYSTEM_ID",
                    "name": "Administration system ID",
                    "networkUnique": False,
                },
                "value": "FULL-ADM-1",
            },
        ],
    }
    assert after == {**before, **cleared, "version": 2, "updatedAt": after["updatedAt"]}
    assert await api.read(lansing, before["id"]) == after
    # ... and the freed values can be given to someone else
    other = await api.create(
        lansing,
        surname="Heir",
        barcode="FULL-0001",
        identifiers=[{"type": "CONSORTIAL_ID", "value": "FULL-C1"}],
    )
    assert other["barcode"] == "FULL-0001"


async def test_identifiers_list_replaces_the_other_identifiers(
    api: PatronApi, lansing: str
) -> None:
    before = await full_patron(api, lansing)
    after = await api.update(
        lansing,
        id=before["id"],
        expectedVersion=1,
        identifiers=[{"type": "CONSORTIAL_ID", "value": "FULL-C2"}],
    )
    assert [(i["type"]["code"], i["value"]) for i in after["identifiers"]] == [
        ("ADMIN_SYSTEM_ID", "FULL-ADM-1"),
        ("BARCODE", "FULL-0001"),
        ("CONSORTIAL_ID", "FULL-C2"),
    ]
    assert after["version"] == 2


async def test_version_increments_by_exactly_one_per_change(api: PatronApi, lansing: str) -> None:
    patron = await api.create(lansing, surname="Versioned")
    assert patron["version"] == 1
    second = await api.update(lansing, id=patron["id"], expectedVersion=1, phone="1")
    assert second["version"] == 2
    third = await api.update(lansing, id=patron["id"], expectedVersion=2, phone="2", cohort="2030")
    assert third["version"] == 3
    assert (await api.read(lansing, patron["id"]))["version"] == 3  # type: ignore[index]


async def test_update_that_changes_nothing_keeps_the_version(api: PatronApi, lansing: str) -> None:
    # Given a patron
    before = await full_patron(api, lansing, systemGroups=["CIRCULATION"])
    audit_before = await api.audit(lansing, before["id"])
    # When the same values are sent again (some with extra spaces or in canonical form)
    after = await api.update(
        lansing,
        id=before["id"],
        expectedVersion=1,
        surname=" Fullerton ",
        givenName="Frances",
        barcode="FULL-0001",
        primaryEmail="fran@EXAMPLE.org",
        userGroup="adult",
        contactEmails=[{"address": "dad@example.org", "label": "Father"}],
        systemGroups=["CIRCULATION"],
        libraries=["LANSING"],
        homeLibrary="LANSING",
        until="2032-01-31",
        expiryDate="2031-12-31",
        cohort="2031",
        formClass=" 8A",
        phone="555-0101",
        enabled=True,
        isStaff=False,
        identifiers=[
            {"type": "UNIV_ID", "value": "FULL-U1"},
            {"type": "CONSORTIAL_ID", "value": "FULL-C1"},
        ],
    )
    # Then nothing changed: same version, same update time, no audit entry
    assert after == before
    assert await api.read(lansing, before["id"]) == before
    assert await api.audit(lansing, before["id"]) == audit_before


async def test_stale_version_changes_nothing(api: PatronApi, lansing: str) -> None:
    # Given a patron changed once (version 2)
    patron = await api.create(lansing, surname="Stale", givenName="Sam")
    patron = await api.update(lansing, id=patron["id"], expectedVersion=1, givenName="Samuel")
    # When someone saves a change made on version 1
    payload = await api.update_payload(
        lansing, id=patron["id"], expectedVersion=1, givenName="Sammy"
    )
    # Then it is refused and the patron is unchanged
    assert payload == {
        "patron": None,
        "errors": [error("STALE_VERSION", STALE_MESSAGE, "input", "expectedVersion")],
    }
    assert await api.read(lansing, patron["id"]) == patron
    # ... also when the stale update would change nothing
    payload = await api.update_payload(lansing, id=patron["id"], expectedVersion=1)
    assert payload["errors"] == [error("STALE_VERSION", STALE_MESSAGE, "input", "expectedVersion")]


async def test_password_change_then_login(gql: GraphQL, api: PatronApi, lansing: str) -> None:
    # Given a patron who can log in
    patron = await api.create(
        lansing, surname="Keyholder", username="key.holder", password=PASSWORD
    )
    # When the librarian sets a new password
    response = await gql.raw(
        """mutation($input: UpdatePatronInput!) {
             updatePatron(input: $input) { patron { version } errors { code } } }""",
        {"input": {"id": patron["id"], "expectedVersion": 1, "password": "brand-new-secret"}},
        token=lansing,
    )
    # Then the new password works, the old one no longer does, and neither is echoed
    assert response.json()["data"]["updatePatron"] == {"patron": {"version": 2}, "errors": []}
    assert "brand-new-secret" not in response.text
    token = await gql.login("key.holder", "LANSING", password="brand-new-secret")
    assert token.startswith("nzs_")
    assert await gql.login_errors("key.holder", "LANSING", PASSWORD) == [
        error("INVALID_CREDENTIALS", "The username or password is not correct.")
    ]


async def test_too_short_new_password_keeps_the_old_one(
    gql: GraphQL, api: PatronApi, lansing: str
) -> None:
    patron = await api.create(lansing, surname="Keeper", username="keeper", password=PASSWORD)
    for password in ("2short", ""):
        payload = await api.update_payload(
            lansing, id=patron["id"], expectedVersion=1, password=password
        )
        assert payload == {
            "patron": None,
            "errors": [
                error(
                    "PASSWORD_TOO_SHORT",
                    "The password must have at least 8 characters.",
                    "input",
                    "password",
                )
            ],
        }
    assert await api.read(lansing, patron["id"]) == patron
    assert await gql.login_errors("keeper", "LANSING", PASSWORD) == []


async def test_null_password_removes_manual_login(
    gql: GraphQL, api: PatronApi, lansing: str
) -> None:
    patron = await api.create(lansing, surname="Ssoonly", username="sso.only", password=PASSWORD)
    after = await api.update(lansing, id=patron["id"], expectedVersion=1, password=None)
    assert after["version"] == 2
    assert await gql.login_errors("sso.only", "LANSING", PASSWORD) == [
        error("INVALID_CREDENTIALS", "The username or password is not correct.")
    ]


async def test_required_fields_cannot_be_cleared(api: PatronApi, lansing: str) -> None:
    # Given a patron with a password
    patron = await api.create(lansing, surname="Required", username="required", password=PASSWORD)
    # When the surname, home library, username and enabled flag are sent as null
    payload = await api.update_payload(
        lansing,
        id=patron["id"],
        expectedVersion=1,
        surname=None,
        homeLibrary=None,
        username=None,
        enabled=None,
    )
    # Then each is refused and nothing changed
    assert payload == {
        "patron": None,
        "errors": [
            error("INVALID_INPUT", "Give true or false.", "input", "enabled"),
            error("MANDATORY_FIELD", "The surname is required.", "input", "surname"),
            error("MANDATORY_FIELD", "The home library is required.", "input", "homeLibrary"),
            error(
                "MANDATORY_FIELD",
                "An account with a password needs a username.",
                "input",
                "username",
            ),
        ],
    }
    assert await api.read(lansing, patron["id"]) == patron


async def test_update_refuses_duplicates(api: PatronApi, lansing: str) -> None:
    # Given two patrons
    await api.create(lansing, surname="First", username="first.one", barcode="DUP-1")
    second = await api.create(lansing, surname="Second", username="second.one", barcode="DUP-2")
    # When the second takes the first one's username and barcode (other case)
    payload = await api.update_payload(
        lansing, id=second["id"], expectedVersion=1, username="FIRST.ONE", barcode="dup-1"
    )
    # Then both are refused and nothing changed
    assert payload == {
        "patron": None,
        "errors": [
            error(
                "DUPLICATE_USERNAME",
                "The username 'FIRST.ONE' is already used in NEKLS.",
                "input",
                "username",
            ),
            error(
                "DUPLICATE_IDENTIFIER",
                "Library barcode 'dup-1' already belongs to another patron in NEKLS.",
                "input",
                "barcode",
            ),
        ],
    }
    assert await api.read(lansing, second["id"]) == second
    # ... while changing the letter case of one's own values is fine
    after = await api.update(
        lansing, id=second["id"], expectedVersion=1, username="Second.One", barcode="dup-2"
    )
    assert (after["username"], after["barcode"], after["version"]) == ("Second.One", "dup-2", 2)


async def test_rules_hold_on_the_resulting_state(api: PatronApi, lansing: str) -> None:
    # Given a student with a form class and an email address
    student = await api.create(
        lansing, surname="Student", formClass="9C", primaryEmail="s@example.org"
    )
    # When the librarian makes them staff, or generic
    staff = await api.update_payload(lansing, id=student["id"], expectedVersion=1, isStaff=True)
    generic = await api.update_payload(lansing, id=student["id"], expectedVersion=1, isGeneric=True)
    # Then the combination is refused on the field that conflicts
    assert staff["errors"] == [
        error("INVALID_INPUT", "A staff member cannot have a form class.", "input", "formClass")
    ]
    assert generic["errors"] == [
        error(
            "INVALID_INPUT",
            "A generic account has no personal data: remove primaryEmail.",
            "input",
            "primaryEmail",
        ),
        error(
            "INVALID_INPUT",
            "A generic account has no personal data: remove formClass.",
            "input",
            "formClass",
        ),
    ]
    assert await api.read(lansing, student["id"]) == student


@pytest.mark.parametrize("patron_id", ["UGF0cm9uOjk5OTk5OQ", "not-an-id", "TGlicmFyeTox"])
async def test_unknown_patron_is_not_found(api: PatronApi, lansing: str, patron_id: str) -> None:
    # Patron:999999, garbage, and the id of a Library
    payload = await api.update_payload(lansing, id=patron_id, expectedVersion=1, givenName="X")
    assert payload == {
        "patron": None,
        "errors": [error("NOT_FOUND", "There is no such patron.", "input", "id")],
    }


# ---------------------------------------------------------------- system groups


async def test_library_users_cannot_be_removed(api: PatronApi, lansing: str) -> None:
    # Given a patron with CIRCULATION
    patron = await api.create(lansing, surname="Circulator", systemGroups=["CIRCULATION"])
    assert patron["systemGroups"] == ["CIRCULATION", "LIBRARY_USERS"]
    # When every group is removed
    after = await api.update(lansing, id=patron["id"], expectedVersion=1, systemGroups=[])
    # Then LIBRARY_USERS stays
    assert (after["systemGroups"], after["version"]) == (["LIBRARY_USERS"], 2)
    # ... and removing it again changes nothing at all
    again = await api.update(lansing, id=patron["id"], expectedVersion=2, systemGroups=None)
    assert again == after


@pytest.mark.parametrize("role", ["LIBRARIAN", "SYSTEM_ADMIN"])
async def test_librarian_cannot_grant_librarian_or_system_admin(
    api: PatronApi, lansing: str, role: str
) -> None:
    # Given a patron
    patron = await api.create(lansing, surname="Hopeful")
    # When a LIBRARIAN grants the role
    payload = await api.update_payload(
        lansing, id=patron["id"], expectedVersion=1, systemGroups=["LIBRARY_USERS", role]
    )
    # Then it is FORBIDDEN on systemGroups and nothing changed
    assert payload == {
        "patron": None,
        "errors": [
            error(
                "FORBIDDEN",
                f"You may not grant or remove {role}: only a system administrator may.",
                "input",
                "systemGroups",
            )
        ],
    }
    assert await api.read(lansing, patron["id"]) == patron
    # ... nor can it be given at registration
    count = await api.count(lansing)
    created = await api.create_payload(
        lansing,
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Ambitious",
        systemGroups=[role],
    )
    assert created["errors"] == payload["errors"]
    assert await api.count(lansing) == count


async def test_librarian_cannot_take_librarian_away(api: PatronApi, lansing: str) -> None:
    # Given basehor.librarian
    found = await api.search(lansing, search="basehor.librarian")
    colleague = await api.read(lansing, found["edges"][0]["node"]["id"])
    assert colleague is not None
    assert colleague["systemGroups"] == ["LIBRARIAN", "LIBRARY_USERS"]
    # When lansing.librarian removes LIBRARIAN
    payload = await api.update_payload(
        lansing, id=colleague["id"], expectedVersion=colleague["version"], systemGroups=[]
    )
    # Then it is refused
    assert payload["errors"] == [
        error(
            "FORBIDDEN",
            "You may not grant or remove LIBRARIAN: only a system administrator may.",
            "input",
            "systemGroups",
        ),
        error(
            "FORBIDDEN",
            "Only someone who may grant LIBRARIAN and its login library (BASEHOR) can change "
            "this account.",
            "input",
            "id",
        ),
    ]
    assert await api.read(lansing, colleague["id"]) == colleague


@pytest.mark.parametrize("role", ["OVERRIDE_BLOCKS", "NETWORK_ADMIN"])
async def test_librarian_cannot_grant_roles_they_do_not_hold(
    api: PatronApi, lansing: str, role: str
) -> None:
    patron = await api.create(lansing, surname="Hopeful")
    payload = await api.update_payload(
        lansing, id=patron["id"], expectedVersion=1, systemGroups=[role]
    )
    assert payload["errors"] == [
        error(
            "FORBIDDEN",
            f"You may not grant or remove {role}: nobody grants a role they do not hold.",
            "input",
            "systemGroups",
        )
    ]
    assert await api.read(lansing, patron["id"]) == patron


async def test_system_admin_grants_librarian_and_system_admin(
    gql: GraphQL, api: PatronApi, nekls_admin: str
) -> None:
    # Given a staff member who can log in
    patron = await api.create(
        nekls_admin, surname="Promoted", username="promoted", password=PASSWORD, isStaff=True
    )
    # When the SYSTEM_ADMIN grants LIBRARIAN, then SYSTEM_ADMIN and OVERRIDE_BLOCKS
    librarian = await api.update(
        nekls_admin, id=patron["id"], expectedVersion=1, systemGroups=["LIBRARIAN"]
    )
    admin = await api.update(
        nekls_admin,
        id=patron["id"],
        expectedVersion=2,
        systemGroups=["LIBRARIAN", "SYSTEM_ADMIN", "OVERRIDE_BLOCKS"],
    )
    # Then the roles are held and used at the next login
    assert librarian["systemGroups"] == ["LIBRARIAN", "LIBRARY_USERS"]
    assert admin["systemGroups"] == [
        "LIBRARIAN",
        "LIBRARY_USERS",
        "OVERRIDE_BLOCKS",
        "SYSTEM_ADMIN",
    ]
    assert admin["version"] == 3
    token = await gql.login("promoted", "LANSING", password=PASSWORD)
    viewer = await gql.ok("{ viewer { systemGroups } }", token=token)
    assert viewer["viewer"]["systemGroups"] == [
        "LIBRARIAN",
        "LIBRARY_USERS",
        "OVERRIDE_BLOCKS",
        "SYSTEM_ADMIN",
    ]


async def test_nobody_grants_network_admin_without_holding_it(
    api: PatronApi, nekls_admin: str
) -> None:
    patron = await api.create(nekls_admin, surname="Networker")
    payload = await api.update_payload(
        nekls_admin, id=patron["id"], expectedVersion=1, systemGroups=["NETWORK_ADMIN"]
    )
    assert payload["errors"] == [
        error(
            "FORBIDDEN",
            "You may not grant or remove NETWORK_ADMIN: nobody grants a role they do not hold.",
            "input",
            "systemGroups",
        )
    ]
    assert await api.read(nekls_admin, patron["id"]) == patron


# ---------------------------------------------------------------- taking over accounts


async def staff_account(api: PatronApi, token: str, username: str) -> dict[str, Any]:
    found = await api.search(token, search=username)
    assert found["totalCount"] == 1
    patron = await api.read(token, found["edges"][0]["node"]["id"])
    assert patron is not None
    return patron


async def test_librarian_cannot_take_over_an_admin_account(
    gql: GraphQL, api: PatronApi, lansing: str
) -> None:
    # Given the SYSTEM_ADMIN's account
    admin = await staff_account(api, lansing, "nekls.admin")
    # When a LIBRARIAN sets its username and password
    payload = await api.update_payload(
        lansing,
        id=admin["id"],
        expectedVersion=admin["version"],
        username="mine.now",
        password="taken-over-123",
    )
    # Then it is FORBIDDEN and the admin still logs in as before
    refused = error(
        "FORBIDDEN",
        "Only someone who may grant SYSTEM_ADMIN and its login libraries (BASEHOR, TONGANOXIE) "
        "can change this account.",
        "input",
        "id",
    )
    assert payload == {"patron": None, "errors": [refused]}
    assert await api.read(lansing, admin["id"]) == admin
    assert await gql.login_errors("nekls.admin", "LANSING", "netzone-demo") == []
    assert await gql.login_errors("mine.now", "LANSING", "taken-over-123") == [
        error("INVALID_CREDENTIALS", "The username or password is not correct.")
    ]
    # ... and so is every other field of it: locking the institution out of its own
    # administration (disabled, an end date, no login libraries) as much as a phone number
    for change in (
        {"phone": "555-0199"},
        {"enabled": False},
        {"until": "2020-01-01"},
        {"libraries": []},
        {"homeLibrary": "BASEHOR"},
    ):
        payload = await api.update_payload(
            lansing, id=admin["id"], expectedVersion=admin["version"], **change
        )
        assert payload == {"patron": None, "errors": [refused]}, change
    assert await api.read(lansing, admin["id"]) == admin
    assert await gql.login_errors("nekls.admin", "LANSING", "netzone-demo") == []


async def test_librarian_cannot_reset_a_fellow_librarian(api: PatronApi, lansing: str) -> None:
    colleague = await staff_account(api, lansing, "basehor.librarian")
    payload = await api.update_payload(
        lansing, id=colleague["id"], expectedVersion=colleague["version"], password="colleague-123"
    )
    assert payload["errors"] == [
        error(
            "FORBIDDEN",
            "Only someone who may grant LIBRARIAN and its login library (BASEHOR) can change "
            "this account.",
            "input",
            "id",
        )
    ]
    assert await api.read(lansing, colleague["id"]) == colleague


async def test_own_password_and_resets_by_the_system_admin(
    gql: GraphQL, api: PatronApi, lansing: str, nekls_admin: str
) -> None:
    # A librarian changes their own password
    me = await staff_account(api, lansing, "lansing.librarian")
    await api.update(lansing, id=me["id"], expectedVersion=me["version"], password="my-own-new-pw")
    assert await gql.login_errors("lansing.librarian", "LANSING", "my-own-new-pw") == []
    # The SYSTEM_ADMIN resets a librarian's password
    colleague = await staff_account(api, nekls_admin, "basehor.librarian")
    await api.update(
        nekls_admin,
        id=colleague["id"],
        expectedVersion=colleague["version"],
        password="reset-by-admin",
    )
    assert await gql.login_errors("basehor.librarian", "BASEHOR", "reset-by-admin") == []
    # ... but not the NETWORK_ADMIN's, a role it does not hold
    network = await staff_account(api, nekls_admin, "network.admin")
    payload = await api.update_payload(
        nekls_admin, id=network["id"], expectedVersion=network["version"], password="reset-by-admin"
    )
    assert payload["errors"] == [
        error(
            "FORBIDDEN",
            "Only someone who may grant NETWORK_ADMIN can change this account.",
            "input",
            "id",
        )
    ]
    assert await gql.login_errors("network.admin", "LANSING", "netzone-demo") == []


async def test_renamed_patron_is_found_by_the_new_name_only(api: PatronApi, lansing: str) -> None:
    patron = await api.create(lansing, surname="Oldname", givenName="Ona", username="ona.old")
    await api.update(
        lansing, id=patron["id"], expectedVersion=1, surname="Newname", username="ona.new"
    )
    for term in ("Oldname", "ona.old", "Ona Oldname"):
        assert (await api.search(lansing, search=term))["totalCount"] == 0, term
    for term in ("Newname", "ona.new", "Ona Newname"):
        found = await api.search(lansing, search=term)
        assert [e["node"]["id"] for e in found["edges"]] == [patron["id"]], term


async def test_library_groups_and_contacts_are_replaced(
    api: PatronApi, northfield_admin: str
) -> None:
    # Given a NORTHFIELD patron with two contact addresses and no library group
    teachers = await api.teachers_group_id(northfield_admin)
    patron = await api.create(
        northfield_admin,
        institution="NORTHFIELD",
        homeLibrary="NORTHFIELD-MAIN",
        surname="Mover",
        contactEmails=[{"address": "a@example.org", "label": "A"}, {"address": "b@example.org"}],
    )
    # When the lists are replaced
    after = await api.update(
        northfield_admin,
        id=patron["id"],
        expectedVersion=1,
        libraryGroups=[teachers, teachers],
        contactEmails=[
            {"address": "c@example.org", "label": " Carer "},
            {"address": "a@example.org"},
        ],
    )
    # Then they hold exactly the new entries, in the given order
    assert after["libraryGroups"] == [{"id": teachers, "name": "Teachers"}]
    assert after["contactEmails"] == [
        {"address": "c@example.org", "label": "Carer"},
        {"address": "a@example.org", "label": None},
    ]
    assert after["version"] == 2
    # ... and an empty list clears
    cleared = await api.update(
        northfield_admin, id=patron["id"], expectedVersion=2, libraryGroups=[], contactEmails=[]
    )
    assert (cleared["libraryGroups"], cleared["contactEmails"], cleared["version"]) == ([], [], 3)
    assert await api.read(northfield_admin, patron["id"]) == cleared


async def test_public_search_account_can_be_edited(api: PatronApi, lansing: str) -> None:
    station = await api.create(lansing, surname="Opac", isGeneric=True, isPublicSearch=True)
    after = await api.update(
        lansing, id=station["id"], expectedVersion=1, isPublicSearch=True, surname="Opac (main)"
    )
    assert (after["isPublicSearch"], after["surname"], after["version"]) == (True, "Opac (main)", 2)
    # ... and stops being the public one when told so, freeing the place
    after = await api.update(lansing, id=station["id"], expectedVersion=2, isPublicSearch=False)
    assert after["isPublicSearch"] is False
    other = await api.create(lansing, surname="Opac two", isGeneric=True, isPublicSearch=True)
    assert other["isPublicSearch"] is True
