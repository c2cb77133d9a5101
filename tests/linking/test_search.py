"""networkPatronSearch and linkAccount: what other members may find and link."""

from __future__ import annotations

from typing import Any

import pytest

from app.db import Database
from app.linking.refs import make_ref, ref_key
from app.settings import Settings
from tests.support.graphql import error
from tests.support.ids import pk_of
from tests.support.linking import Net, day

NOT_FOUND_SOURCE = error(
    "SOURCE_NOT_FOUND", "The patron was not found; search again.", "input", "sourcePatron"
)


def restricted(message: str) -> dict[str, Any]:
    return error("SOURCE_RESTRICTED", message, "input", "sourcePatron")


async def nothing_found(net: Net, username: str, **search: Any) -> None:
    assert await net.search(username, **search) == {"matches": [], "errors": []}


async def test_an_identifier_finds_a_home_account_with_its_shared_fields(net: Net) -> None:
    # Given an EASTERN patron with every field set (names, email and phone shared by default)
    source = await net.eastern_source(1)
    # When WESTERN searches its university ID, in another case
    result = await net.search("western.librarian", identifier=" test-eu0001 ")
    # Then it finds the patron, showing shared fields only
    assert result["errors"] == []
    [match] = result["matches"]
    assert {k: v for k, v in match.items() if k != "ref"} == {
        "institution": {"code": "EASTERN"},
        "userGroup": {"code": "UNDERGRAD"},
        "givenName": "Erika",
        "middleName": "May",
        "preferredName": "Rika",
        "surname": "Sourcefield1",
        "primaryEmail": "erika1@east.example.org",
        "contactEmails": None,
        "phone": "555-0100",
        "cohort": None,
        "formClass": None,
        "expiryDate": source["expiryDate"],
        "linkedAccount": None,
    }
    # And its barcode finds it too (EASTERN lets every identifier type find its patrons)
    assert (await net.find("western.librarian", "TEST-E0001"))["ref"] == match["ref"]
    # And once linked, the search shows the searcher's linked account
    copy = (await net.link("western.librarian", match["ref"]))["linkedAccount"]
    again = await net.find("western.librarian", "TEST-EU0001")
    assert again["linkedAccount"] == {"id": copy["id"]}
    # And other members still see no linked account of theirs
    assert (await net.find("lansing.librarian", "TEST-EU0001"))["linkedAccount"] is None


async def test_shared_field_settings_decide_what_search_shows(net: Net) -> None:
    # Given EASTERN shares cohort, form class and contact emails but no longer names or phone
    await net.eastern_source(2)
    await net.set_shared(
        "eastern.admin",
        "EASTERN",
        COHORT=True,
        FORM_CLASS=True,
        CONTACT_EMAILS=True,
        GIVEN_NAME=False,
        MIDDLE_NAME=False,
        PREFERRED_NAME=False,
        SURNAME=False,
        PHONE=False,
    )
    # When WESTERN searches the patron
    match = await net.find("western.librarian", "TEST-EU0002")
    # Then only the shared fields are shown
    assert {k: v for k, v in match.items() if k not in ("ref", "expiryDate")} == {
        "institution": {"code": "EASTERN"},
        "userGroup": {"code": "UNDERGRAD"},
        "givenName": None,
        "middleName": None,
        "preferredName": None,
        "surname": None,
        "primaryEmail": "erika2@east.example.org",
        "contactEmails": [{"address": "home2@east.example.org", "label": "Home"}],
        "phone": None,
        "cohort": "2027",
        "formClass": "UG1",
        "linkedAccount": None,
    }


async def test_restricted_groups_are_never_found_nor_linked(net: Net) -> None:
    # Given an EASTERN VISITOR (restricted at EASTERN) and an undergraduate found by WESTERN
    await net.eastern_source(3, userGroup="VISITOR")
    await net.eastern_source(4)
    ref = (await net.find("western.librarian", "TEST-EU0004"))["ref"]
    # Then the visitor is never found, by any identifier or by name
    await nothing_found(net, "western.librarian", identifier="TEST-EU0003")
    await nothing_found(net, "western.librarian", identifier="TEST-E0003")
    await nothing_found(net, "western.librarian", name="Sourcefield3")
    # When EASTERN restricts undergraduates too
    await net.restrict("eastern.admin", "EASTERN", "UNDERGRAD")
    # Then the undergraduate disappears from search at once, and cannot be linked
    await nothing_found(net, "western.librarian", identifier="TEST-EU0004")
    payload = await net.link_payload("western.librarian", ref)
    assert payload == {
        "linkedAccount": None,
        "created": None,
        "errors": [restricted("EASTERN does not share patrons of this user group.")],
    }
    assert await net.linked_accounts() == []


