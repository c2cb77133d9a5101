"""The seed's story end to end: Kanopy (LANSING) is seen and changed at LANSING only.

Staff at LANSING get the value from the home-library rule on creation and on a change of home
library; staff elsewhere (even a system administrator logged in at BASEHOR) never see it and
cannot set or clear it, and their edits never lose it.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.attributes import (
    KANOPY,
    KANOPY_FORBIDDEN,
    AttributeApi,
    count_rows,
    expected_report,
    kanopy,
    stored_values,
    values_of,
)
from tests.support.graphql import error
from tests.support.ids import patron_pk


def without(patron: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in patron.items() if k not in keys}


def forbidden(*index: str) -> dict[str, Any]:
    return error("ATTRIBUTE_FORBIDDEN", KANOPY_FORBIDDEN, "input", "attributes", *index)


async def lansing_patron(api: AttributeApi, token: str, **fields: Any) -> dict[str, Any]:
    """A patron with several fields set, registered at LANSING by `token`."""
    return await api.create(
        token,
        **{
            "homeLibrary": "LANSING",
            "surname": "Kowalski",
            "givenName": "Kasia",
            "primaryEmail": "kasia@example.org",
            "phone": "555-0199",
            "barcode": "KAN-0001",
            "cohort": "2030",
            **fields,
        },
    )


# ---------------------------------------------------------------- at LANSING


async def test_lansing_staff_get_the_value_from_the_home_library_on_creation(
    api: AttributeApi, lansing: str, connection: AsyncConnection
) -> None:
    # When staff logged in at LANSING register a LANSING patron and a BASEHOR patron
    at_lansing = await api.create(lansing, homeLibrary="LANSING", surname="Inscope")
    at_basehor = await api.create(lansing, homeLibrary="BASEHOR", surname="Outscope")
    # Then the rule set Allowed for the first and Not allowed for the second
    assert at_lansing["attributes"] == kanopy("ALLOWED")
    assert at_basehor["attributes"] == kanopy("NOT_ALLOWED")
    assert at_lansing["version"] == at_basehor["version"] == 1
    # ... as stored and as read back
    assert await stored_values(connection, patron_pk(at_lansing["id"])) == ["ALLOWED"]
    assert await stored_values(connection, patron_pk(at_basehor["id"])) == ["NOT_ALLOWED"]
    assert await api.read(lansing, at_lansing["id"]) == at_lansing
    assert await api.read(lansing, at_basehor["id"]) == at_basehor


async def test_changing_the_home_library_at_lansing_flips_the_value_and_back(
    api: AttributeApi, lansing: str
) -> None:
    # Given a LANSING patron with Kanopy allowed
    patron = await lansing_patron(api, lansing)
    assert patron["attributes"] == kanopy("ALLOWED")
    # When LANSING staff move the patron to BASEHOR
    moved = await api.update(lansing, id=patron["id"], expectedVersion=1, homeLibrary="BASEHOR")
    # Then the value follows the rule in the same change (one new version)
    assert moved["homeLibrary"] == {"code": "BASEHOR"}
    assert moved["attributes"] == kanopy("NOT_ALLOWED")
    assert moved["version"] == 2
    assert without(moved, "homeLibrary", "attributes", "version", "updatedAt") == without(
        patron, "homeLibrary", "attributes", "version", "updatedAt"
    )
    # When they move the patron back
    back = await api.update(lansing, id=patron["id"], expectedVersion=2, homeLibrary="LANSING")
    # Then Kanopy is allowed again
    assert back["homeLibrary"] == {"code": "LANSING"}
    assert back["attributes"] == kanopy("ALLOWED")
    assert back["version"] == 3
    assert await api.read(lansing, patron["id"]) == back
    # ... and each move is one audit entry naming both changes
    entries = await api.audit(lansing, patron["id"])
    assert [e["action"] for e in entries] == ["update_patron", "update_patron", "create_patron"]
    assert entries[0]["changes"] == {
        "attribute:KANOPY_LANSING": {"before": ["NOT_ALLOWED"], "after": ["ALLOWED"]},
        "homeLibrary": {"before": "BASEHOR", "after": "LANSING"},
    }
    assert entries[1]["changes"] == {
        "attribute:KANOPY_LANSING": {"before": ["ALLOWED"], "after": ["NOT_ALLOWED"]},
        "homeLibrary": {"before": "LANSING", "after": "BASEHOR"},
    }


async def test_an_explicit_value_in_the_same_input_wins_over_the_rule(
    api: AttributeApi, lansing: str
) -> None:
    # When a LANSING patron is registered with Kanopy explicitly not allowed
    patron = await api.create(
        lansing,
        homeLibrary="LANSING",
        surname="Explicit",
        attributes=[{"type": KANOPY, "values": ["NOT_ALLOWED"]}],
    )
    # Then the explicit value is kept
    assert patron["attributes"] == kanopy("NOT_ALLOWED")
    # When the patron moves to BASEHOR with Kanopy explicitly allowed in the same input
    moved = await api.update(
        lansing,
        id=patron["id"],
        expectedVersion=1,
        homeLibrary="BASEHOR",
        attributes=[{"type": "kanopy_lansing", "values": ["ALLOWED"]}],
    )
    # Then the explicit value wins again
    assert moved["homeLibrary"] == {"code": "BASEHOR"}
    assert moved["attributes"] == kanopy("ALLOWED")
    assert moved["version"] == 2
    assert await api.read(lansing, patron["id"]) == moved


async def test_setting_or_clearing_the_value_never_moves_the_home_library(
    api: AttributeApi, lansing: str
) -> None:
    # Given a LANSING patron (Allowed) and a BASEHOR patron (Not allowed)
    in_scope = await lansing_patron(api, lansing)
    out_of_scope = await api.create(lansing, homeLibrary="BASEHOR", surname="Elsewhere")
    # When LANSING staff change only the values
    denied = await api.update(
        lansing,
        id=in_scope["id"],
        expectedVersion=1,
        attributes=[{"type": KANOPY, "values": ["NOT_ALLOWED"]}],
    )
    granted = await api.update(
        lansing,
        id=out_of_scope["id"],
        expectedVersion=1,
        attributes=[{"type": KANOPY, "values": ["ALLOWED"]}],
    )
    # Then only the values (and the versions) changed: the home libraries stay
    assert denied["attributes"] == kanopy("NOT_ALLOWED")
    assert denied["homeLibrary"] == {"code": "LANSING"}
    assert without(denied, "attributes", "version", "updatedAt") == without(
        in_scope, "attributes", "version", "updatedAt"
    )
    assert granted["attributes"] == kanopy("ALLOWED")
    assert granted["homeLibrary"] == {"code": "BASEHOR"}
    assert granted["version"] == 2
    # When the value is cleared
    cleared = await api.update(
        lansing, id=in_scope["id"], expectedVersion=2, attributes=[{"type": KANOPY, "values": []}]
    )
    # Then the patron has no Kanopy value and is still at LANSING
    assert cleared["attributes"] == []
    assert cleared["homeLibrary"] == {"code": "LANSING"}
    assert cleared["version"] == 3
    assert await api.read(lansing, in_scope["id"]) == cleared


# ---------------------------------------------------------------- elsewhere: never seen


async def test_basehor_never_sees_the_attribute_on_any_read_path(
    api: AttributeApi,
    lansing: str,
    basehor: str,
    admin_lansing: str,
    connection: AsyncConnection,
) -> None:
    # Given a LANSING patron with Kanopy allowed, and Kanopy set on Ben Basehor's own record
    # (by the system administrator at LANSING: a LANSING librarian may not change a BASEHOR
    # librarian's account)
    patron = await lansing_patron(api, lansing, surname="Visibility")
    ben = await api.viewer(basehor)
    await api.update(
        admin_lansing,
        id=ben["id"],
        expectedVersion=ben["version"],
        attributes=[{"type": KANOPY, "values": ["NOT_ALLOWED"]}],
    )
    # Then LANSING staff see the values on every path
    assert (await api.read(lansing, patron["id"]))["attributes"] == kanopy("ALLOWED")
    assert [n["attributes"] for n in await api.nodes(lansing, [patron["id"], ben["id"]])] == [  # type: ignore[index]
        kanopy("ALLOWED"),
        kanopy("NOT_ALLOWED"),
    ]
    listed = await api.search(lansing, search="Visibility")
    assert [e["node"]["attributes"] for e in listed["edges"]] == [kanopy("ALLOWED")]
    # ... but BASEHOR staff see the patrons without them: node, nodes, the list, the viewer
    seen = await api.read(basehor, patron["id"])
    assert seen["attributes"] == []
    assert without(seen, "attributes") == without(patron, "attributes")
    assert [n["attributes"] for n in await api.nodes(basehor, [patron["id"], ben["id"]])] == [  # type: ignore[index]
        [],
        [],
    ]
    listed = await api.search(basehor, search="Visibility")
    assert [e["node"]["attributes"] for e in listed["edges"]] == [[]]
    assert (await api.viewer(basehor))["attributes"] == []
    # ... on a whole page of the list either
    page = await api.search(basehor, first=100)
    assert page["edges"]
    assert all(e["node"]["attributes"] == [] for e in page["edges"])
    # (the values are stored all the same)
    assert await stored_values(connection, patron_pk(ben["id"])) == ["NOT_ALLOWED"]


async def test_basehor_does_not_see_the_attribute_type(
    api: AttributeApi, lansing: str, basehor: str
) -> None:
    kanopy_type = {
        "code": KANOPY,
        "label": "Kanopy (LANSING)",
        "authorisedValues": [
            {"code": "NOT_ALLOWED", "label": "Not allowed"},
            {"code": "ALLOWED", "label": "Allowed (Lansing Community Library)"},
        ],
        "repeatable": False,
        "unique": False,
        "mandatory": False,
        "libraryLimits": [{"code": "LANSING"}],
        "excludedUserGroups": [{"code": "ILL"}, {"code": "STAFF"}, {"code": "STATISTIC"}],
        "rule": {
            "libraries": [{"code": "LANSING"}],
            "inScopeValue": "ALLOWED",
            "outOfScopeValue": "NOT_ALLOWED",
            "applyForAllSessions": False,
        },
    }
    assert await api.visible_types(lansing) == {
        "network": {"attributeTypes": [kanopy_type]},
        "institution": {"attributeTypes": [kanopy_type]},
    }
    assert await api.visible_types(basehor) == {
        "network": {"attributeTypes": []},
        "institution": {"attributeTypes": []},
    }


async def test_the_attribute_filter_matches_nothing_for_basehor(
    api: AttributeApi, lansing: str, basehor: str, connection: AsyncConnection
) -> None:
    # Given the numbers of NEKLS patrons with a Kanopy value, and with Allowed
    any_value = await count_rows(
        connection,
        "SELECT count(DISTINCT a.patron_id) FROM patron_attribute a"
        " JOIN attribute_type t ON t.id = a.attribute_type_id WHERE t.code = :code",
        code=KANOPY,
    )
    allowed = await count_rows(
        connection,
        "SELECT count(*) FROM patron_attribute a"
        " JOIN attribute_type t ON t.id = a.attribute_type_id"
        " WHERE t.code = :code AND a.value = 'ALLOWED'",
        code=KANOPY,
    )
    assert 0 < allowed < any_value
    # Then LANSING staff filter by them
    assert (await api.search(lansing, attribute={"type": KANOPY}))["totalCount"] == any_value
    with_allowed = await api.search(
        lansing, first=100, attribute={"type": KANOPY, "value": "ALLOWED"}
    )
    assert with_allowed["totalCount"] == allowed
    assert all(e["node"]["attributes"] == kanopy("ALLOWED") for e in with_allowed["edges"])
    # ... whereas for BASEHOR staff the filter matches nothing, as for a type that does not exist
    for flt in ({"type": KANOPY}, {"type": KANOPY, "value": "ALLOWED"}, {"type": "NO_SUCH"}):
        result = await api.search(basehor, attribute=flt)
        assert (result["totalCount"], result["edges"]) == (0, [])


async def test_basehor_reads_an_audit_trail_without_the_attribute(
    api: AttributeApi, lansing: str, basehor: str, gql: Any
) -> None:
    # Given a patron created at LANSING, then changed: Kanopy only, the phone, the home library
    patron = await lansing_patron(api, lansing, surname="Trail")
    await api.update(
        lansing,
        id=patron["id"],
        expectedVersion=1,
        attributes=[{"type": KANOPY, "values": ["NOT_ALLOWED"]}],
    )
    await api.update(lansing, id=patron["id"], expectedVersion=2, phone="555-0200")
    await api.update(lansing, id=patron["id"], expectedVersion=3, homeLibrary="BASEHOR")
    # Then LANSING staff see four entries with the Kanopy values
    full = await api.audit(lansing, patron["id"])
    assert [e["action"] for e in full] == ["update_patron"] * 3 + ["create_patron"]
    assert full[2]["changes"] == {
        "attribute:KANOPY_LANSING": {"before": ["ALLOWED"], "after": ["NOT_ALLOWED"]}
    }
    assert full[3]["changes"]["attribute:KANOPY_LANSING"] == {"before": None, "after": ["ALLOWED"]}
    # ... BASEHOR staff see the same trail without any Kanopy key, and without the entry that
    # changed Kanopy only
    partial = await api.audit(basehor, patron["id"])
    assert partial == [
        {
            "actor": "lansing.librarian",
            "action": "update_patron",
            "changes": {"homeLibrary": {"before": "LANSING", "after": "BASEHOR"}},
        },
        full[1],
        {
            "actor": "lansing.librarian",
            "action": "create_patron",
            "changes": without(full[3]["changes"], "attribute:KANOPY_LANSING"),
        },
    ]
    response = await gql.raw(
        "query($id: ID!) { node(id: $id) { ... on Patron { auditLog { edges { node { changes } } } } } }",
        {"id": patron["id"]},
        token=basehor,
    )
    assert "KANOPY" not in response.text


# ---------------------------------------------------------------- elsewhere: never changed


@pytest.mark.parametrize("values", [["ALLOWED"], ["NOT_ALLOWED"], []])
async def test_basehor_cannot_set_or_clear_it_and_nothing_else_changes(
    api: AttributeApi, lansing: str, basehor: str, values: list[str]
) -> None:
    # Given a LANSING patron with Kanopy allowed, as both sessions see it
    patron = await lansing_patron(api, lansing, surname="Guarded")
    seen_by_basehor = await api.read(basehor, patron["id"])
    trail = await api.audit(lansing, patron["id"])
    # When BASEHOR staff send other changes together with a Kanopy value (or a clearing)
    payload = await api.update_payload(
        basehor,
        id=patron["id"],
        expectedVersion=1,
        givenName="Changed",
        phone="555-0000",
        homeLibrary="BASEHOR",
        attributes=[{"type": KANOPY, "values": values}],
    )
    # Then the whole change is refused with the librarian's message and the field path
    assert payload == {"patron": None, "errors": [forbidden("0")]}
    # ... and nothing changed: not the other fields, not the version, not the value
    assert await api.read(basehor, patron["id"]) == seen_by_basehor
    assert await api.read(lansing, patron["id"]) == patron
    assert await api.audit(lansing, patron["id"]) == trail


async def test_basehor_cannot_register_a_patron_with_the_attribute(
    api: AttributeApi, basehor: str, connection: AsyncConnection
) -> None:
    for index, values in enumerate([["ALLOWED"], []]):
        payload = await api.create_payload(
            basehor,
            homeLibrary="LANSING",
            surname="Refused",
            attributes=[
                {"type": "KANOPY_LANSING" if index else "kanopy_lansing", "values": values}
            ],
        )
        assert payload == {"patron": None, "errors": [forbidden("0")]}
    assert (
        await count_rows(connection, "SELECT count(*) FROM patron WHERE surname = 'Refused'") == 0
    )


async def test_basehor_edits_and_rehomes_without_losing_the_hidden_value(
    api: AttributeApi,
    lansing: str,
    basehor: str,
    admin_lansing: str,
    connection: AsyncConnection,
) -> None:
    # Given a free-text attribute every library sees, and a LANSING patron with Kanopy allowed
    await api.create_type(admin_lansing, code="NOTE", label="Note")
    patron = await lansing_patron(api, lansing, surname="Preserved")
    assert patron["attributes"] == kanopy("ALLOWED")
    # When BASEHOR staff edit other fields, send an (empty) attribute list, set the note,
    # and move the patron to BASEHOR
    await api.update(basehor, id=patron["id"], expectedVersion=1, givenName="Kate", attributes=[])
    noted = await api.update(
        basehor,
        id=patron["id"],
        expectedVersion=2,
        attributes=[{"type": "NOTE", "values": ["Prefers e-mail"]}],
    )
    assert noted["attributes"] == [
        {"type": {"code": "NOTE", "label": "Note"}, "values": ["Prefers e-mail"]}
    ]
    moved = await api.update(basehor, id=patron["id"], expectedVersion=3, homeLibrary="BASEHOR")
    assert moved["homeLibrary"] == {"code": "BASEHOR"}
    assert moved["version"] == 4
    # Then LANSING staff still find Kanopy allowed, untouched, next to the note
    after = await api.read(lansing, patron["id"])
    assert after["attributes"] == [
        {"type": {"code": KANOPY, "label": "Kanopy (LANSING)"}, "values": ["ALLOWED"]},
        {"type": {"code": "NOTE", "label": "Note"}, "values": ["Prefers e-mail"]},
    ]
    assert (after["givenName"], after["homeLibrary"], after["version"]) == (
        "Kate",
        {"code": "BASEHOR"},
        4,
    )
    assert await stored_values(connection, patron_pk(patron["id"])) == ["ALLOWED"]
    # ... and the patron now shows up as a non-LANSING patron with Kanopy access
    assert patron_pk(patron["id"]) in await api.report_ids(lansing, "PRESENT_OUT_OF_SCOPE")
    assert patron_pk(patron["id"]) in await expected_report(connection, "PRESENT_OUT_OF_SCOPE")


async def test_a_system_administrator_at_basehor_is_refused_the_same_way(
    api: AttributeApi, lansing: str, admin_basehor: str, admin_lansing: str
) -> None:
    patron = await lansing_patron(api, lansing, surname="Administered")
    # The administrator logged in at BASEHOR neither sees nor changes the value
    assert (await api.read(admin_basehor, patron["id"]))["attributes"] == []
    assert await api.visible_types(admin_basehor) == {
        "network": {"attributeTypes": []},
        "institution": {"attributeTypes": []},
    }
    payload = await api.update_payload(
        admin_basehor,
        id=patron["id"],
        expectedVersion=1,
        phone="555-0001",
        attributes=[{"type": KANOPY, "values": ["NOT_ALLOWED"]}],
    )
    assert payload == {"patron": None, "errors": [forbidden("0")]}
    created = await api.create_payload(
        admin_basehor,
        homeLibrary="BASEHOR",
        surname="Admin-made",
        attributes=[{"type": KANOPY, "values": ["NOT_ALLOWED"]}],
    )
    assert created == {"patron": None, "errors": [forbidden("0")]}
    assert await api.read(lansing, patron["id"]) == patron
    # The same administrator logged in at LANSING may
    changed = await api.update(
        admin_lansing,
        id=patron["id"],
        expectedVersion=1,
        attributes=[{"type": KANOPY, "values": ["NOT_ALLOWED"]}],
    )
    assert changed["attributes"] == kanopy("NOT_ALLOWED")
    assert changed["version"] == 2
    assert values_of(await api.read(lansing, patron["id"])) == ["NOT_ALLOWED"]
