"""API clients (vendors, discovery layers) see a limited type only with a scope naming it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.attributes import (
    KANOPY,
    AttributeApi,
    expected_report,
    kanopy,
)
from tests.support.graphql import GraphQL

NOTE = {"type": {"code": "NOTE", "label": "Note"}, "values": ["Large print"]}
KANOPY_ALLOWED = {"type": {"code": KANOPY, "label": "Kanopy (LANSING)"}, "values": ["ALLOWED"]}


async def test_a_client_needs_the_attribute_scope_to_see_the_values(
    api: AttributeApi,
    gql: GraphQL,
    admin_lansing: str,
    lansing: str,
    connection: AsyncConnection,
) -> None:
    # Given a type every library sees, and a LANSING patron with a note and Kanopy allowed
    await api.create_type(admin_lansing, code="NOTE", label="Note")
    patron = await api.create(
        lansing,
        homeLibrary="LANSING",
        surname="Streamer",
        attributes=[{"type": "NOTE", "values": ["Large print"]}],
    )
    assert patron["attributes"] == [KANOPY_ALLOWED, NOTE]
    await api.update(
        lansing, id=patron["id"], expectedVersion=1, attributes=[{"type": KANOPY, "values": []}]
    )
    await api.update(
        lansing,
        id=patron["id"],
        expectedVersion=2,
        attributes=[{"type": KANOPY, "values": ["ALLOWED"]}],
    )
    # ... and two clients of NEKLS: one reads patrons, the other also has the Kanopy scope
    reader = await api.create_client(admin_lansing, ["patron_read"])
    vendor = await api.create_client(admin_lansing, ["patron_read", "attribute:kanopy_lansing"])

    # Then the reader sees the patron with the note only
    seen = await api.read(reader, patron["id"])
    assert seen["attributes"] == [NOTE]
    assert [n["attributes"] for n in await api.nodes(reader, [patron["id"]])] == [[NOTE]]  # type: ignore[index]
    listed = await api.search(reader, search="Streamer")
    assert [e["node"]["attributes"] for e in listed["edges"]] == [[NOTE]]
    # ... no Kanopy type, no Kanopy filter, no Kanopy report, no Kanopy in the audit trail
    types = await api.visible_types(reader)
    assert [t["code"] for t in types["network"]["attributeTypes"]] == ["NOTE"]
    assert [t["code"] for t in types["institution"]["attributeTypes"]] == ["NOTE"]
    nothing = await api.search(reader, attribute={"type": KANOPY, "value": "ALLOWED"})
    assert (nothing["totalCount"], nothing["edges"]) == (0, [])
    report = await api.discrepancies(reader, "MISSING_IN_SCOPE")
    assert (report["totalCount"], report["edges"]) == (0, [])
    trail = await api.audit(reader, patron["id"])
    assert [e["action"] for e in trail] == ["create_patron"]
    assert all(not key.startswith("attribute:KANOPY") for e in trail for key in e["changes"])

    # ... while the vendor sees Kanopy on every path
    seen = await api.read(vendor, patron["id"])
    assert seen["attributes"] == [KANOPY_ALLOWED, NOTE]
    listed = await api.search(vendor, attribute={"type": KANOPY, "value": "ALLOWED"}, first=100)
    assert patron["id"] in [e["node"]["id"] for e in listed["edges"]]
    types = await api.visible_types(vendor)
    assert [t["code"] for t in types["network"]["attributeTypes"]] == [KANOPY, "NOTE"]
    ids = await api.report_ids(vendor, "PRESENT_OUT_OF_SCOPE")
    assert ids == await expected_report(connection, "PRESENT_OUT_OF_SCOPE")
    assert ids
    trail = await api.audit(vendor, patron["id"])
    assert [e["changes"] for e in trail[:2]] == [
        {"attribute:KANOPY_LANSING": {"before": None, "after": ["ALLOWED"]}},
        {"attribute:KANOPY_LANSING": {"before": ["ALLOWED"], "after": None}},
    ]


async def test_a_scope_without_patron_read_shows_no_patron(
    api: AttributeApi, admin_lansing: str, lansing: str
) -> None:
    patron = await api.create(lansing, homeLibrary="LANSING", surname="Private")
    scoped = await api.create_client(admin_lansing, ["attribute:KANOPY_LANSING"])
    assert await api.nodes(scoped, [patron["id"]]) == [None]
    assert (await api.search(scoped))["totalCount"] == 0


async def test_a_client_of_another_institution_never_sees_the_values(
    api: AttributeApi, gql: GraphQL, lansing: str, eastern_admin: str
) -> None:
    patron = await api.create(lansing, homeLibrary="LANSING", surname="Abroad")
    assert patron["attributes"] == kanopy("ALLOWED")
    create = """mutation($scopes: [String!]!) {
          createApiClient(input: {institution: "EASTERN", name: "Eastern vendor",
                                  scopes: $scopes}) {
            secret errors { code field }
          }
        }"""
    # EASTERN cannot even name NEKLS's type: it has no such type
    data = await gql.ok(
        create, {"scopes": ["patron_read", "attribute:KANOPY_LANSING"]}, token=eastern_admin
    )
    assert data["createApiClient"] == {
        "secret": None,
        "errors": [{"code": "INVALID_INPUT", "field": ["input", "scopes", "1"]}],
    }
    data = await gql.ok(create, {"scopes": ["patron_read"]}, token=eastern_admin)
    eastern_vendor = data["createApiClient"]["secret"]
    assert await api.nodes(eastern_vendor, [patron["id"]]) == [None]
    assert await api.visible_types(eastern_vendor) == {
        "network": {"attributeTypes": []},
        "institution": {"attributeTypes": []},
    }
    report = await api.discrepancies(eastern_vendor, "MISSING_IN_SCOPE")
    assert (report["totalCount"], report["edges"]) == (0, [])