async def test_searchable_identifier_types_limit_how_a_source_is_found(net: Net) -> None:
    # Given a WESTERN student (WESTERN lets others find its patrons by UNIV_ID only)
    await net.western_source(1)
    # Then its barcode finds nothing, with or without the identifier type
    await nothing_found(net, "eastern.admin", identifier="TEST-W0001")
    await nothing_found(net, "eastern.admin", identifier="TEST-W0001", identifierType="BARCODE")
    # And its university ID finds it, unless another type is asked for
    match = await net.find("eastern.admin", "TEST-WU0001")
    assert match["institution"] == {"code": "WESTERN"}
    assert (await net.find("eastern.admin", "TEST-WU0001", identifierType="UNIV_ID"))[
        "ref"
    ] == match["ref"]
    await nothing_found(net, "eastern.admin", identifier="TEST-WU0001", identifierType="BARCODE")
    # And WESTERN's own staff are not "other members": they find nothing in the network
    await nothing_found(net, "western.librarian", identifier="TEST-WU0001")


async def test_a_source_chooses_its_searchable_identifier_types(net: Net) -> None:
    # Given an EASTERN patron (every identifier type finds EASTERN's patrons)
    await net.eastern_source(10)
    assert (await net.find("western.librarian", "TEST-EU0010"))["surname"] == "Sourcefield10"
    query = """mutation($add: Boolean!, $type: String!, $all: Boolean = false) {
      add: addSearchableIdentifierType(input: {institution: "EASTERN", identifierType: $type})
        @include(if: $add) { institution { searchableIdentifierTypes { code } } errors { code } }
      remove: removeSearchableIdentifierType(input: {institution: "EASTERN", identifierType: $type,
                                                     allTypes: $all})
        @skip(if: $add) { institution { searchableIdentifierTypes { code } } errors { code } }
    }"""
    admin = await net.token("eastern.admin")
    # When EASTERN lets others find its patrons by barcode only
    data = await net.gql.ok(query, {"add": True, "type": "BARCODE"}, admin)
    assert data["add"] == {
        "institution": {"searchableIdentifierTypes": [{"code": "BARCODE"}]},
        "errors": [],
    }
    # Then the university ID no longer finds the patron; the barcode does
    await nothing_found(net, "western.librarian", identifier="TEST-EU0010")
    assert (await net.find("western.librarian", "TEST-E0010"))["surname"] == "Sourcefield10"
    # And emptying the list (every type again) is a choice said out loud, never a side effect
    data = await net.gql.ok(query, {"add": False, "type": "BARCODE"}, admin)
    assert data["remove"] == {"institution": None, "errors": [{"code": "INVALID_INPUT"}]}
    await nothing_found(net, "western.librarian", identifier="TEST-EU0010")
    # And when the list is empty again, every type finds it again
    data = await net.gql.ok(query, {"add": False, "type": "BARCODE", "all": True}, admin)
    assert data["remove"] == {"institution": {"searchableIdentifierTypes": []}, "errors": []}
    assert (await net.find("western.librarian", "TEST-EU0010"))["surname"] == "Sourcefield10"
    # And only EASTERN's system administrator may change the list
    data = await net.gql.ok(
        query, {"add": True, "type": "UNIV_ID"}, await net.token("western.admin")
    )
    assert data["add"] == {"institution": None, "errors": [{"code": "FORBIDDEN"}]}


LOOKUP = """mutation($add: Boolean!, $type: String!, $institution: String!, $all: Boolean = false) {
  add: addLookupIdentifierType(input: {institution: $institution, identifierType: $type})
    @include(if: $add) { institution { lookupIdentifierTypes { code } } errors { code } }
  remove: removeLookupIdentifierType(input: {institution: $institution, identifierType: $type,
                                             allTypes: $all})
    @skip(if: $add) { institution { lookupIdentifierTypes { code } } errors { code } }
}"""


