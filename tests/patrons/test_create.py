"""createPatron: every field round-trips; validation names the field; failures write nothing."""

from __future__ import annotations

from datetime import datetime

from tests.support.graphql import GraphQL, error
from tests.support.patrons import PASSWORD, PatronApi

LOGIN = """mutation($u: String!, $p: String!, $l: String!) {
  login(input: {username: $u, password: $p, library: $l}) {
    token errors { code message field } viewer { patron { id } systemGroups }
  }
}"""


async def assert_nothing_created(
    api: PatronApi, token: str, count_before: int, institution: str = "NEKLS", *searches: str
) -> None:
    """The institution has as many patrons as before and no search finds the refused one."""
    assert await api.count(token, institution) == count_before
    for term in searches:
        found = await api.search(token, institution, search=term)
        assert found["totalCount"] == 0, (term, found)
        assert found["edges"] == []


# ---------------------------------------------------------------- round trips


async def test_every_field_round_trips(
    gql: GraphQL, api: PatronApi, lansing: str, nekls_admin: str
) -> None:
    # Given the system administrator of NEKLS (who holds every library of NEKLS)
    # When they register a patron with every field set
    payload = await api.create_payload(
        nekls_admin,
        institution="NEKLS",
        homeLibrary="LANSING",
        userGroup="ADULT",
        username="Jo.Tester",
        password=PASSWORD,
        barcode="NZT-0001",
        adminSystemId="ADM-0001",
        identifiers=[
            {"type": "UNIV_ID", "value": "U-0001"},
            {"type": "consortial_id", "value": "KLN-0001"},
        ],
        givenName="Joanna",
        middleName="Maria",
        preferredName="Jo",
        surname="Tester",
        primaryEmail="  Jo.Tester@EXAMPLE.ORG ",
        contactEmails=[
            {"address": "mother@example.org", "label": "Mother"},
            {"address": "Guardian@Example.Org"},
        ],
        phone="+1 785 555 0100",
        enabled=True,
        isStaff=False,
        isGeneric=False,
        until="2031-06-30",
        expiryDate="2030-12-31",
        cohort="2030",
        formClass="9B",
        systemGroups=["CIRCULATION"],
        libraries=["LANSING", "BASEHOR"],
    )
    # Then the patron comes back exactly as given (normalised where the rules say so)
    assert payload["errors"] == []
    patron = payload["patron"]
    expected = {
        "institution": {"code": "NEKLS"},
        "homeLibrary": {"code": "LANSING"},
        "userGroup": {"code": "ADULT"},
        "accountType": "HOME",
        "username": "Jo.Tester",
        "barcode": "NZT-0001",
        "adminSystemId": "ADM-0001",
        "identifiers": [
            {
                "type": {
                    "code": "ADMIN_SYSTEM_ID",
                    "name": "Administration system ID",
                    "networkUnique": False,
                },
                "value": "ADM-0001",
            },
            {
                "type": {"code": "BARCODE", "name": "Library barcode", "networkUnique": False},
                "value": "NZT-0001",
            },
            {
                "type": {"code": "CONSORTIAL_ID", "name": "Consortial ID", "networkUnique": True},
                "value": "KLN-0001",
            },
            {
                "type": {"code": "UNIV_ID", "name": "University ID", "networkUnique": False},
                "value": "U-0001",
            },
        ],
        "givenName": "Joanna",
        "middleName": "Maria",
        "preferredName": "Jo",
        "surname": "Tester",
        "primaryEmail": "Jo.Tester@example.org",
        "contactEmails": [
            {"address": "mother@example.org", "label": "Mother"},
            {"address": "Guardian@example.org", "label": None},
        ],
        "phone": "+1 785 555 0100",
        "enabled": True,
        "isStaff": False,
        "isGeneric": False,
        "isPublicSearch": False,
        "until": "2031-06-30",
        "expiryDate": "2030-12-31",
        "purgeDate": None,
        "cohort": "2030",
        "formClass": "9B",
        "libraryGroups": [],
        "systemGroups": ["CIRCULATION", "LIBRARY_USERS"],
        "libraries": [{"code": "BASEHOR"}, {"code": "LANSING"}],
        "blocks": [],
        "version": 1,
    }
    assert {
        k: v for k, v in patron.items() if k not in ("id", "createdAt", "updatedAt")
    } == expected
    # ... and reading it again gives the same
    assert await api.read(lansing, patron["id"]) == patron
    # ... and the password works for logging in, but is never returned
    response = await gql.raw(LOGIN, {"u": "jo.tester", "p": PASSWORD, "l": "BASEHOR"})
    assert PASSWORD not in response.text
    login = response.json()["data"]["login"]
    assert login["errors"] == []
    assert login["viewer"] == {
        "patron": {"id": patron["id"]},
        "systemGroups": ["CIRCULATION", "LIBRARY_USERS"],
    }
    body = await gql('{ __type(name: "Patron") { fields { name } } }', token=lansing)
    names = {f["name"] for f in body["data"]["__type"]["fields"]}
    assert not {n for n in names if "password" in n.lower()}


