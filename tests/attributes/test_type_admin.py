"""updateAttributeType and removeAttributeType: SYSTEM_ADMIN of the institution from a session
that may see the type; codes stay; nothing that depends on a type is left inconsistent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.attributes import (
    ERRORS,
    KANOPY,
    TYPE_FIELDS,
    AttributeApi,
    count_rows,
)
from tests.support.graphql import GraphQL, error
from tests.support.ids import patron_pk

UPDATE_TYPE = (
    "mutation($input: UpdateAttributeTypeInput!) {"
    f"  updateAttributeType(input: $input) {{ attributeType {{ id ...TypeFields }} {ERRORS} }}"
    "}" + TYPE_FIELDS
)
REMOVE_TYPE = (
    "mutation($input: RemoveAttributeTypeInput!) {"
    f"  removeAttributeType(input: $input) {{ removedCode removedId valuesDeleted {ERRORS} }}"
    "}"
)
TYPE_IDS = '{ institution(code: "NEKLS") { attributeTypes { id code } } }'
CREATE_SIP = """mutation($input: CreateSipAccountInput!) {
  createSipAccount(input: $input) { account { loginId } errors { code message field } }
}"""
UPDATE_SIP = """mutation($input: UpdateSipAccountInput!) {
  updateSipAccount(input: $input) { account { loginId } errors { code message field } }
}"""

HOOPLA: dict[str, Any] = {
    "code": "HOOPLA",
    "label": "Hoopla",
    "authorisedValues": [
        {"code": "NOT_ALLOWED", "label": "Not allowed"},
        {"code": "ALLOWED", "label": "Allowed"},
    ],
    "libraryLimits": ["LANSING", "BASEHOR"],
    "rule": {"libraries": ["LANSING"], "inScopeValue": "ALLOWED", "outOfScopeValue": "NOT_ALLOWED"},
}


async def _update(gql: GraphQL, token: str, **fields: Any) -> dict[str, Any]:
    data = await gql.ok(UPDATE_TYPE, {"input": {"institution": "NEKLS", **fields}}, token)
    payload: dict[str, Any] = data["updateAttributeType"]
    return payload


async def _remove(gql: GraphQL, token: str, **fields: Any) -> dict[str, Any]:
    data = await gql.ok(REMOVE_TYPE, {"input": fields}, token)
    payload: dict[str, Any] = data["removeAttributeType"]
    return payload


async def _type_id(gql: GraphQL, token: str, code: str) -> str:
    data = await gql.ok(TYPE_IDS, token=token)
    [found] = [t["id"] for t in data["institution"]["attributeTypes"] if t["code"] == code]
    type_id: str = found
    return type_id


async def _sip_account(
    gql: GraphQL, token: str, login_id: str, type_code: str, library: str | None = None
) -> None:
    """A SIP account of NEKLS that sends the type in field XA."""
    fields = [{"attributeType": type_code, "fieldCode": "XA"}]
    variables = {
        "institution": "NEKLS",
        "loginId": login_id,
        "secret": "sip-secret-1",
        "library": library,
        "attributeFields": fields,
    }
    data = await gql.ok(CREATE_SIP, {"input": variables}, token)
    assert data["createSipAccount"]["errors"] == [], data


async def _entries(connection: AsyncConnection, action: str) -> list[tuple[Any, ...]]:
    rows = await connection.execute(
        text(
            "SELECT actor_name, entity_type, entity_id, changes FROM audit_entry"
            " WHERE action = :action ORDER BY id"
        ),
        {"action": action},
    )
    return [
        (actor, entity, entity_id, json.loads(c) if isinstance(c, str) else c)
        for actor, entity, entity_id, c in rows
    ]


async def _type_state(connection: AsyncConnection, code: str = KANOPY) -> list[Any]:
    """The stored type with every setting and its values, as text (to compare)."""
    state = []
    for sql in (
        "SELECT t.* FROM attribute_type t WHERE t.code = :code",
        "SELECT v.code, v.label, v.position FROM attribute_authorised_value v"
        " JOIN attribute_type t ON t.id = v.attribute_type_id WHERE t.code = :code"
        " ORDER BY v.position",
        "SELECT l.library_id FROM attribute_type_library_limit l"
        " JOIN attribute_type t ON t.id = l.attribute_type_id WHERE t.code = :code"
        " ORDER BY l.library_id",
        "SELECT r.library_id FROM attribute_type_rule_library r"
        " JOIN attribute_type t ON t.id = r.attribute_type_id WHERE t.code = :code"
        " ORDER BY r.library_id",
        "SELECT g.user_group_id FROM attribute_type_excluded_group g"
        " JOIN attribute_type t ON t.id = g.attribute_type_id WHERE t.code = :code"
        " ORDER BY g.user_group_id",
        "SELECT a.patron_id, a.value, a.unique_key FROM patron_attribute a"
        " JOIN attribute_type t ON t.id = a.attribute_type_id WHERE t.code = :code"
        " ORDER BY a.id",
    ):
        rows = await connection.execute(text(sql), {"code": code})
        state.append([tuple(str(v) for v in row) for row in rows])
    return state


async def dangling_references(connection: AsyncConnection) -> list[str]:
    """API client scopes and SIP field policies that name no attribute type of their
    institution (straight from the tables)."""
    types = {
        (institution, code)
        for institution, code in await connection.execute(
            text("SELECT institution_id, code FROM attribute_type")
        )
    }
    found = []
    for name, institution, scopes in await connection.execute(
        text("SELECT name, institution_id, scopes FROM api_client")
    ):
        for scope in json.loads(scopes) if isinstance(scopes, str) else scopes:
            if scope.startswith("attribute:") and (institution, scope[10:]) not in types:
                found.append(f"client {name}: {scope}")
    for login, institution, fields in await connection.execute(
        text("SELECT login_id, institution_id, attribute_fields FROM sip_account")
    ):
        for item in json.loads(fields) if isinstance(fields, str) else fields:
            if (institution, item["type"]) not in types:
                found.append(f"sip {login}: {item['type']}")
    return found


async def _patrons_with_values(connection: AsyncConnection, code: str) -> int:
    return await count_rows(
        connection,
        "SELECT count(DISTINCT a.patron_id) FROM patron_attribute a"
        " JOIN attribute_type t ON t.id = a.attribute_type_id WHERE t.code = :code",
        code=code,
    )


# ---------------------------------------------------------------- updateAttributeType


async def test_an_admin_changes_the_settings_and_the_code_stays(
    gql: GraphQL,
    api: AttributeApi,
    admin_lansing: str,
    basehor: str,
    connection: AsyncConnection,
) -> None:
    await api.create_type(admin_lansing, **HOOPLA)
    type_id = await _type_id(gql, admin_lansing, "HOOPLA")
    # When the admin at LANSING changes everything but the code, naming the type by id
    payload = await _update(
        gql,
        admin_lansing,
        institution=None,
        id=type_id,
        label=" Hoopla (LANSING) ",
        authorisedValues=[
            {"code": "NOT_ALLOWED", "label": "Not allowed"},
            {"code": "ALLOWED", "label": "Allowed (Lansing Community Library)"},
            {"code": "TRIAL", "label": "Trial"},
        ],
        mandatory=True,
        libraryLimits=["LANSING", "TONGANOXIE"],
        excludedUserGroups=["STAFF"],
        rule={
            "libraries": ["LANSING", "TONGANOXIE"],
            "inScopeValue": "ALLOWED",
            "outOfScopeValue": "NOT_ALLOWED",
            "applyForAllSessions": True,
        },
    )
    # Then the type is returned as stored, under its old code and id
    assert payload == {
        "attributeType": {
            "id": type_id,
            "code": "HOOPLA",
            "label": "Hoopla (LANSING)",
            "authorisedValues": [
                {"code": "NOT_ALLOWED", "label": "Not allowed"},
                {"code": "ALLOWED", "label": "Allowed (Lansing Community Library)"},
                {"code": "TRIAL", "label": "Trial"},
            ],
            "repeatable": False,
            "unique": False,
            "mandatory": True,
            "libraryLimits": [{"code": "LANSING"}, {"code": "TONGANOXIE"}],
            "excludedUserGroups": [{"code": "STAFF"}],
            "rule": {
                "libraries": [{"code": "LANSING"}, {"code": "TONGANOXIE"}],
                "inScopeValue": "ALLOWED",
                "outOfScopeValue": "NOT_ALLOWED",
                "applyForAllSessions": True,
            },
        },
        "errors": [],
    }
    # ... audited with what changed, before and after
    [(actor, entity, _, changes)] = await _entries(connection, "update_attribute_type")
    assert (actor, entity) == ("nekls.admin", "AttributeType")
    assert changes == {
        "label": {"before": "Hoopla", "after": "Hoopla (LANSING)"},
        "authorisedValues": {
            "before": ["NOT_ALLOWED: Not allowed", "ALLOWED: Allowed"],
            "after": [
                "NOT_ALLOWED: Not allowed",
                "ALLOWED: Allowed (Lansing Community Library)",
                "TRIAL: Trial",
            ],
        },
        "mandatory": {"before": False, "after": True},
        "libraryLimits": {"before": ["BASEHOR", "LANSING"], "after": ["LANSING", "TONGANOXIE"]},
        "excludedUserGroups": {"before": [], "after": ["STAFF"]},
        "rule": {
            "before": {
                "libraries": ["LANSING"],
                "inScopeValue": "ALLOWED",
                "outOfScopeValue": "NOT_ALLOWED",
                "applyForAllSessions": False,
            },
            "after": {
                "libraries": ["LANSING", "TONGANOXIE"],
                "inScopeValue": "ALLOWED",
                "outOfScopeValue": "NOT_ALLOWED",
                "applyForAllSessions": True,
            },
        },
    }
    # ... and BASEHOR, left out of the limits, no longer sees it
    codes = [t["code"] for t in (await api.visible_types(basehor))["network"]["attributeTypes"]]
    assert "HOOPLA" not in codes
    # A change that changes nothing is not audited; a null rule removes the rule
    again = await _update(gql, admin_lansing, code="hoopla", mandatory=True)
    assert again["errors"] == []
    assert len(await _entries(connection, "update_attribute_type")) == 1
    removed = await _update(gql, admin_lansing, code="HOOPLA", rule=None)
    assert removed["attributeType"]["rule"] is None
    assert (
        await count_rows(
            connection,
            "SELECT count(*) FROM attribute_type_rule_library r"
            " JOIN attribute_type t ON t.id = r.attribute_type_id WHERE t.code = 'HOOPLA'",
        )
        == 0
    )


async def test_an_empty_library_list_is_refused_and_all_libraries_is_explicit(
    gql: GraphQL,
    api: AttributeApi,
    admin_lansing: str,
    basehor: str,
    connection: AsyncConnection,
) -> None:
    before = await _type_state(connection)
    payload = await _update(gql, admin_lansing, code=KANOPY, libraryLimits=[])
    assert payload == {
        "attributeType": None,
        "errors": [
            error(
                "INVALID_INPUT",
                "An empty list of libraries means every library of NEKLS may see and change "
                "Kanopy (LANSING): to open it to all of them, give allLibraries: true instead.",
                "input",
                "libraryLimits",
            )
        ],
    }
    both = await _update(
        gql, admin_lansing, code=KANOPY, libraryLimits=["LANSING"], allLibraries=True
    )
    assert both["errors"] == [
        error(
            "INVALID_INPUT",
            "Give libraryLimits or allLibraries: true, not both.",
            "input",
            "allLibraries",
        )
    ]
    assert await _type_state(connection) == before
    # When the admin asks for every library explicitly
    opened = await _update(gql, admin_lansing, code=KANOPY, allLibraries=True)
    assert opened["errors"] == []
    assert opened["attributeType"]["libraryLimits"] == []
    # Then BASEHOR sessions see the type and its values
    codes = [t["code"] for t in (await api.visible_types(basehor))["network"]["attributeTypes"]]
    assert codes == [KANOPY]
    [(_, _, _, changes)] = await _entries(connection, "update_attribute_type")
    assert changes == {"libraryLimits": {"before": ["LANSING"], "after": []}}


async def test_narrowing_is_refused_while_clients_or_sip_accounts_outside_carry_the_type(
    gql: GraphQL, api: AttributeApi, admin_lansing: str, connection: AsyncConnection
) -> None:
    # Given a type of LANSING and BASEHOR that a BASEHOR client and SIP account carry
    await api.create_type(admin_lansing, **HOOPLA)
    await api.create_client(admin_lansing, ["attribute:HOOPLA"], library="BASEHOR")
    await _sip_account(gql, admin_lansing, "hoopla-basehor", "HOOPLA", library="BASEHOR")
    before = await _type_state(connection, "HOOPLA")
    # When the admin limits the type to LANSING
    payload = await _update(gql, admin_lansing, code="HOOPLA", libraryLimits=["LANSING"])
    # Then both are named and nothing changes
    assert payload == {
        "attributeType": None,
        "errors": [
            error(
                "CONFLICT",
                "API clients of libraries other than LANSING hold the scope attribute:HOOPLA: "
                "Kanopy SIP2 (BASEHOR). It must leave their scopes first.",
                "input",
                "libraryLimits",
            ),
            error(
                "CONFLICT",
                "SIP accounts of libraries other than LANSING send HOOPLA: hoopla-basehor "
                "(BASEHOR). Change their attribute fields first.",
                "input",
                "libraryLimits",
            ),
        ],
    }
    assert await _type_state(connection, "HOOPLA") == before
    assert await _entries(connection, "update_attribute_type") == []
    # ... while a change that keeps BASEHOR is fine
    kept = await _update(
        gql, admin_lansing, code="HOOPLA", libraryLimits=["BASEHOR", "LANSING", "TONGANOXIE"]
    )
    assert kept["errors"] == []


async def test_stored_values_decide_what_may_change(
    gql: GraphQL,
    api: AttributeApi,
    admin_lansing: str,
    lansing: str,
    connection: AsyncConnection,
) -> None:
    before = await _type_state(connection)
    not_allowed = await count_rows(
        connection,
        "SELECT count(DISTINCT a.patron_id) FROM patron_attribute a"
        " JOIN attribute_type t ON t.id = a.attribute_type_id"
        " WHERE t.code = :code AND a.value = 'NOT_ALLOWED'",
        code=KANOPY,
    )
    assert not_allowed > 1
    # A value patrons hold (and the rule gives) cannot leave the list
    payload = await _update(
        gql, admin_lansing, code=KANOPY, authorisedValues=[{"code": "ALLOWED", "label": "Yes"}]
    )
    assert payload["errors"] == [
        error(
            "CONFLICT",
            f"{not_allowed} patrons have the value 'NOT_ALLOWED' of KANOPY_LANSING, which the "
            "new list leaves out: change their values first, or keep it.",
            "input",
            "authorisedValues",
        ),
        error(
            "INVALID_INPUT",
            "The home-library rule gives 'NOT_ALLOWED': keep it among the values, "
            "or change the rule too.",
            "input",
            "authorisedValues",
        ),
    ]
    assert await _type_state(connection) == before
    # A repeatable type with two values on a patron stays repeatable
    await api.create_type(admin_lansing, code="NOTE", label="Note", repeatable=True)
    await api.create(lansing, surname="Twice", attributes=[{"type": "NOTE", "values": ["a", "b"]}])
    await api.create(lansing, surname="Same", attributes=[{"type": "NOTE", "values": ["B"]}])
    notes = await _type_state(connection, "NOTE")
    repeated = await _update(gql, admin_lansing, code="NOTE", repeatable=False)
    assert repeated["errors"] == [
        error(
            "CONFLICT",
            "1 patron has more than one value of NOTE: it stays repeatable until each has one.",
            "input",
            "repeatable",
        )
    ]
    # ... and values held twice (case aside) keep it from becoming unique
    shared = await _update(gql, admin_lansing, code="NOTE", unique=True)
    assert shared["errors"] == [
        error(
            "CONFLICT",
            "1 value of NOTE is held more than once (e.g. 'b'): it can become unique once "
            "every value is held once.",
            "input",
            "unique",
        )
    ]
    assert await _type_state(connection, "NOTE") == notes
    # Once the values fit, the type becomes unique and its values get their unique keys
    await api.create_type(admin_lansing, code="CARD", label="Card")
    await api.create(lansing, surname="Card", attributes=[{"type": "CARD", "values": ["AbC"]}])
    made_unique = await _update(gql, admin_lansing, code="CARD", unique=True)
    assert made_unique["attributeType"]["unique"] is True
    [state] = (await _type_state(connection, "CARD"))[-1:]
    assert [row[1:] for row in state] == [("AbC", "abc")]
    taken = await api.create_payload(
        lansing, surname="Copy", attributes=[{"type": "CARD", "values": ["abc"]}]
    )
    assert [e["code"] for e in taken["errors"]] == ["CONFLICT"]


@pytest.mark.parametrize(
    ("username", "library", "by_code", "by_id"),
    [
        (
            "lansing.librarian",
            "LANSING",
            error("FORBIDDEN", "Only a system administrator of NEKLS may {what}."),
            error("FORBIDDEN", "Only a system administrator of NEKLS may {what}."),
        ),
        (
            "eastern.admin",
            "EASTERN-MAIN",
            error("FORBIDDEN", "Only a system administrator of NEKLS may {what}."),
            error("NOT_FOUND", "There is no such attribute type.", "input", "id"),
        ),
        (
            "nekls.admin",
            "BASEHOR",
            error(
                "ATTRIBUTE_FORBIDDEN",
                "Kanopy (LANSING) can only be changed by staff logged in at LANSING.",
                "input",
                "code",
            ),
            error(
                "ATTRIBUTE_FORBIDDEN",
                "Kanopy (LANSING) can only be changed by staff logged in at LANSING.",
                "input",
                "id",
            ),
        ),
    ],
)
async def test_only_an_admin_who_may_see_the_type_changes_or_removes_it(
    gql: GraphQL,
    admin_lansing: str,
    connection: AsyncConnection,
    username: str,
    library: str,
    by_code: dict[str, Any],
    by_id: dict[str, Any],
) -> None:
    type_id = await _type_id(gql, admin_lansing, KANOPY)
    token = await gql.login(username, library)
    before = await _type_state(connection)
    audit_before = await count_rows(connection, "SELECT count(*) FROM audit_entry")

    def expected(template: dict[str, Any], what: str) -> list[dict[str, Any]]:
        return [{**template, "message": template["message"].format(what=what)}]

    for target, template in (({"code": KANOPY}, by_code), ({"id": type_id}, by_id)):
        updated = await _update(
            gql,
            token,
            **target,
            **({"institution": None} if "id" in target else {}),
            label="Taken over",
            allLibraries=True,
        )
        assert updated == {
            "attributeType": None,
            "errors": expected(template, "change attribute types"),
        }
        removed = await _remove(
            gql, token, **target, **({"institution": "NEKLS"} if "code" in target else {})
        )
        assert removed == {
            "removedCode": None,
            "removedId": None,
            "valuesDeleted": 0,
            "errors": expected(template, "remove attribute types"),
        }
    assert await _type_state(connection) == before
    assert await count_rows(connection, "SELECT count(*) FROM audit_entry") == audit_before


async def test_anonymous_callers_must_log_in(gql: GraphQL, connection: AsyncConnection) -> None:
    before = await _type_state(connection)
    for document, variables in (
        (UPDATE_TYPE, {"institution": "NEKLS", "code": KANOPY, "label": "X"}),
        (REMOVE_TYPE, {"institution": "NEKLS", "code": KANOPY, "deleteValues": True}),
    ):
        body = await gql(document, {"input": variables})
        assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert await _type_state(connection) == before


async def test_the_type_is_named_once_and_must_exist(
    gql: GraphQL, admin_lansing: str, connection: AsyncConnection
) -> None:
    type_id = await _type_id(gql, admin_lansing, KANOPY)
    before = await _type_state(connection)
    named = error(
        "INVALID_INPUT",
        "Name the attribute type by its id, or by its institution and code.",
        "input",
    )
    assert (await _update(gql, admin_lansing, id=type_id, code=KANOPY))["errors"] == [named]
    assert (await _remove(gql, admin_lansing, institution="NEKLS"))["errors"] == [named]
    missing = await _remove(gql, admin_lansing, institution="NEKLS", code="NOPE")
    assert missing["errors"] == [
        error("NOT_FOUND", "NEKLS has no attribute type 'NOPE'.", "input", "code")
    ]
    garbage = await _remove(gql, admin_lansing, id="not-an-id")
    assert garbage["errors"] == [
        error("NOT_FOUND", "There is no such attribute type.", "input", "id")
    ]
    assert await _type_state(connection) == before


# ---------------------------------------------------------------- removeAttributeType


async def test_a_type_in_use_is_refused_with_what_uses_it(
    gql: GraphQL, api: AttributeApi, admin_lansing: str, connection: AsyncConnection
) -> None:
    await api.create_client(admin_lansing, ["attribute:KANOPY_LANSING"])
    patrons = await _patrons_with_values(connection, KANOPY)
    before = await _type_state(connection)
    payload = await _remove(gql, admin_lansing, institution="NEKLS", code=KANOPY)
    assert payload["errors"] == [
        error(
            "CONFLICT",
            f"{patrons} patrons have a value for KANOPY_LANSING: give deleteValues: true to "
            "delete the values with the type (each patron's audit trail keeps them).",
            "input",
            "deleteValues",
        ),
        error(
            "CONFLICT",
            "API clients hold the scope attribute:KANOPY_LANSING: Kanopy SIP2 (LANSING). It "
            "must leave their scopes first.",
            "input",
            "code",
        ),
        error(
            "CONFLICT",
            "SIP accounts send KANOPY_LANSING: kanopy-lansing (LANSING). Change their "
            "attribute fields first.",
            "input",
            "code",
        ),
    ]
    # deleteValues does not override what API clients and SIP accounts hold
    forced = await _remove(gql, admin_lansing, institution="NEKLS", code=KANOPY, deleteValues=True)
    assert [e["field"] for e in forced["errors"]] == [["input", "code"], ["input", "code"]]
    assert await _type_state(connection) == before
    assert await _entries(connection, "remove_attribute_type") == []


async def test_an_unused_type_is_removed_with_its_settings(
    gql: GraphQL, api: AttributeApi, admin_lansing: str, connection: AsyncConnection
) -> None:
    await api.create_type(admin_lansing, **HOOPLA, excludedUserGroups=["STAFF"])
    type_id = await _type_id(gql, admin_lansing, "HOOPLA")
    payload = await _remove(gql, admin_lansing, id=type_id)
    assert payload == {
        "removedCode": "HOOPLA",
        "removedId": type_id,
        "valuesDeleted": 0,
        "errors": [],
    }
    assert await _type_state(connection, "HOOPLA") == [[], [], [], [], [], []]
    [(actor, entity, _, changes)] = await _entries(connection, "remove_attribute_type")
    assert (actor, entity) == ("nekls.admin", "AttributeType")
    assert changes == {
        "code": {"before": "HOOPLA", "after": None},
        "label": {"before": "Hoopla", "after": None},
    }
    # Its id names nothing now
    assert (
        await gql.ok("query($id: ID!) { node(id: $id) { id } }", {"id": type_id}, admin_lansing)
    )["node"] is None
    assert await dangling_references(connection) == []
    # Its code is not given to another type: the trails keep the old one's history under it
    again = await api.create_type_payload(admin_lansing, **HOOPLA)
    assert again["attributeType"] is None
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("CONFLICT", ["input", "code"])]
    assert "since removed" in again["errors"][0]["message"]
    assert await _type_state(connection, "HOOPLA") == [[], [], [], [], [], []]


async def test_values_go_only_on_request_and_the_trails_keep_them(
    gql: GraphQL,
    api: AttributeApi,
    admin_lansing: str,
    lansing: str,
    connection: AsyncConnection,
) -> None:
    # Given a type that two patrons have values for and a SIP account sends
    await api.create_type(admin_lansing, code="NOTE", label="Note", repeatable=True)
    first = await api.create(
        lansing, surname="First", attributes=[{"type": "NOTE", "values": ["b", "a"]}]
    )
    second = await api.create(
        lansing, surname="Second", attributes=[{"type": "NOTE", "values": ["c"]}]
    )
    other = await api.create(lansing, surname="Other")
    await _sip_account(gql, admin_lansing, "notes", "NOTE")
    # When the admin removes it without deleteValues, the values and the account refuse it
    refused = await _remove(gql, admin_lansing, institution="NEKLS", code="NOTE")
    assert [e["message"] for e in refused["errors"]] == [
        "2 patrons have a value for NOTE: give deleteValues: true to delete the values with "
        "the type (each patron's audit trail keeps them).",
        "SIP accounts send NOTE: notes (no library). Change their attribute fields first.",
    ]
    # ... and once the account no longer sends it, deleteValues removes type and values
    changed = await gql.ok(
        UPDATE_SIP, {"input": {"loginId": "notes", "attributeFields": []}}, admin_lansing
    )
    assert changed["updateSipAccount"]["errors"] == []
    payload = await _remove(gql, admin_lansing, institution="NEKLS", code="NOTE", deleteValues=True)
    assert (payload["removedCode"], payload["valuesDeleted"], payload["errors"]) == (
        "NOTE",
        3,
        [],
    )
    assert await _type_state(connection, "NOTE") == [[], [], [], [], [], []]
    assert await dangling_references(connection) == []
    # Then each patron's trail has what it had, and its version moved on
    entries = await _entries(connection, "remove_attribute_type")
    by_entity = {(e[1], e[2]): e[3] for e in entries}
    assert by_entity[("Patron", patron_pk(first["id"]))] == {
        "attribute:NOTE": {"before": ["a", "b"], "after": None}
    }
    assert by_entity[("Patron", patron_pk(second["id"]))] == {
        "attribute:NOTE": {"before": ["c"], "after": None}
    }
    assert ("Patron", patron_pk(other["id"])) not in by_entity
    assert by_entity[("AttributeType", entries[-1][2])] == {
        "code": {"before": "NOTE", "after": None},
        "label": {"before": "Note", "after": None},
        "valuesDeleted": {"before": None, "after": 3},
        "patrons": {"before": None, "after": 2},
    }
    assert (await api.read(lansing, first["id"]))["version"] == first["version"] + 1
    assert (await api.read(lansing, other["id"]))["version"] == other["version"]