async def test_a_target_chooses_the_identifier_types_it_looks_up_by(net: Net) -> None:
    # Given two EASTERN patrons, one with a university ID and one with a barcode only
    # (EASTERN lets others find its patrons by any type)
    await net.eastern_source(20)
    await net.eastern_source(21, identifiers=[])
    barcode_only = await net.find("western.librarian", "TEST-E0021")
    assert (await net.find("western.librarian", "TEST-E0020"))["surname"] == "Sourcefield20"
    # When WESTERN looks others' patrons up by university ID only
    variables = {"add": True, "type": "UNIV_ID", "institution": "WESTERN"}
    # ... which only WESTERN's system administrator may say (nothing changes otherwise)
    for denied in ("western.librarian", "eastern.admin"):
        data = await net.gql.ok(LOOKUP, variables, await net.token(denied))
        assert data["add"] == {"institution": None, "errors": [{"code": "FORBIDDEN"}]}, denied
    assert (await net.find("western.librarian", "TEST-E0020"))["surname"] == "Sourcefield20"
    admin = await net.token("western.admin")
    data = await net.gql.ok(LOOKUP, variables, admin)
    assert data["add"] == {
        "institution": {"lookupIdentifierTypes": [{"code": "UNIV_ID"}]},
        "errors": [],
    }
    # Then barcodes find nothing; asking for the barcode type is refused, by name
    await nothing_found(net, "western.librarian", identifier="TEST-E0020")
    refused = await net.search(
        "western.librarian", identifier="TEST-E0020", identifierType="BARCODE"
    )
    assert refused == {
        "matches": [],
        "errors": [
            error(
                "INVALID_INPUT",
                "Your institution looks up other members' patrons by UNIV_ID only, not by BARCODE.",
                "input",
                "identifierType",
            )
        ],
    }
    # ... the university ID finds the patron, and links it
    match = await net.find("western.librarian", "TEST-EU0020")
    assert match["surname"] == "Sourcefield20"
    await net.link("western.librarian", match["ref"])
    # ... and a patron with no university ID is not linked, even with a ref found before
    payload = await net.link_payload("western.librarian", barcode_only["ref"])
    assert payload["errors"] == [
        restricted(
            "The patron has no identifier of the types your institution looks up other "
            "members' patrons by (UNIV_ID)."
        )
    ]
    assert [a["surname"] for a in await net.linked_accounts()] == ["Sourcefield20"]
    # Others are not affected: EASTERN's own lookups by barcode go on working
    await net.western_source(22)
    assert (await net.find("eastern.admin", "TEST-WU0022"))["institution"] == {"code": "WESTERN"}
    # When the list is empty again, every type the sources allow finds again
    data = await net.gql.ok(LOOKUP, {**variables, "add": False}, admin)
    assert data["remove"] == {"institution": None, "errors": [{"code": "INVALID_INPUT"}]}
    data = await net.gql.ok(LOOKUP, {**variables, "add": False, "all": True}, admin)
    assert data["remove"] == {"institution": {"lookupIdentifierTypes": []}, "errors": []}
    assert (await net.find("western.librarian", "TEST-E0021"))["surname"] == "Sourcefield21"


SETTINGS = """mutation($input: UpdateInstitutionSettingsInput!) {
  updateInstitutionSettings(input: $input) {
    institution { settings { networkSearchByUsername networkSearchByEmail } }
    errors { code }
  }
}"""
SHARE = """mutation($shared: Boolean!) {
  setSharedFields(input: {institution: "WESTERN", fields: [{field: PRIMARY_EMAIL, shared: $shared}]})
  { errors { code } }
}"""