async def test_minimal_patron_gets_defaults(api: PatronApi, lansing: str) -> None:
    # When only the mandatory fields are given
    patron = await api.create(lansing, surname="Minimal")
    # Then the optional ones are empty and the defaults apply
    assert {k: v for k, v in patron.items() if k not in ("id", "createdAt", "updatedAt")} == {
        "institution": {"code": "NEKLS"},
        "homeLibrary": {"code": "LANSING"},
        "userGroup": None,
        "accountType": "HOME",
        "username": None,
        "barcode": None,
        "adminSystemId": None,
        "identifiers": [],
        "givenName": None,
        "middleName": None,
        "preferredName": None,
        "surname": "Minimal",
        "primaryEmail": None,
        "contactEmails": [],
        "phone": None,
        "enabled": True,
        "isStaff": False,
        "isGeneric": False,
        "isPublicSearch": False,
        "until": None,
        "expiryDate": None,
        "purgeDate": None,
        "cohort": None,
        "formClass": None,
        "libraryGroups": [],
        "systemGroups": ["LIBRARY_USERS"],
        "libraries": [],
        "blocks": [],
        "version": 1,
    }
    assert datetime.fromisoformat(patron["createdAt"]) <= datetime.fromisoformat(
        patron["updatedAt"]
    )


async def test_school_staff_and_student_with_library_groups(
    api: PatronApi, northfield_admin: str
) -> None:
    # Given NORTHFIELD's "Teachers" library group
    teachers = await api.teachers_group_id(northfield_admin)
    # When a teacher (staff, in the group) and a student (cohort, form class) are registered
    teacher = await api.create(
        northfield_admin,
        institution="NORTHFIELD",
        homeLibrary="NORTHFIELD-MAIN",
        userGroup="STAFF",
        surname="Chalk",
        givenName="Charlie",
        isStaff=True,
        libraryGroups=[teachers],
    )
    student = await api.create(
        northfield_admin,
        institution="NORTHFIELD",
        homeLibrary="NORTHFIELD-MAIN",
        userGroup="STUDENT",
        surname="Pupil",
        givenName="Pat",
        adminSystemId="NO-STUDENT-1",
        cohort="2029",
        formClass="10A",
    )
    # Then both round-trip with their group, cohort and form class
    assert teacher["isStaff"] is True
    assert teacher["libraryGroups"] == [{"id": teachers, "name": "Teachers"}]
    assert teacher["formClass"] is None
    assert teacher["systemGroups"] == ["LIBRARY_USERS"]
    assert (student["cohort"], student["formClass"], student["adminSystemId"]) == (
        "2029",
        "10A",
        "NO-STUDENT-1",
    )
    assert student["libraryGroups"] == []
    assert await api.read(northfield_admin, teacher["id"]) == teacher


