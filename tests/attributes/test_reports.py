"""The discrepancy reports (the seed's reports 3495 and 3496) and applyAttributeRule.

Each report is compared with the answer computed straight from the tables.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.graphql.ids import encode_id
from tests.support.attributes import (
    KANOPY,
    KANOPY_FORBIDDEN,
    AttributeApi,
    expected_report,
    stored_values,
)
from tests.support.graphql import error
from tests.support.ids import patron_pk

KINDS = ("MISSING_IN_SCOPE", "PRESENT_OUT_OF_SCOPE")


def gid(patron_id: int) -> str:
    return encode_id("Patron", patron_id)


async def _states(connection: AsyncConnection, ids: list[int]) -> dict[int, list[str]]:
    return {patron_id: await stored_values(connection, patron_id) for patron_id in ids}


async def _known_cases(api: AttributeApi, lansing: str, basehor: str) -> dict[str, int]:
    """One patron in each state the reports must tell apart, by name."""
    cases: dict[str, dict[str, Any]] = {
        # registered at LANSING by BASEHOR staff: Kanopy left blank
        "blank": await api.create(basehor, homeLibrary="LANSING", surname="Blank"),
        # ... in groups the report leaves out
        "blank_ill": await api.create(
            basehor, homeLibrary="LANSING", surname="Blank-ILL", userGroup="ILL"
        ),
        "blank_statistic": await api.create(
            basehor, homeLibrary="LANSING", surname="Blank-Statistic", userGroup="STATISTIC"
        ),
        "blank_staff": await api.create(
            basehor, homeLibrary="LANSING", surname="Blank-Staff", userGroup="STAFF"
        ),
        # ... and without a group
        "blank_no_group": await api.create(
            basehor, homeLibrary="LANSING", surname="Blank-No-Group", userGroup=None
        ),
        # set wrongly at LANSING
        "denied": await api.create(
            lansing,
            homeLibrary="LANSING",
            surname="Denied",
            attributes=[{"type": KANOPY, "values": ["NOT_ALLOWED"]}],
        ),
        # set right, at LANSING and elsewhere
        "allowed": await api.create(lansing, homeLibrary="LANSING", surname="Allowed"),
        "not_allowed": await api.create(lansing, homeLibrary="BASEHOR", surname="Not-Allowed"),
        # allowed, but living elsewhere (also in a group the other report leaves out)
        "moved": await api.create(
            lansing,
            homeLibrary="BASEHOR",
            surname="Moved",
            attributes=[{"type": KANOPY, "values": ["ALLOWED"]}],
        ),
        "moved_ill": await api.create(
            lansing,
            homeLibrary="TONGANOXIE",
            surname="Moved-ILL",
            userGroup="ILL",
            attributes=[{"type": KANOPY, "values": ["ALLOWED"]}],
        ),
        # registered elsewhere by BASEHOR staff: blank is no discrepancy out of scope
        "blank_elsewhere": await api.create(basehor, homeLibrary="BASEHOR", surname="Elsewhere"),
    }
    return {name: patron_pk(patron["id"]) for name, patron in cases.items()}


async def test_the_reports_list_exactly_the_patrons_in_discrepancy(
    api: AttributeApi, lansing: str, basehor: str, connection: AsyncConnection
) -> None:
    # Given the demo's patrons and one patron in each state
    cases = await _known_cases(api, lansing, basehor)
    for kind in KINDS:
        # When LANSING staff run the report
        first_page = await api.discrepancies(lansing, kind, first=100)
        listed = await api.report_ids(lansing, kind)
        # Then it lists exactly the patrons the tables say, once each, in id order
        expected = await expected_report(connection, kind)
        assert listed == expected
        assert len(set(listed)) == len(listed)
        assert first_page["totalCount"] == len(expected)
    missing = set(await api.report_ids(lansing, "MISSING_IN_SCOPE"))
    present = set(await api.report_ids(lansing, "PRESENT_OUT_OF_SCOPE"))
    # ... LANSING patrons without Kanopy access: blank or Not allowed, excluded groups left out
    assert {cases["blank"], cases["blank_no_group"], cases["denied"]} <= missing
    for name in ("blank_ill", "blank_statistic", "blank_staff", "allowed", "blank_elsewhere"):
        assert cases[name] not in missing, name
    # ... non-LANSING patrons with Kanopy access, whatever their group
    assert {cases["moved"], cases["moved_ill"]} <= present
    for name in ("not_allowed", "blank_elsewhere", "allowed", "blank", "denied"):
        assert cases[name] not in present, name
    assert not missing & present


async def test_the_demo_has_generated_patrons_in_each_state(
    api: AttributeApi, lansing: str, connection: AsyncConnection
) -> None:
    missing = await api.report_ids(lansing, "MISSING_IN_SCOPE")
    present = await api.report_ids(lansing, "PRESENT_OUT_OF_SCOPE")
    # (never set, or set wrongly: with few generated patrons only the first may occur)
    assert missing
    assert set(map(tuple, (await _states(connection, missing)).values())) <= {(), ("NOT_ALLOWED",)}
    assert present
    assert all(v == ["ALLOWED"] for v in (await _states(connection, present)).values())
    # The staff logins at LANSING (user group STAFF) are left out of the report
    staff = (
        await connection.execute(
            text("SELECT id FROM patron WHERE username IN ('lansing.librarian', 'nekls.admin')")
        )
    ).scalars()
    assert not set(staff) & set(missing)


@pytest.mark.parametrize("kind", KINDS)
async def test_paging_walks_every_row_once(
    api: AttributeApi, lansing: str, basehor: str, connection: AsyncConnection, kind: str
) -> None:
    await _known_cases(api, lansing, basehor)
    expected = await expected_report(connection, kind)
    assert len(expected) > 3
    seen: list[int] = []
    pages = 0
    after = None
    while True:
        page = await api.discrepancies(lansing, kind, first=3, after=after)
        pages += 1
        assert page["totalCount"] == len(expected)
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        edges = page["edges"]
        assert 0 < len(edges) <= 3
        assert page["pageInfo"]["startCursor"] == edges[0]["cursor"]
        assert page["pageInfo"]["endCursor"] == edges[-1]["cursor"]
        seen += [patron_pk(e["node"]["id"]) for e in edges]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected
    assert pages == math.ceil(len(expected) / 3)
    # The rows are patrons staff can open and edit
    first = await api.discrepancies(lansing, kind, first=1)
    node = first["edges"][0]["node"]
    assert await api.read(lansing, node["id"])


@pytest.mark.parametrize("kind", KINDS)
async def test_other_sessions_get_empty_reports(
    api: AttributeApi,
    basehor: str,
    admin_basehor: str,
    eastern_admin: str,
    lansing: str,
    kind: str,
) -> None:
    assert (await api.discrepancies(lansing, kind))["totalCount"] > 0
    for token in (basehor, admin_basehor, eastern_admin):
        report = await api.discrepancies(token, kind, first=100)
        assert report == {
            "totalCount": 0,
            "pageInfo": {
                "hasNextPage": False,
                "hasPreviousPage": False,
                "startCursor": None,
                "endCursor": None,
            },
            "edges": [],
        }
    # ... as for a type that does not exist, or one without a rule
    assert (await api.discrepancies(lansing, kind, attribute_type="NETFLIX"))["totalCount"] == 0


# ---------------------------------------------------------------- applyAttributeRule


async def test_apply_rule_fixes_the_listed_patrons_in_one_go(
    api: AttributeApi, lansing: str, basehor: str, connection: AsyncConnection
) -> None:
    # Given patrons from both reports, and one that is already right
    cases = await _known_cases(api, lansing, basehor)
    missing = await expected_report(connection, "MISSING_IN_SCOPE")
    present = await expected_report(connection, "PRESENT_OUT_OF_SCOPE")
    chosen = missing[:3] + present[:2]
    ids = [gid(i) for i in [*chosen, cases["allowed"]]]
    before = {n["id"]: n for n in await api.nodes(lansing, ids) if n}  # type: ignore[union-attr]
    trails = {i: await api.audit(lansing, i) for i in ids}
    # When LANSING staff apply the rule to them (one of them listed twice)
    payload = await api.apply_rule(lansing, [*ids, ids[0]])
    # Then the changed ones are returned with the rule's value and one more version
    assert payload["errors"] == []
    updated = {p["id"]: p for p in payload["updated"]}
    assert list(updated) == [gid(i) for i in chosen]
    for patron_id in chosen:
        patron = updated[gid(patron_id)]
        value = "ALLOWED" if patron_id in missing else "NOT_ALLOWED"
        assert patron["attributes"][0] == {
            "type": {"code": KANOPY, "label": "Kanopy (LANSING)"},
            "values": [value],
        }
        old = before[gid(patron_id)]
        assert patron["version"] == old["version"] + 1
        assert await stored_values(connection, patron_id) == [value]
        # ... each with an audit entry of its own
        trail = await api.audit(lansing, gid(patron_id))
        assert trail[1:] == trails[gid(patron_id)]
        assert trail[0] == {
            "actor": "lansing.librarian",
            "action": "apply_attribute_rule",
            "changes": {
                "attribute:KANOPY_LANSING": {
                    "before": _old_values(old),
                    "after": [value],
                }
            },
        }
        assert await api.read(lansing, gid(patron_id)) == patron
    # ... which staff elsewhere do not see
    assert all(e["action"] != "apply_attribute_rule" for e in await api.audit(basehor, ids[0]))
    # ... the one that was right is untouched
    assert await api.read(lansing, gid(cases["allowed"])) == before[gid(cases["allowed"])]
    assert await api.audit(lansing, gid(cases["allowed"])) == trails[gid(cases["allowed"])]
    # ... and neither report lists them any more
    for kind in KINDS:
        listed = await api.report_ids(lansing, kind)
        assert not set(listed) & set(chosen)
        assert listed == await expected_report(connection, kind)
    assert len(await api.report_ids(lansing, "MISSING_IN_SCOPE")) == len(missing) - 3
    assert len(await api.report_ids(lansing, "PRESENT_OUT_OF_SCOPE")) == len(present) - 2


def _old_values(patron: dict[str, Any]) -> list[str] | None:
    for attribute in patron["attributes"]:
        if attribute["type"]["code"] == KANOPY:
            return sorted(attribute["values"])
    return None


async def _foreign_patron(api: AttributeApi, eastern_admin: str) -> str:
    data = await api.gql.ok(
        '{ patrons(institution: "EASTERN", first: 1) { edges { node { id } } } }',
        token=eastern_admin,
    )
    patron_id: str = data["patrons"]["edges"][0]["node"]["id"]
    return patron_id


@pytest.mark.parametrize("bad", ["garbage", "eastern", "missing", "library"])
async def test_one_bad_id_changes_nothing(
    api: AttributeApi,
    lansing: str,
    eastern_admin: str,
    connection: AsyncConnection,
    bad: str,
) -> None:
    # Given two patrons of the missing report and one id that names no patron of NEKLS
    missing = await expected_report(connection, "MISSING_IN_SCOPE")
    present = await expected_report(connection, "PRESENT_OUT_OF_SCOPE")
    wrong = {
        "garbage": "not-an-id",
        "eastern": await _foreign_patron(api, eastern_admin),
        "missing": gid(2_000_000_000),
        "library": encode_id("Library", 1),
    }[bad]
    ids = [gid(missing[0]), gid(present[0]), wrong, gid(missing[1])]
    before = await api.nodes(lansing, [i for i in ids if i != wrong])
    values = await _states(connection, [missing[0], missing[1], present[0]])
    # When LANSING staff apply the rule to the list
    payload = await api.apply_rule(lansing, ids)
    # Then the bad id is named and nothing changed at all
    assert payload == {
        "updated": [],
        "errors": [error("NOT_FOUND", "There is no such patron.", "input", "patronIds", "2")],
    }
    assert await api.nodes(lansing, [i for i in ids if i != wrong]) == before
    assert await _states(connection, [missing[0], missing[1], present[0]]) == values
    assert await api.report_ids(lansing, "MISSING_IN_SCOPE") == missing
    assert await api.report_ids(lansing, "PRESENT_OUT_OF_SCOPE") == present


async def test_only_authorized_librarians_apply_the_rule(
    api: AttributeApi,
    lansing: str,
    basehor: str,
    admin_basehor: str,
    eastern_admin: str,
    connection: AsyncConnection,
) -> None:
    missing = await expected_report(connection, "MISSING_IN_SCOPE")
    ids = [gid(i) for i in missing[:2]]
    before = await api.nodes(lansing, ids)
    forbidden = error("ATTRIBUTE_FORBIDDEN", KANOPY_FORBIDDEN, "input", "attributeType")
    assert await api.apply_rule(basehor, ids) == {"updated": [], "errors": [forbidden]}
    assert await api.apply_rule(admin_basehor, ids) == {"updated": [], "errors": [forbidden]}
    # ... another institution has no such type
    assert await api.apply_rule(eastern_admin, ids) == {
        "updated": [],
        "errors": [
            error(
                "INVALID_INPUT",
                "There is no attribute type 'KANOPY_LANSING' with a home-library rule.",
                "input",
                "attributeType",
            )
        ],
    }
    assert await api.nodes(lansing, ids) == before
    assert await expected_report(connection, "MISSING_IN_SCOPE") == missing
