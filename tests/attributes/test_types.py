"""createAttributeType: only a SYSTEM_ADMIN of the institution; every input checked."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.attributes import CREATE_TYPE, AttributeApi, count_rows
from tests.support.graphql import GraphQL, error

FULL_INPUT: dict[str, Any] = {
    "code": " hoopla_lansing ",
    "label": " Hoopla (LANSING) ",
    "authorisedValues": [
        {"code": "NOT_ALLOWED", "label": "Not allowed"},
        {"code": "ALLOWED", "label": "Allowed (Lansing Community Library)"},
    ],
    "libraryLimits": ["LANSING", "lansing", "TONGANOXIE"],
    "excludedUserGroups": ["STAFF", "ill"],
    "rule": {
        "libraries": ["LANSING"],
        "inScopeValue": "ALLOWED",
        "outOfScopeValue": "NOT_ALLOWED",
    },
}


async def _type_rows(connection: AsyncConnection, code: str) -> int:
    return await count_rows(
        connection, "SELECT count(*) FROM attribute_type WHERE code = :code", code=code
    )


async def test_a_system_administrator_defines_a_type(
    api: AttributeApi, admin_lansing: str, lansing: str, basehor: str, connection: AsyncConnection
) -> None:
    # When the system administrator defines a type (codes trimmed and in capitals, repeats once)
    created = await api.create_type(admin_lansing, **FULL_INPUT)
    # Then it is returned as stored
    expected = {
        "code": "HOOPLA_LANSING",
        "label": "Hoopla (LANSING)",
        "authorisedValues": FULL_INPUT["authorisedValues"],
        "repeatable": False,
        "unique": False,
        "mandatory": False,
        "libraryLimits": [{"code": "LANSING"}, {"code": "TONGANOXIE"}],
        "excludedUserGroups": [{"code": "ILL"}, {"code": "STAFF"}],
        "rule": {
            "libraries": [{"code": "LANSING"}],
            "inScopeValue": "ALLOWED",
            "outOfScopeValue": "NOT_ALLOWED",
            "applyForAllSessions": False,
        },
    }
    assert created == expected
    assert await _type_rows(connection, "HOOPLA_LANSING") == 1
    # ... LANSING sessions see it next to Kanopy, BASEHOR sessions do not
    types = await api.visible_types(lansing)
    assert [t["code"] for t in types["network"]["attributeTypes"]] == [
        "HOOPLA_LANSING",
        "KANOPY_LANSING",
    ]
    assert types["network"]["attributeTypes"][0] == expected
    assert (await api.visible_types(basehor))["network"]["attributeTypes"] == []
    # ... and its rule applies to the next patron LANSING registers
    patron = await api.create(lansing, homeLibrary="BASEHOR", surname="Hooplaed")
    assert [(a["type"]["code"], a["values"]) for a in patron["attributes"]] == [
        ("HOOPLA_LANSING", ["NOT_ALLOWED"]),
        ("KANOPY_LANSING", ["NOT_ALLOWED"]),
    ]


async def test_a_type_without_limits_is_seen_everywhere_in_the_institution(
    api: AttributeApi, admin_basehor: str, basehor: str, lansing: str, eastern_admin: str
) -> None:
    await api.create_type(admin_basehor, code="NOTE", label="Note")
    for token in (basehor, lansing):
        types = await api.visible_types(token)
        assert "NOTE" in [t["code"] for t in types["institution"]["attributeTypes"]]
    # ... but not in another institution
    assert await api.visible_types(eastern_admin) == {
        "network": {"attributeTypes": []},
        "institution": {"attributeTypes": []},
    }


@pytest.mark.parametrize(
    ("username", "library", "institution"),
    [
        ("lansing.librarian", "LANSING", "NEKLS"),
        ("basehor.librarian", "BASEHOR", "NEKLS"),
        ("network.admin", "LANSING", "NEKLS"),
        ("eastern.admin", "EASTERN-MAIN", "NEKLS"),
        ("nekls.admin", "LANSING", "EASTERN"),
    ],
)
async def test_only_a_system_administrator_of_the_institution_may(
    api: AttributeApi,
    gql: GraphQL,
    connection: AsyncConnection,
    username: str,
    library: str,
    institution: str,
) -> None:
    token = await gql.login(username, library)
    types_before = await count_rows(connection, "SELECT count(*) FROM attribute_type")
    payload = await api.create_type_payload(token, **{**FULL_INPUT, "institution": institution})
    message = f"Only a system administrator of {institution} may define attribute types."
    assert payload == {"attributeType": None, "errors": [error("FORBIDDEN", message)]}
    assert await _type_rows(connection, "HOOPLA_LANSING") == 0
    assert await count_rows(connection, "SELECT count(*) FROM attribute_type") == types_before


async def test_an_anonymous_caller_must_log_in(gql: GraphQL, connection: AsyncConnection) -> None:
    body = await gql(CREATE_TYPE, {"input": {"institution": "NEKLS", **FULL_INPUT}})
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert await _type_rows(connection, "HOOPLA_LANSING") == 0


async def test_every_input_error_is_reported_with_its_field(
    api: AttributeApi, admin_lansing: str, connection: AsyncConnection
) -> None:
    types_before = await count_rows(connection, "SELECT count(*) FROM attribute_type")
    payload = await api.create_type_payload(
        admin_lansing,
        code="KANÖPY",
        label=" ",
        authorisedValues=[
            {"code": "YES", "label": "Yes"},
            {"code": " YES ", "label": ""},
            {"code": "X" * 81, "label": "L" * 201},
        ],
        libraryLimits=["LANSING", "EASTERN-MAIN"],
        excludedUserGroups=["STAFF", "NOPE"],
        rule={"libraries": ["NOWHERE"], "inScopeValue": "MAYBE", "outOfScopeValue": ""},
    )
    assert payload == {
        "attributeType": None,
        "errors": [
            error(
                "INVALID_INPUT", "Codes are 1 to 40 letters, digits, '-' or '_'.", "input", "code"
            ),
            error("MANDATORY_FIELD", "A label is required.", "input", "label"),
            error(
                "INVALID_INPUT",
                "Value codes must be present and distinct.",
                "input",
                "authorisedValues",
                "1",
                "code",
            ),
            error(
                "MANDATORY_FIELD",
                "Give the value a label.",
                "input",
                "authorisedValues",
                "1",
                "label",
            ),
            error(
                "INVALID_INPUT",
                "Value codes are at most 80 characters, without control characters.",
                "input",
                "authorisedValues",
                "2",
                "code",
            ),
            error(
                "INVALID_INPUT",
                "Labels are at most 200 characters.",
                "input",
                "authorisedValues",
                "2",
                "label",
            ),
            error(
                "INVALID_INPUT",
                "'EASTERN-MAIN' is not a library of this institution.",
                "input",
                "libraryLimits",
                "1",
            ),
            error(
                "INVALID_INPUT",
                "'NOPE' is not a user group of NEKLS.",
                "input",
                "excludedUserGroups",
                "1",
            ),
            error(
                "INVALID_INPUT",
                "'NOWHERE' is not a library of this institution.",
                "input",
                "rule",
                "libraries",
                "0",
            ),
            error(
                "INVALID_INPUT",
                "'MAYBE' is not one of the authorised values.",
                "input",
                "rule",
                "inScopeValue",
            ),
            error("MANDATORY_FIELD", "Give the value.", "input", "rule", "outOfScopeValue"),
        ],
    }
    assert await count_rows(connection, "SELECT count(*) FROM attribute_type") == types_before


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"code": "kanopy_lansing"},
            error(
                "CONFLICT", "NEKLS already has an attribute type KANOPY_LANSING.", "input", "code"
            ),
        ),
        (
            {"code": "X" * 41},
            error(
                "INVALID_INPUT", "Codes are 1 to 40 letters, digits, '-' or '_'.", "input", "code"
            ),
        ),
        (
            {"label": "L" * 201},
            error("INVALID_INPUT", "Labels are at most 200 characters.", "input", "label"),
        ),
        (
            {
                "rule": {
                    "libraries": [],
                    "inScopeValue": "ALLOWED",
                    "outOfScopeValue": "NOT_ALLOWED",
                }
            },
            error(
                "MANDATORY_FIELD",
                "Name the libraries whose patrons get the in-scope value.",
                "input",
                "rule",
                "libraries",
            ),
        ),
        (
            {
                "rule": {
                    "libraries": ["LANSING"],
                    "inScopeValue": "ALLOWED",
                    "outOfScopeValue": "ALLOWED",
                }
            },
            error(
                "INVALID_INPUT",
                "The out-of-scope value must differ from the in-scope value.",
                "input",
                "rule",
                "outOfScopeValue",
            ),
        ),
        (
            {
                "authorisedValues": [],
                "rule": {
                    "libraries": ["LANSING"],
                    "inScopeValue": "Y" * 81,
                    "outOfScopeValue": "N",
                },
            },
            error(
                "INVALID_INPUT",
                "Values are at most 80 characters, without control characters.",
                "input",
                "rule",
                "inScopeValue",
            ),
        ),
        (
            {"institution": "NOWHERE"},
            error(
                "NOT_FOUND",
                "There is no institution with the code 'NOWHERE'.",
                "input",
                "institution",
            ),
        ),
    ],
)
async def test_one_wrong_input_refuses_the_type(
    api: AttributeApi,
    admin_lansing: str,
    connection: AsyncConnection,
    changes: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    types_before = await count_rows(connection, "SELECT count(*) FROM attribute_type")
    payload = await api.create_type_payload(admin_lansing, **{**FULL_INPUT, **changes})
    assert payload == {"attributeType": None, "errors": [expected]}
    assert await count_rows(connection, "SELECT count(*) FROM attribute_type") == types_before