async def test_generic_public_search_account(api: PatronApi, lansing: str) -> None:
    # When a generic account is made the public search account, with the sites it searches
    station = await api.create(
        lansing,
        surname="Catalogue station",
        username="opac",
        password=PASSWORD,
        isGeneric=True,
        isPublicSearch=True,
        libraries=["LANSING", "TONGANOXIE"],
    )
    # Then it is generic, public, carries its libraries and nothing personal
    assert (station["isGeneric"], station["isPublicSearch"], station["isStaff"]) == (
        True,
        True,
        False,
    )
    assert station["libraries"] == [{"code": "LANSING"}, {"code": "TONGANOXIE"}]
    assert (station["barcode"], station["primaryEmail"], station["identifiers"]) == (None, None, [])


async def test_same_barcode_is_allowed_in_another_institution(
    api: PatronApi, lansing: str, eastern_admin: str
) -> None:
    # Given a NEKLS patron with a barcode
    nekls = await api.create(lansing, surname="Twin", barcode="SHARED-777")
    # When EASTERN registers a patron with the same barcode (other letter case)
    eastern = await api.create(
        eastern_admin,
        institution="EASTERN",
        homeLibrary="EASTERN-MAIN",
        surname="Twin",
        barcode="shared-777",
    )
    # Then both exist with their barcode
    assert eastern["barcode"] == "shared-777"
    assert (await api.read(lansing, nekls["id"]))["barcode"] == "SHARED-777"  # type: ignore[index]


async def test_university_id_is_unique_only_within_the_institution(
    api: PatronApi, western_librarian: str
) -> None:
    # Given EASTERN's seeded patron with UNIV_ID E0000001 (not network-unique)
    # When WESTERN registers someone with the same value
    patron = await api.create(
        western_librarian,
        institution="WESTERN",
        homeLibrary="WESTERN-MAIN",
        surname="Samevalue",
        identifiers=[{"type": "UNIV_ID", "value": "E0000001"}],
    )
    # Then it is accepted
    assert patron["identifiers"][0]["value"] == "E0000001"


# ---------------------------------------------------------------- validation


async def test_missing_surname(api: PatronApi, lansing: str) -> None:
    before = await api.count(lansing)
    payload = await api.create_payload(
        lansing, institution="NEKLS", homeLibrary="LANSING", surname="   ", username="no.surname"
    )
    assert payload == {
        "patron": None,
        "errors": [error("MANDATORY_FIELD", "The surname is required.", "input", "surname")],
    }
    await assert_nothing_created(api, lansing, before, "NEKLS", "no.surname")


async def test_password_too_short(api: PatronApi, lansing: str) -> None:
    before = await api.count(lansing)
    for password in ("short", ""):
        payload = await api.create_payload(
            lansing,
            institution="NEKLS",
            homeLibrary="LANSING",
            surname="Shortpass",
            username="short.pass",
            password=password,
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
        }, password
    await assert_nothing_created(api, lansing, before, "NEKLS", "short.pass", "Shortpass")


async def test_invalid_primary_and_contact_email(api: PatronApi, lansing: str) -> None:
    before = await api.count(lansing)
    payload = await api.create_payload(
        lansing,
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Bademail",
        primaryEmail="jo.example.org",
        contactEmails=[
            {"address": "fine@example.org", "label": "Mother"},
            {"address": "father@@example", "label": "Father"},
        ],
    )
    # Then each bad address is reported once, on its own path
    assert payload["patron"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("INVALID_EMAIL", ["input", "primaryEmail"]),
        ("INVALID_EMAIL", ["input", "contactEmails", "1", "address"]),
    ]
    assert payload["errors"][0]["message"] == (
        "Not a valid email address: An email address must have an @-sign."
    )
    assert payload["errors"][1]["message"].startswith("Not a valid email address: ")
    await assert_nothing_created(api, lansing, before, "NEKLS", "Bademail")