async def test_a_source_may_let_others_find_patrons_by_username_or_email(net: Net) -> None:
    # Given a WESTERN student with a username (its SSO subject) and a primary email
    await net.western_source(30, username="wanda.sso")
    # Off by default: neither finds anything
    await nothing_found(net, "eastern.admin", identifier="wanda.sso")
    await nothing_found(net, "eastern.admin", identifier="wanda30@west.example.org")
    # Only WESTERN's system administrator may opt in (nothing changes otherwise)
    both = {"input": {"institution": "WESTERN", "networkSearchByUsername": True}}
    data = await net.gql.ok(SETTINGS, both, await net.token("western.librarian"))
    assert data["updateInstitutionSettings"]["errors"] == [{"code": "FORBIDDEN"}]
    await nothing_found(net, "eastern.admin", identifier="wanda.sso")
    admin = await net.token("western.admin")
    # When WESTERN lets others find its patrons by username
    data = await net.gql.ok(SETTINGS, both, admin)
    assert data["updateInstitutionSettings"] == {
        "institution": {
            "settings": {"networkSearchByUsername": True, "networkSearchByEmail": False}
        },
        "errors": [],
    }
    # Then the username finds the student (any case), and the email still does not
    found = await net.find("eastern.admin", " Wanda.SSO ")
    assert (found["institution"], found["surname"]) == ({"code": "WESTERN"}, "Westsource30")
    await nothing_found(net, "eastern.admin", identifier="wanda30@west.example.org")
    # ... and a search for one identifier type looks at identifiers only
    await nothing_found(net, "eastern.admin", identifier="wanda.sso", identifierType="UNIV_ID")
    # When WESTERN lets others find its patrons by email too
    email = {"input": {"institution": "WESTERN", "networkSearchByEmail": True}}
    await net.gql.ok(SETTINGS, email, admin)
    match = await net.find("eastern.admin", "WANDA30@west.example.org")
    assert match["ref"] == found["ref"]
    # ... but only while it shares the primary email
    assert (await net.gql.ok(SHARE, {"shared": False}, admin))["setSharedFields"]["errors"] == []
    await nothing_found(net, "eastern.admin", identifier="wanda30@west.example.org")
    # A restricted, disabled or expired patron is never found this way either
    await net.gql.ok(SHARE, {"shared": True}, admin)
    await net.western_source(31, username="gone.sso", enabled=False)
    await nothing_found(net, "eastern.admin", identifier="gone.sso")
    # WESTERN's own staff are not "other members"
    await nothing_found(net, "western.librarian", identifier="wanda.sso")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"enabled": False}, "The account is disabled at its home institution."),
        ({"expiryDate": day(-1)}, "The account has expired at its home institution."),
    ],
)
async def test_disabled_and_expired_sources_are_never_found_nor_linked(
    net: Net, change: dict[str, Any], message: str
) -> None:
    # Given an EASTERN patron WESTERN has found
    source = await net.eastern_source(5)
    ref = (await net.find("western.librarian", "TEST-EU0005"))["ref"]
    # When EASTERN disables it or lets it expire
    await net.update("eastern.admin", source, **change)
    # Then it is not found, by identifier or by name, and cannot be linked
    await nothing_found(net, "western.librarian", identifier="TEST-EU0005")
    await nothing_found(net, "western.librarian", name="Sourcefield5")
    assert (await net.link_payload("western.librarian", ref))["errors"] == [restricted(message)]
    assert await net.linked_accounts() == []


async def test_linked_accounts_are_never_found(
    net: Net, settings: Settings, database: Database
) -> None:
    # Given an EASTERN patron with a consortial ID, linked by WESTERN (the copy carries it)
    await net.eastern_source(6, identifiers=[{"type": "CONSORTIAL_ID", "value": "TEST-KLN-6"}])
    match = await net.find("western.librarian", "TEST-KLN-6")
    copy = (await net.link("western.librarian", match["ref"]))["linkedAccount"]
    assert copy["identifiers"] == [{"type": {"code": "CONSORTIAL_ID"}, "value": "TEST-KLN-6"}]
    # When NEKLS searches the consortial ID, and EASTERN searches by name
    result = await net.search("lansing.librarian", identifier="TEST-KLN-6")
    # Then only the HOME account is found, never WESTERN's copy
    assert [m["institution"]["code"] for m in result["matches"]] == ["EASTERN"]
    assert result["errors"] == []
    # And a NEKLS patron linked by EASTERN is not found through EASTERN's name search
    await net.create_source(
        "lansing.librarian",
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Copyonly",
        barcode="TEST-N0006",
    )
    nekls_copy = await net.find_and_link("eastern.admin", "TEST-N0006")
    assert nekls_copy["surname"] == "Copyonly"
    await nothing_found(net, "western.librarian", name="Copyonly")
    # And even a valid ref to a linked account (no search gives one) links nothing
    nekls = await net.institution_id("NEKLS")
    async with database.session() as session:
        key = await ref_key(session, settings)
    forged = make_ref(key, nekls, pk_of(copy["id"]))
    assert (await net.link_payload("lansing.librarian", forged))["errors"] == [
        restricted("It is itself a linked account.")
    ]
    # And a ref to one of the searcher's own patrons is no source at all
    source_pk = await net.scalar(
        "SELECT id FROM patron WHERE surname = 'Copyonly' AND account_type = 'HOME'"
    )
    assert (await net.link_payload("lansing.librarian", make_ref(key, nekls, source_pk)))[
        "errors"
    ] == [NOT_FOUND_SOURCE]
    assert len(await net.linked_accounts()) == 2


