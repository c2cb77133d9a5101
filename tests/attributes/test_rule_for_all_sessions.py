"""applyRuleForAllSessions: the owning library has the server apply its rule, whoever edits.

Without it (Kanopy (LANSING), as in the seed) a change made elsewhere leaves the value as it
was and the patron shows up in the discrepancy report instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.attributes import (
    KANOPY,
    AttributeApi,
    expected_report,
    stored_values,
    values_of,
)
from tests.support.graphql import error
from tests.support.ids import patron_pk

STREAMING = "STREAMING_LANSING"


async def _streaming_type(api: AttributeApi, admin: str) -> dict[str, Any]:
    return await api.create_type(
        admin,
        code=STREAMING,
        label="Streaming (LANSING)",
        authorisedValues=[{"code": "NO", "label": "No"}, {"code": "YES", "label": "Yes"}],
        libraryLimits=["LANSING"],
        rule={
            "libraries": ["LANSING"],
            "inScopeValue": "YES",
            "outOfScopeValue": "NO",
            "applyForAllSessions": True,
        },
    )


async def test_the_type_is_created_with_the_option(api: AttributeApi, admin_lansing: str) -> None:
    created = await _streaming_type(api, admin_lansing)
    assert created == {
        "code": STREAMING,
        "label": "Streaming (LANSING)",
        "authorisedValues": [{"code": "NO", "label": "No"}, {"code": "YES", "label": "Yes"}],
        "repeatable": False,
        "unique": False,
        "mandatory": False,
        "libraryLimits": [{"code": "LANSING"}],
        "excludedUserGroups": [],
        "rule": {
            "libraries": [{"code": "LANSING"}],
            "inScopeValue": "YES",
            "outOfScopeValue": "NO",
            "applyForAllSessions": True,
        },
    }


async def test_a_rehoming_elsewhere_follows_the_rule_only_with_the_option(
    api: AttributeApi,
    admin_lansing: str,
    lansing: str,
    basehor: str,
    connection: AsyncConnection,
) -> None:
    # Given the Streaming type (option on) next to Kanopy (option off)
    await _streaming_type(api, admin_lansing)
    # When BASEHOR staff register a BASEHOR patron
    patron = await api.create(basehor, homeLibrary="BASEHOR", surname="Rehomed")
    # Then BASEHOR staff see neither attribute, LANSING staff see Streaming set by the rule and
    # Kanopy left blank
    assert patron["attributes"] == []
    seen = await api.read(lansing, patron["id"])
    assert values_of(seen, STREAMING) == ["NO"]
    assert values_of(seen, KANOPY) is None
    # When BASEHOR staff move the patron to LANSING
    moved = await api.update(basehor, id=patron["id"], expectedVersion=1, homeLibrary="LANSING")
    assert (moved["homeLibrary"], moved["attributes"], moved["version"]) == (
        {"code": "LANSING"},
        [],
        2,
    )
    # Then Streaming follows the rule, visibly to LANSING staff ...
    seen = await api.read(lansing, patron["id"])
    assert values_of(seen, STREAMING) == ["YES"]
    assert await stored_values(connection, patron_pk(patron["id"]), STREAMING) == ["YES"]
    # ... while Kanopy stays blank and the patron is in the report of LANSING patrons
    # without Kanopy access, but not in the Streaming one
    assert values_of(seen, KANOPY) is None
    assert patron_pk(patron["id"]) in await api.report_ids(lansing, "MISSING_IN_SCOPE")
    assert await api.report_ids(lansing, "MISSING_IN_SCOPE") == await expected_report(
        connection, "MISSING_IN_SCOPE"
    )
    streaming_missing = await api.report_ids(lansing, "MISSING_IN_SCOPE", attribute_type=STREAMING)
    assert patron_pk(patron["id"]) not in streaming_missing
    assert streaming_missing == await expected_report(
        connection, "MISSING_IN_SCOPE", type_code=STREAMING, in_value="YES", excluded=()
    )
    # ... and BASEHOR staff read the trail without either attribute
    trail = await api.audit(basehor, patron["id"])
    assert trail[0]["changes"] == {"homeLibrary": {"before": "BASEHOR", "after": "LANSING"}}
    assert all(not k.startswith("attribute:") for e in trail for k in e["changes"])
    full = await api.audit(lansing, patron["id"])
    assert full[0]["changes"] == {
        "attribute:STREAMING_LANSING": {"before": ["NO"], "after": ["YES"]},
        "homeLibrary": {"before": "BASEHOR", "after": "LANSING"},
    }


async def test_moving_an_allowed_patron_away_elsewhere(
    api: AttributeApi,
    admin_lansing: str,
    lansing: str,
    basehor: str,
    connection: AsyncConnection,
) -> None:
    # Given a LANSING patron with both attributes granted by the rules
    await _streaming_type(api, admin_lansing)
    patron = await api.create(lansing, homeLibrary="LANSING", surname="Leaving")
    assert [(a["type"]["code"], a["values"]) for a in patron["attributes"]] == [
        (KANOPY, ["ALLOWED"]),
        (STREAMING, ["YES"]),
    ]
    # When BASEHOR staff move the patron to BASEHOR
    await api.update(basehor, id=patron["id"], expectedVersion=1, homeLibrary="BASEHOR")
    # Then Streaming was withdrawn by the rule, Kanopy was left as it was
    seen = await api.read(lansing, patron["id"])
    assert values_of(seen, STREAMING) == ["NO"]
    assert values_of(seen, KANOPY) == ["ALLOWED"]
    # ... so the patron is a non-LANSING patron with Kanopy access, for LANSING staff to fix
    present = await api.report_ids(lansing, "PRESENT_OUT_OF_SCOPE")
    assert patron_pk(patron["id"]) in present
    assert present == await expected_report(connection, "PRESENT_OUT_OF_SCOPE")
    fixed = await api.apply_rule(lansing, [patron["id"]])
    assert fixed["errors"] == []
    assert values_of(fixed["updated"][0], KANOPY) == ["NOT_ALLOWED"]
    assert patron_pk(patron["id"]) not in await api.report_ids(lansing, "PRESENT_OUT_OF_SCOPE")


async def test_the_option_does_not_let_other_sessions_set_the_value(
    api: AttributeApi, admin_lansing: str, basehor: str, lansing: str
) -> None:
    await _streaming_type(api, admin_lansing)
    patron = await api.create(lansing, homeLibrary="LANSING", surname="Streamer")
    payload = await api.update_payload(
        basehor,
        id=patron["id"],
        expectedVersion=1,
        homeLibrary="BASEHOR",
        attributes=[{"type": STREAMING, "values": ["YES"]}],
    )
    assert payload == {
        "patron": None,
        "errors": [
            error(
                "ATTRIBUTE_FORBIDDEN",
                "Streaming (LANSING) can only be changed by staff logged in at LANSING.",
                "input",
                "attributes",
                "0",
            )
        ],
    }
    assert await api.read(lansing, patron["id"]) == patron