async def test_blank_contact_address(api: PatronApi, lansing: str) -> None:
    before = await api.count(lansing)
    payload = await api.create_payload(
        lansing,
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Blankcontact",
        contactEmails=[{"address": "  ", "label": "Mother"}],
    )
    assert payload == {
        "patron": None,
        "errors": [
            error("MANDATORY_FIELD", "Give the address.", "input", "contactEmails", "0", "address")
        ],
    }
    await assert_nothing_created(api, lansing, before, "NEKLS", "Blankcontact")


async def test_duplicate_username_is_case_insensitive(api: PatronApi, lansing: str) -> None:
    before = await api.count(lansing)
    payload = await api.create_payload(
        lansing,
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Copycat",
        username="  LANSING.Librarian ",
    )
    assert payload == {
        "patron": None,
        "errors": [
            error(
                "DUPLICATE_USERNAME",
                "The username 'LANSING.Librarian' is already used in NEKLS.",
                "input",
                "username",
            )
        ],
    }
    await assert_nothing_created(api, lansing, before, "NEKLS", "Copycat")


async def test_same_username_is_allowed_in_another_institution(
    api: PatronApi, eastern_admin: str
) -> None:
    patron = await api.create(
        eastern_admin,
        institution="EASTERN",
        homeLibrary="EASTERN-MAIN",
        surname="Lansing",
        username="lansing.librarian",
    )
    assert patron["username"] == "lansing.librarian"


async def test_duplicate_barcode_and_admin_system_id(api: PatronApi, lansing: str) -> None:
    # Given a patron with a barcode and an admin system id
    await api.create(lansing, surname="Original", barcode="NZT-ABC", adminSystemId="ADM-XYZ")
    before = await api.count(lansing)
    # When another patron gets the same values in other letter case
    payload = await api.create_payload(
        lansing,
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Imitation",
        barcode="nzt-abc",
        adminSystemId="adm-xyz",
    )
    # Then both are refused, each on its field
    assert payload == {
        "patron": None,
        "errors": [
            error(
                "DUPLICATE_IDENTIFIER",
                "Library barcode 'nzt-abc' already belongs to another patron in NEKLS.",
                "input",
                "barcode",
            ),
            error(
                "DUPLICATE_IDENTIFIER",
                "Administration system ID 'adm-xyz' already belongs to another patron in NEKLS.",
                "input",
                "adminSystemId",
            ),
        ],
    }
    await assert_nothing_created(api, lansing, before, "NEKLS", "Imitation")


async def test_seeded_barcode_is_taken(api: PatronApi, lansing: str) -> None:
    before = await api.count(lansing)
    payload = await api.create_payload(
        lansing,
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Seedclash",
        barcode="2100000001",
    )
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("DUPLICATE_IDENTIFIER", ["input", "barcode"])
    ]
    await assert_nothing_created(api, lansing, before, "NEKLS", "Seedclash")


async def test_consortial_id_names_one_person_across_the_network(
    api: PatronApi, lansing: str, eastern_admin: str
) -> None:
    # Given a NEKLS patron with a consortial id
    await api.create(
        lansing, surname="Consort", identifiers=[{"type": "CONSORTIAL_ID", "value": "KLN-42"}]
    )
    # When EASTERN gives the same consortial id (other case) to its account of that person
    payload = await api.create_payload(
        eastern_admin,
        institution="EASTERN",
        homeLibrary="EASTERN-MAIN",
        surname="Consort",
        identifiers=[
            {"type": "UNIV_ID", "value": "E-NEW-1"},
            {"type": "CONSORTIAL_ID", "value": "kln-42"},
        ],
    )
    # Then it is accepted: both are accounts of the same person
    assert payload["errors"] == []
    # But a second NEKLS account with the same consortial id is refused
    before = await api.count(lansing)
    again = await api.create_payload(
        lansing,
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Twin",
        identifiers=[{"type": "CONSORTIAL_ID", "value": "KLN-42"}],
    )
    assert again == {
        "patron": None,
        "errors": [
            error(
                "DUPLICATE_IDENTIFIER",
                "Consortial ID 'KLN-42' already belongs to another patron in NEKLS.",
                "input",
                "identifiers",
                "0",
                "value",
            ),
        ],
    }
    await assert_nothing_created(api, lansing, before, "NEKLS", "Twin")