async def test_name_search_only_where_the_source_allows_it(net: Net) -> None:
    # Given an EASTERN patron (EASTERN allows name search) and a WESTERN one (it does not)
    await net.eastern_source(7, surname="Namesake")
    await net.western_source(7, surname="Namesake")
    # When WESTERN searches by name without naming institutions
    result = await net.search("western.librarian", name="namesake eri")
    # Then it finds the EASTERN patron (given name and surname prefixes)
    assert result["errors"] == []
    assert [(m["institution"]["code"], m["surname"]) for m in result["matches"]] == [
        ("EASTERN", "Namesake")
    ]
    # When EASTERN searches by name: nobody else allows it
    result = await net.search("eastern.admin", name="Namesake")
    assert result == {
        "matches": [],
        "errors": [
            error(
                "NAME_SEARCH_NOT_ALLOWED",
                "No member allows searching its patrons by name; search by an identifier.",
                "input",
                "name",
            )
        ],
    }
    # When NEKLS names EASTERN and WESTERN
    result = await net.search(
        "lansing.librarian", name="Namesake", institutions=["EASTERN", "WESTERN"]
    )
    # Then EASTERN's patron is found and WESTERN is named as not allowing it
    assert [m["institution"]["code"] for m in result["matches"]] == ["EASTERN"]
    assert result["errors"] == [
        error(
            "NAME_SEARCH_NOT_ALLOWED",
            "WESTERN does not allow other members to search its patrons by name.",
            "input",
            "institutions",
            "1",
        )
    ]
    # When WESTERN turns name search on, then EASTERN turns it off
    await net.allow_name_search("western.admin", "WESTERN", True)
    result = await net.search("eastern.admin", name="Namesake")
    assert [m["institution"]["code"] for m in result["matches"]] == ["WESTERN"]
    await net.allow_name_search("eastern.admin", "EASTERN", False)
    result = await net.search("western.librarian", name="Namesake", institutions=["EASTERN"])
    assert result["matches"] == []
    assert [e["code"] for e in result["errors"]] == ["NAME_SEARCH_NOT_ALLOWED"]


async def test_an_identifier_matching_two_patrons_of_a_source_is_ambiguous(net: Net) -> None:
    # Given one EASTERN patron's barcode is another EASTERN patron's university ID,
    # and a NEKLS patron has the same barcode
    await net.eastern_source(8, barcode="TEST-SAME-1")
    other = await net.eastern_source(9, identifiers=[{"type": "UNIV_ID", "value": "TEST-SAME-1"}])
    await net.create_source(
        "lansing.librarian",
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Samebarcode",
        barcode="TEST-SAME-1",
    )
    # When WESTERN searches that value without an identifier type
    result = await net.search("western.librarian", identifier="test-same-1")
    # Then EASTERN gives no match but AMBIGUOUS_IDENTIFIER; NEKLS's patron is found
    assert [(m["institution"]["code"], m["surname"]) for m in result["matches"]] == [
        ("NEKLS", "Samebarcode")
    ]
    assert result["errors"] == [
        error(
            "AMBIGUOUS_IDENTIFIER",
            "'test-same-1' matches more than one patron of EASTERN; "
            "ask the patron for another identifier.",
            "input",
            "identifier",
        )
    ]
    # And naming the identifier type finds the one patron
    match = await net.find(
        "western.librarian", "TEST-SAME-1", identifierType="UNIV_ID", institutions=["EASTERN"]
    )
    assert match["surname"] == "Sourcefield9"
    # And once one of the two is invisible (disabled) the other one is no longer ambiguous
    await net.update("eastern.admin", other, enabled=False)
    match = await net.find("western.librarian", "TEST-SAME-1", institutions=["EASTERN"])
    assert match["surname"] == "Sourcefield8"


