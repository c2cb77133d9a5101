"""Attribute values are checked on the server: authorised values, repeatable, unique, mandatory."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.attributes import (
    KANOPY,
    AttributeApi,
    count_rows,
    kanopy,
    stored_values,
)
from tests.support.graphql import error
from tests.support.ids import patron_pk
from tests.support.imports import Importer, counts, to_csv

KANOPY_VALUES = "(use NOT_ALLOWED, ALLOWED)"


async def _surname_count(connection: AsyncConnection, surname: str) -> int:
    return await count_rows(
        connection, "SELECT count(*) FROM patron WHERE surname = :surname", surname=surname
    )


async def test_an_unknown_value_code_is_refused_with_its_path(
    api: AttributeApi, admin_lansing: str, lansing: str, connection: AsyncConnection
) -> None:
    # Given a repeatable type with authorised values
    await api.create_type(
        admin_lansing,
        code="LANGUAGES",
        label="Languages",
        repeatable=True,
        authorisedValues=[
            {"code": "EN", "label": "English"},
            {"code": "FR", "label": "French"},
        ],
    )
    # When a patron is registered with values that are not codes of the types
    payload = await api.create_payload(
        lansing,
        homeLibrary="LANSING",
        surname="Unknown-Value",
        attributes=[
            {"type": KANOPY, "values": ["allowed"]},
            {"type": "LANGUAGES", "values": ["EN", "EN", "Klingon"]},
        ],
    )
    # Then each wrong value is named by its place in the input
    assert payload == {
        "patron": None,
        "errors": [
            error(
                "INVALID_INPUT",
                f"'allowed' is not a value of Kanopy (LANSING) {KANOPY_VALUES}.",
                "input",
                "attributes",
                "0",
                "values",
                "0",
            ),
            error(
                "INVALID_INPUT",
                "'Klingon' is not a value of Languages (use EN, FR).",
                "input",
                "attributes",
                "1",
                "values",
                "2",
            ),
        ],
    }
    assert await _surname_count(connection, "Unknown-Value") == 0
    # ... and an existing patron keeps its values when an update names a wrong one
    patron = await api.create(lansing, homeLibrary="LANSING", surname="Kept")
    payload = await api.update_payload(
        lansing,
        id=patron["id"],
        expectedVersion=1,
        givenName="Changed",
        attributes=[{"type": KANOPY, "values": ["MAYBE"]}],
    )
    assert payload["errors"] == [
        error(
            "INVALID_INPUT",
            f"'MAYBE' is not a value of Kanopy (LANSING) {KANOPY_VALUES}.",
            "input",
            "attributes",
            "0",
            "values",
            "0",
        )
    ]
    assert await api.read(lansing, patron["id"]) == patron


async def test_repeatable_types_take_several_values_and_others_one(
    api: AttributeApi, admin_lansing: str, lansing: str
) -> None:
    await api.create_type(
        admin_lansing,
        code="LANGUAGES",
        label="Languages",
        repeatable=True,
        authorisedValues=[{"code": "EN", "label": "English"}, {"code": "FR", "label": "French"}],
    )
    patron = await api.create(lansing, homeLibrary="LANSING", surname="Polyglot")
    # Two values of a non-repeatable type are refused, and nothing changes
    payload = await api.update_payload(
        lansing,
        id=patron["id"],
        expectedVersion=1,
        attributes=[{"type": KANOPY, "values": ["ALLOWED", "NOT_ALLOWED"]}],
    )
    assert payload == {
        "patron": None,
        "errors": [
            error(
                "INVALID_INPUT",
                "Kanopy (LANSING) takes one value.",
                "input",
                "attributes",
                "0",
                "values",
            )
        ],
    }
    assert await api.read(lansing, patron["id"]) == patron
    # ... the same value twice is one value
    same = await api.update(
        lansing,
        id=patron["id"],
        expectedVersion=1,
        attributes=[{"type": KANOPY, "values": ["NOT_ALLOWED", " NOT_ALLOWED "]}],
    )
    assert same["attributes"] == kanopy("NOT_ALLOWED")
    # ... and a repeatable type keeps every value
    both = await api.update(
        lansing,
        id=patron["id"],
        expectedVersion=2,
        attributes=[{"type": "LANGUAGES", "values": ["FR", "EN"]}],
    )
    assert both["attributes"] == [
        {"type": {"code": KANOPY, "label": "Kanopy (LANSING)"}, "values": ["NOT_ALLOWED"]},
        {"type": {"code": "LANGUAGES", "label": "Languages"}, "values": ["FR", "EN"]},
    ]


async def test_unknown_and_repeated_types_are_refused(
    api: AttributeApi, lansing: str, eastern_admin: str, connection: AsyncConnection
) -> None:
    # Given a type of another institution
    await api.create_type(eastern_admin, institution="EASTERN", code="CAMPUS", label="Campus")
    # When a NEKLS patron is registered with a type that does not exist, one of EASTERN, and
    # Kanopy twice
    payload = await api.create_payload(
        lansing,
        homeLibrary="LANSING",
        surname="No-Such-Type",
        attributes=[
            {"type": "NETFLIX", "values": ["YES"]},
            {"type": "CAMPUS", "values": ["North"]},
            {"type": KANOPY, "values": ["ALLOWED"]},
            {"type": KANOPY, "values": ["NOT_ALLOWED"]},
        ],
    )
    # Then each is refused at its place
    assert payload == {
        "patron": None,
        "errors": [
            error(
                "INVALID_INPUT",
                "There is no attribute type 'NETFLIX'.",
                "input",
                "attributes",
                "0",
                "type",
            ),
            error(
                "INVALID_INPUT",
                "There is no attribute type 'CAMPUS'.",
                "input",
                "attributes",
                "1",
                "type",
            ),
            error(
                "INVALID_INPUT",
                "Kanopy (LANSING) is given twice.",
                "input",
                "attributes",
                "3",
                "type",
            ),
        ],
    }
    assert await _surname_count(connection, "No-Such-Type") == 0


async def test_free_text_is_checked(api: AttributeApi, admin_lansing: str, lansing: str) -> None:
    await api.create_type(admin_lansing, code="NOTE", label="Note")
    patron = await api.create(lansing, homeLibrary="LANSING", surname="Noted")
    payload = await api.update_payload(
        lansing,
        id=patron["id"],
        expectedVersion=1,
        attributes=[{"type": "NOTE", "values": ["x" * 501]}],
    )
    assert payload["errors"] == [
        error("INVALID_INPUT", "At most 500 characters.", "input", "attributes", "0", "values", "0")
    ]
    payload = await api.update_payload(
        lansing,
        id=patron["id"],
        expectedVersion=1,
        attributes=[{"type": "NOTE", "values": ["bell\x07"]}],
    )
    assert payload["errors"] == [
        error(
            "INVALID_INPUT",
            "Control characters are not allowed.",
            "input",
            "attributes",
            "0",
            "values",
            "0",
        )
    ]
    assert await api.read(lansing, patron["id"]) == patron
    noted = await api.update(
        lansing,
        id=patron["id"],
        expectedVersion=1,
        attributes=[{"type": "NOTE", "values": ["  " + "x" * 500 + " "]}],
    )
    assert noted["attributes"][1]["values"] == ["x" * 500]


async def test_a_unique_value_belongs_to_one_patron(
    api: AttributeApi,
    admin_lansing: str,
    lansing: str,
    basehor: str,
    connection: AsyncConnection,
) -> None:
    # Given a free-text unique type every library sees, and a patron holding M-100
    created = await api.create_type(
        admin_lansing, code="MEMBER_NO", label="Member number", unique=True
    )
    assert (created["unique"], created["libraryLimits"]) == (True, [])
    holder = await api.create(
        lansing,
        homeLibrary="LANSING",
        surname="Holder",
        attributes=[{"type": "MEMBER_NO", "values": ["M-100"]}],
    )
    conflict = error(
        "CONFLICT",
        "Another patron already has Member number 'm-100'.",
        "input",
        "attributes",
        "0",
        "values",
        "0",
    )
    # When another patron is registered with the same value (in other letter case)
    payload = await api.create_payload(
        basehor,
        homeLibrary="BASEHOR",
        surname="Second-Holder",
        attributes=[{"type": "member_no", "values": ["m-100"]}],
    )
    # Then it is refused and nobody is registered
    assert payload == {"patron": None, "errors": [conflict]}
    assert await _surname_count(connection, "Second-Holder") == 0
    # ... and an existing patron cannot take it either
    other = await api.create(basehor, homeLibrary="BASEHOR", surname="Other")
    payload = await api.update_payload(
        basehor,
        id=other["id"],
        expectedVersion=1,
        phone="555-0303",
        attributes=[{"type": "MEMBER_NO", "values": ["m-100"]}],
    )
    assert payload == {"patron": None, "errors": [conflict]}
    assert await api.read(basehor, other["id"]) == other
    # ... while the holder may save its own value again
    again = await api.update(
        lansing,
        id=holder["id"],
        expectedVersion=1,
        phone="555-0304",
        attributes=[{"type": "MEMBER_NO", "values": ["M-100"]}],
    )
    assert again["version"] == 2
    # When the holder gives the value up, someone else may take it
    await api.update(
        lansing,
        id=holder["id"],
        expectedVersion=2,
        attributes=[{"type": "MEMBER_NO", "values": []}],
    )
    taken = await api.update(
        basehor,
        id=other["id"],
        expectedVersion=1,
        attributes=[{"type": "MEMBER_NO", "values": ["m-100"]}],
    )
    assert taken["attributes"] == [
        {"type": {"code": "MEMBER_NO", "label": "Member number"}, "values": ["m-100"]}
    ]
    assert await stored_values(connection, patron_pk(holder["id"]), "MEMBER_NO") == []


async def test_a_unique_repeatable_type_refuses_the_same_value_twice_in_other_case(
    api: AttributeApi, admin_lansing: str, lansing: str
) -> None:
    await api.create_type(
        admin_lansing, code="ALIASES", label="Aliases", unique=True, repeatable=True
    )
    patron = await api.create(
        lansing,
        homeLibrary="LANSING",
        surname="Aliased",
        attributes=[{"type": "ALIASES", "values": ["Kat", "KAT", "Kitty"]}],
    )
    assert patron["attributes"][0] == {
        "type": {"code": "ALIASES", "label": "Aliases"},
        "values": ["Kat", "Kitty"],
    }


async def test_a_mandatory_limited_type_is_enforced_for_authorized_sessions_only(
    api: AttributeApi,
    admin_lansing: str,
    lansing: str,
    basehor: str,
    connection: AsyncConnection,
) -> None:
    # Given a mandatory type limited to LANSING
    created = await api.create_type(
        admin_lansing,
        code="LANSING_CARD",
        label="Lansing card",
        mandatory=True,
        libraryLimits=["LANSING"],
    )
    assert (created["mandatory"], created["libraryLimits"]) == (True, [{"code": "LANSING"}])
    required = error("MANDATORY_FIELD", "Lansing card is required.", "input", "attributes")
    # When staff at LANSING register a patron without it
    payload = await api.create_payload(lansing, homeLibrary="LANSING", surname="Cardless")
    # Then it is refused, and nobody is registered
    assert payload == {"patron": None, "errors": [required]}
    assert await _surname_count(connection, "Cardless") == 0
    # ... with it, it works
    carded = await api.create(
        lansing,
        homeLibrary="LANSING",
        surname="Carded",
        attributes=[{"type": "LANSING_CARD", "values": ["LC-1"]}],
    )
    assert carded["attributes"] == [
        {"type": {"code": KANOPY, "label": "Kanopy (LANSING)"}, "values": ["ALLOWED"]},
        {"type": {"code": "LANSING_CARD", "label": "Lansing card"}, "values": ["LC-1"]},
    ]
    # ... and LANSING staff cannot clear it
    payload = await api.update_payload(
        lansing,
        id=carded["id"],
        expectedVersion=1,
        attributes=[{"type": "LANSING_CARD", "values": []}],
    )
    assert payload == {"patron": None, "errors": [required]}
    assert await api.read(lansing, carded["id"]) == carded
    # When staff at BASEHOR (who do not see the type) register a patron without it
    elsewhere = await api.create(basehor, homeLibrary="LANSING", surname="Cardless")
    # Then it works
    assert elsewhere["attributes"] == []
    assert await _surname_count(connection, "Cardless") == 1
    # ... and BASEHOR staff may go on editing it
    edited = await api.update(basehor, id=elsewhere["id"], expectedVersion=1, phone="555-0400")
    assert edited["version"] == 2
    # ... but the next save at LANSING has to complete it
    payload = await api.update_payload(
        lansing, id=elsewhere["id"], expectedVersion=2, phone="555-0401"
    )
    assert payload == {"patron": None, "errors": [required]}
    completed = await api.update(
        lansing,
        id=elsewhere["id"],
        expectedVersion=2,
        phone="555-0401",
        attributes=[{"type": "LANSING_CARD", "values": ["LC-2"]}],
    )
    assert [a["type"]["code"] for a in completed["attributes"]] == ["LANSING_CARD"]
    assert completed["version"] == 3


async def test_an_import_moves_a_unique_value_between_patrons_in_file_order(
    api: AttributeApi, admin_lansing: str, lansing: str, client: httpx.AsyncClient
) -> None:
    """The changes of an import's batch are written together at its end: a unique value
    one row gives up is free for the rows after it, and one it takes is theirs no more."""
    await api.create_type(admin_lansing, code="MEMBER_NO", label="Member number", unique=True)
    for n in (1, 2):
        await api.create(
            lansing,
            homeLibrary="LANSING",
            surname=f"Member{n}",
            adminSystemId=f"MEM-{n}",
            attributes=[{"type": "MEMBER_NO", "values": [f"M-{n}"]}],
        )
    importer = Importer(client)
    columns = ["admin_system_id", "attribute:MEMBER_NO"]

    def values(rows: list[tuple[str, str]]) -> bytes:
        return to_csv(columns, [dict(zip(columns, row, strict=True)) for row in rows])

    # A later row cannot take what an earlier row just took (nothing is written) ...
    job = await importer.job(
        lansing, values([("MEM-1", "M-9"), ("MEM-2", "m-9")]), institution="NEKLS"
    )
    assert (job["status"], [(e["line"], e["code"]) for e in job["rowErrors"]]) == (
        "FAILED",
        [(3, "CONFLICT")],
    )
    # ... but may take what an earlier row gave up.
    job = await importer.job(
        lansing, values([("MEM-1", "M-9"), ("MEM-2", "M-1")]), institution="NEKLS"
    )
    assert counts(job) == ("SUCCEEDED", 2, 2, 0, 2, 0, 0)
    found = {}
    for n in (1, 2):
        page = await api.search(lansing, search=f"MEM-{n}")
        [node] = [e["node"] for e in page["edges"]]
        found[n] = [a["values"] for a in node["attributes"] if a["type"]["code"] == "MEMBER_NO"]
    assert found == {1: [["M-9"]], 2: [["M-1"]]}