async def test_duplicate_univ_id_within_the_institution(api: PatronApi, eastern_admin: str) -> None:
    before = await api.count(eastern_admin, "EASTERN")
    payload = await api.create_payload(
        eastern_admin,
        institution="EASTERN",
        homeLibrary="EASTERN-MAIN",
        surname="Dupuniv",
        identifiers=[{"type": "UNIV_ID", "value": "e0000001"}],
    )
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("DUPLICATE_IDENTIFIER", ["input", "identifiers", "0", "value"])
    ]
    await assert_nothing_created(api, eastern_admin, before, "EASTERN", "Dupuniv")


async def test_identifier_mistakes(api: PatronApi, lansing: str) -> None:
    before = await api.count(lansing)
    payload = await api.create_payload(
        lansing,
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Idmistake",
        identifiers=[
            {"type": "BARCODE", "value": "X1"},
            {"type": "NO_SUCH_TYPE", "value": "X2"},
            {"type": "UNIV_ID", "value": " "},
            {"type": "CONSORTIAL_ID", "value": "C1"},
            {"type": "consortial_id", "value": "C2"},
        ],
    )
    assert payload == {
        "patron": None,
        "errors": [
            error(
                "INVALID_INPUT",
                "Set BARCODE with the barcode field.",
                "input",
                "identifiers",
                "0",
                "type",
            ),
            error("MANDATORY_FIELD", "Give a value.", "input", "identifiers", "2", "value"),
            error(
                "INVALID_INPUT",
                "CONSORTIAL_ID is given twice.",
                "input",
                "identifiers",
                "4",
                "type",
            ),
            error(
                "INVALID_INPUT",
                "There is no identifier type NO_SUCH_TYPE.",
                "input",
                "identifiers",
                "1",
                "type",
            ),
        ],
    }
    await assert_nothing_created(api, lansing, before, "NEKLS", "Idmistake", "C1", "X2")


async def test_password_needs_a_username(api: PatronApi, lansing: str) -> None:
    before = await api.count(lansing)
    payload = await api.create_payload(
        lansing, institution="NEKLS", homeLibrary="LANSING", surname="Nameless", password=PASSWORD
    )
    assert payload == {
        "patron": None,
        "errors": [
            error(
                "MANDATORY_FIELD",
                "An account with a password needs a username.",
                "input",
                "username",
            )
        ],
    }
    await assert_nothing_created(api, lansing, before, "NEKLS", "Nameless")


async def test_staff_member_cannot_have_a_form_class(api: PatronApi, northfield_admin: str) -> None:
    before = await api.count(northfield_admin, "NORTHFIELD")
    payload = await api.create_payload(
        northfield_admin,
        institution="NORTHFIELD",
        homeLibrary="NORTHFIELD-MAIN",
        surname="Formteacher",
        isStaff=True,
        formClass="7C",
    )
    assert payload == {
        "patron": None,
        "errors": [
            error("INVALID_INPUT", "A staff member cannot have a form class.", "input", "formClass")
        ],
    }
    await assert_nothing_created(api, northfield_admin, before, "NORTHFIELD", "Formteacher")