async def test_refs_are_usable_only_by_the_searching_institution(net: Net) -> None:
    # Given a ref EASTERN got for a WESTERN patron, and a NEKLS patron's ref WESTERN got
    await net.western_source(2)
    eastern_ref = (await net.find("eastern.admin", "TEST-WU0002"))["ref"]
    await net.create_source(
        "lansing.librarian",
        institution="NEKLS",
        homeLibrary="LANSING",
        surname="Refholder",
        barcode="TEST-N0002",
    )
    western_ref = (await net.find("western.librarian", "TEST-N0002"))["ref"]
    # When NEKLS and WESTERN use refs that were not made for them, or made up
    for username, ref in (
        ("lansing.librarian", eastern_ref),
        ("western.librarian", eastern_ref),
        ("eastern.admin", western_ref),
        ("eastern.admin", eastern_ref + "x"),
        ("eastern.admin", "not-a-ref"),
        ("eastern.admin", ""),
    ):
        payload = await net.link_payload(username, ref)
        # Then the source is not found and nothing is linked
        assert payload == {"linkedAccount": None, "created": None, "errors": [NOT_FOUND_SOURCE]}
    assert await net.linked_accounts() == []
    assert await net.audit("link_account") == []


async def test_search_input_errors(net: Net) -> None:
    both = await net.search("western.librarian", identifier="X", name="Y")
    neither = await net.search("western.librarian", identifier="  ")
    one_of = error(
        "INVALID_INPUT", "Search by an identifier or by a name (one of the two).", "input"
    )
    assert both == neither == {"matches": [], "errors": [one_of]}
    assert await net.search("western.librarian", identifier="X", identifierType="NOPE") == {
        "matches": [],
        "errors": [
            error("INVALID_INPUT", "There is no identifier type 'NOPE'.", "input", "identifierType")
        ],
    }
    assert await net.search("western.librarian", identifier="X", institutions=["NOWHERE"]) == {
        "matches": [],
        "errors": [
            error(
                "INVALID_INPUT", "There is no institution 'NOWHERE'.", "input", "institutions", "0"
            )
        ],
    }


@pytest.mark.parametrize("username", ["eastern.circ", "network.admin"])
async def test_only_librarians_search_and_link(net: Net, username: str) -> None:
    # Given a WESTERN patron and a ref EASTERN's librarian got for it
    await net.western_source(3)
    ref = (await net.find("eastern.admin", "TEST-WU0003"))["ref"]
    forbidden = {
        "code": "FORBIDDEN",
        "message": "Only librarians (or API clients with the linking scope) may search and "
        "link other members' patrons.",
        "field": None,
    }
    search: dict[str, Any] = {"identifier": "TEST-WU0003"}
    refused_search = forbidden
    if username == "eastern.circ":
        # The desk searches by identifier (a walk-in), never by name
        search = {"name": "Sourcefield3"}
        refused_search = {
            **forbidden,
            "message": "The desk (CIRCULATION) may search other members' patrons by "
            "identifier only; a search by name needs a librarian.",
        }
    # When staff who are not librarians search and link
    result = await net.search(username, **search)
    payload = await net.link_payload(username, ref)
    # Then both are forbidden, nothing is linked and no search is recorded for them
    assert result == {"matches": [], "errors": [refused_search]}
    assert payload == {"linkedAccount": None, "created": None, "errors": [forbidden]}
    assert await net.linked_accounts() == []
    assert [e["actor_name"] for e in await net.audit("network_patron_search")] == ["eastern.admin"]


async def test_anonymous_callers_cannot_search(net: Net) -> None:
    body = await net.gql(
        'query { networkPatronSearch(input: {identifier: "TEST"}) { matches { ref } } }'
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