async def test_generic_account_has_no_personal_data_and_no_staff(
    api: PatronApi, lansing: str
) -> None:
    before = await api.count(lansing)
    payload = await api.create_payload(
        lansing,
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Kiosk",
        isGeneric=True,
        isStaff=True,
        barcode="KIOSK-1",
        primaryEmail="kiosk@example.org",
        contactEmails=[{"address": "it@example.org"}],
        phone="555",
        systemGroups=["CIRCULATION"],
    )
    assert payload == {
        "patron": None,
        "errors": [
            error(
                "INVALID_INPUT", "A generic account cannot be a staff member.", "input", "isStaff"
            ),
            error(
                "INVALID_INPUT",
                "A generic account has no personal data: remove barcode.",
                "input",
                "barcode",
            ),
            error(
                "INVALID_INPUT",
                "A generic account has no personal data: remove primaryEmail.",
                "input",
                "primaryEmail",
            ),
            error(
                "INVALID_INPUT",
                "A generic account has no personal data: remove contactEmails.",
                "input",
                "contactEmails",
            ),
            error(
                "INVALID_INPUT",
                "A generic account has no personal data: remove phone.",
                "input",
                "phone",
            ),
            error(
                "INVALID_INPUT",
                "A generic account cannot hold staff roles.",
                "input",
                "systemGroups",
            ),
        ],
    }
    await assert_nothing_created(api, lansing, before, "NEKLS", "Kiosk", "KIOSK-1")


async def test_one_public_search_account_per_institution(
    api: PatronApi, lansing: str, eastern_admin: str
) -> None:
    # Given NEKLS's public search account
    first = await api.create(lansing, surname="Opac one", isGeneric=True, isPublicSearch=True)
    before = await api.count(lansing)
    # When a second one is registered
    payload = await api.create_payload(
        lansing,
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Opac two",
        isGeneric=True,
        isPublicSearch=True,
    )
    # Then it is refused and nothing changed
    assert payload == {
        "patron": None,
        "errors": [
            error(
                "CONFLICT", "NEKLS already has a public search account.", "input", "isPublicSearch"
            )
        ],
    }
    await assert_nothing_created(api, lansing, before, "NEKLS", "Opac two")
    assert await api.read(lansing, first["id"]) == first
    # ... a personal account cannot be one either
    payload = await api.create_payload(
        lansing,
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Opac three",
        isPublicSearch=True,
    )
    assert payload["errors"] == [
        error(
            "INVALID_INPUT",
            "Only a generic account can be the public search account.",
            "input",
            "isPublicSearch",
        )
    ]
    # ... but another institution has its own
    other = await api.create(
        eastern_admin,
        institution="EASTERN",
        homeLibrary="EASTERN-MAIN",
        surname="Opac east",
        isGeneric=True,
        isPublicSearch=True,
    )
    assert other["isPublicSearch"] is True


async def test_unknown_or_foreign_libraries_and_groups(
    api: PatronApi, lansing: str, northfield_admin: str
) -> None:
    teachers = await api.teachers_group_id(northfield_admin)
    before = await api.count(lansing)
    for home, message in (
        ("NOWHERE", "'NOWHERE' is not a library of NEKLS."),
        ("EASTERN-MAIN", "'EASTERN-MAIN' is not a library of NEKLS."),
    ):
        payload = await api.create_payload(
            lansing, institution="NEKLS", homeLibrary=home, surname="Wanderer"
        )
        assert payload == {
            "patron": None,
            "errors": [error("INVALID_INPUT", message, "input", "homeLibrary")],
        }
    payload = await api.create_payload(
        lansing,
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Wanderer",
        userGroup="UNDERGRAD",
        libraryGroups=[teachers, "bm90LWFuLWlk"],
        libraries=["BASEHOR", "WESTERN-MAIN"],
    )
    assert payload == {
        "patron": None,
        "errors": [
            error(
                "INVALID_INPUT", "'UNDERGRAD' is not a user group of NEKLS.", "input", "userGroup"
            ),
            error(
                "INVALID_INPUT",
                "This is not a library group of NEKLS.",
                "input",
                "libraryGroups",
                "0",
            ),
            error(
                "INVALID_INPUT",
                "This is not a library group of NEKLS.",
                "input",
                "libraryGroups",
                "1",
            ),
            error(
                "INVALID_INPUT",
                "'WESTERN-MAIN' is not a library of NEKLS.",
                "input",
                "libraries",
                "1",
            ),
        ],
    }
    await assert_nothing_created(api, lansing, before, "NEKLS", "Wanderer")


async def test_several_errors_are_reported_at_once(api: PatronApi, lansing: str) -> None:
    before = await api.count(lansing)
    payload = await api.create_payload(
        lansing,
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="",
        username="Basehor.Librarian",
        password="1234",
        primaryEmail="nobody",
        barcode="2100000002",
        systemGroups=["LIBRARIAN"],
    )
    assert payload["patron"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("MANDATORY_FIELD", ["input", "surname"]),
        ("DUPLICATE_USERNAME", ["input", "username"]),
        ("PASSWORD_TOO_SHORT", ["input", "password"]),
        ("INVALID_EMAIL", ["input", "primaryEmail"]),
        ("DUPLICATE_IDENTIFIER", ["input", "barcode"]),
        ("FORBIDDEN", ["input", "systemGroups"]),
    ]
    await assert_nothing_created(api, lansing, before, "NEKLS", "nobody")


async def test_text_limits_and_control_characters(api: PatronApi, lansing: str) -> None:
    before = await api.count(lansing)
    payload = await api.create_payload(
        lansing,
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Long" * 60,
        givenName="Tab\there",
        username="has space",
    )
    assert payload == {
        "patron": None,
        "errors": [
            error("INVALID_INPUT", "Control characters are not allowed.", "input", "givenName"),
            error("INVALID_INPUT", "At most 200 characters.", "input", "surname"),
            error("INVALID_INPUT", "A username cannot contain spaces.", "input", "username"),
        ],
    }
    await assert_nothing_created(api, lansing, before, "NEKLS", "Long" * 3)


async def test_identifier_values_are_checked(api: PatronApi, lansing: str) -> None:
    before = await api.count(lansing)
    payload = await api.create_payload(
        lansing,
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Idvalues",
        barcode="B" * 201,
        adminSystemId="A\u0007",
        identifiers=[
            {"type": "UNIV_ID", "value": "U" * 201},
            {"type": "CONSORTIAL_ID", "value": "c\u0001d"},
        ],
    )
    # Each value is reported once, on its own path
    assert payload == {
        "patron": None,
        "errors": [
            error("INVALID_INPUT", "At most 200 characters.", "input", "identifiers", "0", "value"),
            error(
                "INVALID_INPUT",
                "Control characters are not allowed.",
                "input",
                "identifiers",
                "1",
                "value",
            ),
            error("INVALID_INPUT", "At most 200 characters.", "input", "barcode"),
            error("INVALID_INPUT", "Control characters are not allowed.", "input", "adminSystemId"),
        ],
    }
    await assert_nothing_created(api, lansing, before, "NEKLS", "Idvalues")


async def test_the_home_library_defaults_to_the_sessions_library(
    api: PatronApi, gql: GraphQL, lansing: str
) -> None:
    # Given librarians at LANSING and at BASEHOR (seed 000: "By default, the patron's home
    # library should be set to LANSING" when LANSING staff create one)
    basehor = await gql.login("basehor.librarian", "BASEHOR")
    # When each creates a patron without a home library
    at_lansing = await api.create_payload(lansing, institution="NEKLS", surname="Defaulted")
    at_basehor = await api.create_payload(basehor, institution="NEKLS", surname="Defaulted")
    # Then the patron's home library is the session's
    assert at_lansing["errors"] == []
    assert at_lansing["patron"]["homeLibrary"] == {"code": "LANSING"}
    assert at_basehor["errors"] == []
    assert at_basehor["patron"]["homeLibrary"] == {"code": "BASEHOR"}
    # And one given explicitly still wins
    given = await api.create(basehor, surname="Given", homeLibrary="TONGANOXIE")
    assert given["homeLibrary"] == {"code": "TONGANOXIE"}
    # And an explicit null is the default too, never an account without a home
    nulled = await api.create_payload(
        lansing, institution="NEKLS", surname="Nulled", homeLibrary=None
    )
    assert nulled["patron"]["homeLibrary"] == {"code": "LANSING"}
