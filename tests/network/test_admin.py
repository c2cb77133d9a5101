"""Changing and removing the network's structure and an institution's set-up, through the API:
codes stay, names and settings change, nothing in use disappears, denied callers change nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.graphql import GraphQL
from tests.support.network import audit_entries

UPDATE_LIBRARY = """mutation($input: UpdateLibraryInput!) {
  updateLibrary(input: $input) { library { code name } errors { code message field } }
}"""
UPDATE_INSTITUTION = """mutation($input: UpdateInstitutionInput!) {
  updateInstitution(input: $input) { institution { code name } errors { code message field } }
}"""
UPDATE_IDENTIFIER_TYPE = """mutation($input: UpdateIdentifierTypeInput!) {
  updateIdentifierType(input: $input) {
    identifierType { code name networkUnique } errors { code message field } }
}"""
UPDATE_USER_GROUP = """mutation($input: UpdateUserGroupInput!) {
  updateUserGroup(input: $input) {
    userGroup { code name loanPeriodDays } errors { code message field } }
}"""
UPDATE_LIBRARY_GROUP = """mutation($input: UpdateLibraryGroupInput!) {
  updateLibraryGroup(input: $input) {
    libraryGroup { id name description } errors { code message field } }
}"""
UPDATE_BLOCK_TYPE = """mutation($input: UpdateBlockTypeInput!) {
  updateBlockType(input: $input) {
    blockType { code description network blocksLoans } errors { code message field } }
}"""
REMOVE = """mutation($input: {kind}Input!) {
  {name}(input: $input) { removedCode removedId errors { code message field } }
}"""


def remove(kind: str) -> str:
    name = "remove" + kind
    return REMOVE.replace("{kind}", "Remove" + kind).replace("{name}", name)


async def _scalar(connection: AsyncConnection, sql: str, **params: Any) -> Any:
    return (await connection.execute(text(sql), params)).scalar_one()


async def _rows(connection: AsyncConnection, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in (await connection.execute(text(sql), params)).all()]


def _errors(data: dict[str, Any]) -> list[dict[str, Any]]:
    [payload] = data.values()
    errors: list[dict[str, Any]] = payload["errors"]
    return errors


# --- Changes ---------------------------------------------------------------------------------


async def test_network_admin_renames_a_library_and_the_code_stays(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("network.admin", "LANSING")
    data = await gql.ok(
        UPDATE_LIBRARY, {"input": {"code": "basehor", "name": " Basehor Branch "}}, token=token
    )
    assert data["updateLibrary"] == {
        "library": {"code": "BASEHOR", "name": "Basehor Branch"},
        "errors": [],
    }
    [entry] = await audit_entries(connection, "update_library")
    assert entry["changes"] == {
        "name": {"before": "Basehor Community Library", "after": "Basehor Branch"}
    }
    # The same name again changes nothing and writes no entry.
    await gql.ok(
        UPDATE_LIBRARY, {"input": {"code": "BASEHOR", "name": "Basehor Branch"}}, token=token
    )
    assert len(await audit_entries(connection, "update_library")) == 1


async def test_a_system_admin_cannot_rename_libraries_or_institutions(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    before = await _rows(connection, "SELECT code, name FROM library ORDER BY code")
    institutions = await _rows(connection, "SELECT code, name FROM institution ORDER BY code")
    token = await gql.login("nekls.admin", "LANSING")
    data = await gql.ok(UPDATE_LIBRARY, {"input": {"code": "BASEHOR", "name": "Mine"}}, token=token)
    assert [e["code"] for e in _errors(data)] == ["FORBIDDEN"]
    data = await gql.ok(
        UPDATE_INSTITUTION, {"input": {"code": "NEKLS", "name": "Mine"}}, token=token
    )
    assert [e["code"] for e in _errors(data)] == ["FORBIDDEN"]
    assert await _rows(connection, "SELECT code, name FROM library ORDER BY code") == before
    assert (
        await _rows(connection, "SELECT code, name FROM institution ORDER BY code") == institutions
    )
    assert await audit_entries(connection, "update_library") == []


async def test_changes_are_checked_like_creations(gql: GraphQL) -> None:
    token = await gql.login("network.admin", "LANSING")
    data = await gql.ok(UPDATE_LIBRARY, {"input": {"code": "BASEHOR", "name": "  "}}, token=token)
    assert _errors(data) == [
        {"code": "MANDATORY_FIELD", "message": "A name is required.", "field": ["input", "name"]}
    ]
    data = await gql.ok(UPDATE_LIBRARY, {"input": {"code": "NOPE", "name": "X"}}, token=token)
    assert _errors(data) == [
        {"code": "NOT_FOUND", "message": "There is no library 'NOPE'.", "field": ["input", "code"]}
    ]
    data = await gql.ok(
        UPDATE_IDENTIFIER_TYPE, {"input": {"code": "BARCODE", "networkUnique": True}}, token=token
    )
    assert [e["field"] for e in _errors(data)] == [["input", "networkUnique"]]
    data = await gql.ok(
        UPDATE_IDENTIFIER_TYPE,
        {"input": {"code": "UNIV_ID", "name": "University card", "networkUnique": True}},
        token=token,
    )
    assert data["updateIdentifierType"]["identifierType"] == {
        "code": "UNIV_ID",
        "name": "University card",
        "networkUnique": True,
    }


async def test_system_admin_changes_its_own_set_up_only(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("nekls.admin", "LANSING")
    data = await gql.ok(
        UPDATE_USER_GROUP,
        {
            "input": {
                "institution": "NEKLS",
                "code": "ADULT",
                "name": "Adults",
                "loanPeriodDays": 28,
            }
        },
        token=token,
    )
    assert data["updateUserGroup"] == {
        "userGroup": {"code": "ADULT", "name": "Adults", "loanPeriodDays": 28},
        "errors": [],
    }
    data = await gql.ok(
        UPDATE_BLOCK_TYPE,
        {
            "input": {
                "institution": "NEKLS",
                "code": "LOST",
                "description": "Lost items",
                "blocksLoans": False,
            }
        },
        token=token,
    )
    assert data["updateBlockType"]["blockType"] == {
        "code": "LOST",
        "description": "Lost items",
        "network": False,
        "blocksLoans": False,
    }
    data = await gql.ok(
        UPDATE_BLOCK_TYPE,
        {"input": {"institution": "NEKLS", "code": "CONSORTIAL", "network": False}},
        token=token,
    )
    assert [e["field"] for e in _errors(data)] == [["input", "network"]]
    # Another institution's set-up stays out of reach.
    groups = await _rows(
        connection, "SELECT code, name, loan_period_days FROM user_group ORDER BY id"
    )
    data = await gql.ok(
        UPDATE_USER_GROUP,
        {"input": {"institution": "EASTERN", "code": "FACULTY", "loanPeriodDays": 365}},
        token=token,
    )
    assert [e["code"] for e in _errors(data)] == ["FORBIDDEN"]
    librarian = await gql.login("lansing.librarian", "LANSING")
    data = await gql.ok(
        UPDATE_USER_GROUP,
        {"input": {"institution": "NEKLS", "code": "ADULT", "loanPeriodDays": 365}},
        token=librarian,
    )
    assert [e["code"] for e in _errors(data)] == ["FORBIDDEN"]
    assert (
        await _rows(connection, "SELECT code, name, loan_period_days FROM user_group ORDER BY id")
        == groups
    )
    [entry] = await audit_entries(connection, "update_user_group")
    assert entry["changes"]["name"]["after"] == "Adults"
    assert entry["changes"]["loanPeriodDays"] == {"before": 21, "after": 28}


async def test_library_group_changed_by_id(gql: GraphQL, connection: AsyncConnection) -> None:
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    data = await gql.ok(
        '{ institution(code: "NORTHFIELD") { libraryGroups { id name } } }', token=token
    )
    [group] = data["institution"]["libraryGroups"]
    data = await gql.ok(
        UPDATE_LIBRARY_GROUP,
        {"input": {"id": group["id"], "name": "Teaching staff", "description": "Class sets"}},
        token=token,
    )
    assert data["updateLibraryGroup"] == {
        "libraryGroup": {"id": group["id"], "name": "Teaching staff", "description": "Class sets"},
        "errors": [],
    }
    other = await gql.login("nekls.admin", "LANSING")
    data = await gql.ok(
        UPDATE_LIBRARY_GROUP, {"input": {"id": group["id"], "name": "Ours"}}, token=other
    )
    assert [e["code"] for e in _errors(data)] == ["FORBIDDEN"]
    assert await _scalar(connection, "SELECT name FROM library_group") == "Teaching staff"


# --- Removals ------------------------------------------------------------------------------


async def test_a_user_group_in_use_is_refused_with_what_uses_it(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    adults = await _scalar(
        connection,
        "SELECT count(*) FROM patron p JOIN user_group g ON g.id = p.user_group_id "
        "JOIN institution i ON i.id = g.institution_id WHERE i.code = 'NEKLS' AND g.code = 'ADULT'",
    )
    assert adults > 0
    token = await gql.login("nekls.admin", "LANSING")
    data = await gql.ok(
        remove("UserGroup"), {"input": {"institution": "NEKLS", "code": "ADULT"}}, token=token
    )
    assert data["removeUserGroup"]["removedCode"] is None
    messages = [e["message"] for e in _errors(data)]
    assert f"{adults} patrons have the user group ADULT." in messages, messages
    assert {e["code"] for e in _errors(data)} == {"CONFLICT"}
    assert (
        await _scalar(
            connection,
            "SELECT count(*) FROM user_group g JOIN institution i ON i.id = g.institution_id "
            "WHERE i.code = 'NEKLS' AND g.code = 'ADULT'",
        )
        == 1
    )


async def test_a_user_group_is_removed_with_its_patrons_moved(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    ids = dict(
        await _rows(
            connection,
            "SELECT g.code, g.id FROM user_group g JOIN institution i ON i.id = g.institution_id "
            "WHERE i.code = 'NEKLS'",
        )
    )
    moved = await _rows(
        connection,
        "SELECT id, version FROM patron WHERE user_group_id = :g ORDER BY id",
        g=ids["JUVENILE"],
    )
    assert moved
    token = await gql.login("nekls.admin", "LANSING")
    data = await gql.ok(
        remove("UserGroup"),
        {"input": {"institution": "NEKLS", "code": "JUVENILE", "replaceWith": "ADULT"}},
        token=token,
    )
    assert data["removeUserGroup"] == {"removedCode": "JUVENILE", "removedId": None, "errors": []}
    after = await _rows(
        connection,
        "SELECT id, version, user_group_id FROM patron WHERE id IN ("
        + ",".join(str(i) for i, _ in moved)
        + ") ORDER BY id",
    )
    assert after == [(i, v + 1, ids["ADULT"]) for i, v in moved]
    assert (
        await _scalar(
            connection, "SELECT count(*) FROM user_group WHERE id = :g", g=ids["JUVENILE"]
        )
        == 0
    )
    [entry] = await audit_entries(connection, "remove_user_group")
    assert entry["changes"]["replacedBy"] == "ADULT"
    assert entry["changes"]["patronsMoved"] == len(moved)


async def test_a_restricted_groups_patrons_never_become_findable(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("nekls.admin", "LANSING")
    data = await gql.ok(
        """mutation { addRestrictedUserGroup(input: {institution: "NEKLS", userGroup: "JUVENILE"})
             { errors { code message } } }""",
        token=token,
    )
    assert data["addRestrictedUserGroup"]["errors"] == []
    before = await _rows(connection, "SELECT id, user_group_id, version FROM patron ORDER BY id")
    data = await gql.ok(
        remove("UserGroup"),
        {"input": {"institution": "NEKLS", "code": "JUVENILE", "replaceWith": "ADULT"}},
        token=token,
    )
    [error] = _errors(data)
    assert error["field"] == ["input", "replaceWith"]
    assert "would let other members find them" in error["message"]
    assert (
        await _rows(connection, "SELECT id, user_group_id, version FROM patron ORDER BY id")
        == before
    )


async def test_libraries_in_use_stay_and_a_replacement_moves_patrons_only(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("network.admin", "LANSING")
    data = await gql.ok(remove("Library"), {"input": {"code": "LANSING"}}, token=token)
    messages = " ".join(e["message"] for e in _errors(data))
    assert "have the library LANSING as their home library" in messages
    assert "may log in at LANSING: change their login libraries first" in messages
    assert "attribute types are limited to the library LANSING" in messages
    assert await _scalar(connection, "SELECT count(*) FROM library WHERE code = 'LANSING'") == 1
    # A library ordinary patrons call home: they move to the replacement, of the same
    # institution only.
    data = await gql.ok(
        'mutation { createLibrary(input: {institution: "NEKLS", code: "POP-UP", name: "Pop-up"})'
        " { errors { code } } }",
        token=token,
    )
    ids = dict(await _rows(connection, "SELECT code, id FROM library"))
    ordinary = [
        pid
        for (pid,) in await _rows(
            connection,
            "SELECT p.id FROM patron p WHERE p.home_library_id = :l AND NOT EXISTS ("
            "SELECT 1 FROM patron_system_group g WHERE g.patron_id = p.id "
            "AND g.system_group <> 'LIBRARY_USERS') ORDER BY p.id LIMIT 3",
            l=ids["BASEHOR"],
        )
    ]
    assert len(ordinary) == 3
    listed = ",".join(str(p) for p in ordinary)
    await connection.execute(
        text(f"UPDATE patron SET home_library_id = :l WHERE id IN ({listed})"),  # noqa: S608
        {"l": ids["POP-UP"]},
    )
    versions = await _rows(connection, f"SELECT id, version FROM patron WHERE id IN ({listed})")  # noqa: S608
    data = await gql.ok(
        remove("Library"),
        {"input": {"code": "POP-UP", "replaceWith": "EASTERN-MAIN"}},
        token=token,
    )
    assert [e["field"] for e in _errors(data)] == [["input", "replaceWith"]]
    data = await gql.ok(remove("Library"), {"input": {"code": "POP-UP"}}, token=token)
    assert [e["message"] for e in _errors(data)] == [
        "3 patrons have the library POP-UP as their home library."
    ]
    data = await gql.ok(
        remove("Library"),
        {"input": {"code": "POP-UP", "replaceWith": "TONGANOXIE"}},
        token=token,
    )
    assert data["removeLibrary"] == {"removedCode": "POP-UP", "removedId": None, "errors": []}
    assert await _rows(
        connection,
        f"SELECT id, version, home_library_id FROM patron WHERE id IN ({listed}) ORDER BY id",  # noqa: S608
    ) == [(pid, version + 1, ids["TONGANOXIE"]) for pid, version in sorted(versions)]
    [entry] = await audit_entries(connection, "remove_library")
    assert entry["changes"]["patronsMoved"] == 3
    assert entry["changes"]["replacedBy"] == "TONGANOXIE"


async def test_an_unused_library_goes_and_only_a_network_admin_removes_it(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    admin = await gql.login("network.admin", "LANSING")
    data = await gql.ok(
        'mutation { createLibrary(input: {institution: "NEKLS", code: "POP-UP", name: "Pop-up"})'
        " { errors { code } } }",
        token=admin,
    )
    assert data["createLibrary"]["errors"] == []
    system_admin = await gql.login("nekls.admin", "LANSING")
    data = await gql.ok(remove("Library"), {"input": {"code": "POP-UP"}}, token=system_admin)
    assert [e["code"] for e in _errors(data)] == ["FORBIDDEN"]
    assert await _scalar(connection, "SELECT count(*) FROM library WHERE code = 'POP-UP'") == 1
    data = await gql.ok(remove("Library"), {"input": {"code": "POP-UP"}}, token=admin)
    assert data["removeLibrary"] == {"removedCode": "POP-UP", "removedId": None, "errors": []}
    assert await _scalar(connection, "SELECT count(*) FROM library WHERE code = 'POP-UP'") == 0


async def test_identifier_types_in_use_or_last_of_a_list_stay(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("network.admin", "LANSING")
    data = await gql.ok(remove("IdentifierType"), {"input": {"code": "BARCODE"}}, token=token)
    assert [e["code"] for e in _errors(data)] == ["INVALID_INPUT"]
    data = await gql.ok(
        'mutation { createIdentifierType(input: {code: "LIB_CARD", name: "Card"}) '
        "{ errors { code } } }",
        token=token,
    )
    assert data["createIdentifierType"]["errors"] == []
    nekls = await gql.login("nekls.admin", "LANSING")
    data = await gql.ok(
        """mutation { addSearchableIdentifierType(input: {institution: "NEKLS",
             identifierType: "LIB_CARD"}) { errors { code } } }""",
        token=nekls,
    )
    listed = await _rows(
        connection, "SELECT institution_id, identifier_type_id FROM searchable_identifier_type"
    )
    only = await _scalar(
        connection,
        "SELECT count(*) FROM searchable_identifier_type s JOIN institution i "
        "ON i.id = s.institution_id WHERE i.code = 'NEKLS'",
    )
    data = await gql.ok(remove("IdentifierType"), {"input": {"code": "LIB_CARD"}}, token=token)
    if only == 1:
        [error] = _errors(data)
        assert "NEKLS lets other members find its patrons only by LIB_CARD" in error["message"]
        assert (
            await _rows(
                connection,
                "SELECT institution_id, identifier_type_id FROM searchable_identifier_type",
            )
            == listed
        )
        # An explicit choice empties the list; then the type can go.
        data = await gql.ok(
            """mutation { removeSearchableIdentifierType(input: {institution: "NEKLS",
                 identifierType: "LIB_CARD", allTypes: true}) { errors { code message } } }""",
            token=nekls,
        )
        assert data["removeSearchableIdentifierType"]["errors"] == []
        data = await gql.ok(remove("IdentifierType"), {"input": {"code": "LIB_CARD"}}, token=token)
    assert data["removeIdentifierType"]["removedCode"] == "LIB_CARD"
    assert (
        await _scalar(connection, "SELECT count(*) FROM identifier_type WHERE code = 'LIB_CARD'")
        == 0
    )


async def test_the_last_searchable_type_is_removed_only_on_purpose(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("nekls.admin", "LANSING")
    add = """mutation($t: String!) { addSearchableIdentifierType(input: {institution: "NEKLS",
               identifierType: $t}) { errors { code } } }"""
    drop = """mutation($t: String!, $all: Boolean) { removeSearchableIdentifierType(input: {
                institution: "NEKLS", identifierType: $t, allTypes: $all})
                { errors { code message field } } }"""
    await gql.ok(
        'mutation { removeSearchableIdentifierType(input: {institution: "NEKLS", '
        'identifierType: "UNIV_ID", allTypes: true}) { errors { code } } }',
        token=token,
    )
    for code in ("BARCODE", "UNIV_ID"):
        assert (await gql.ok(add, {"t": code}, token=token))["addSearchableIdentifierType"][
            "errors"
        ] == []
    data = await gql.ok(drop, {"t": "UNIV_ID"}, token=token)
    assert data["removeSearchableIdentifierType"]["errors"] == []
    count = (
        "SELECT count(*) FROM searchable_identifier_type s JOIN institution i ON i.id = "
        "s.institution_id WHERE i.code = 'NEKLS'"
    )
    assert await _scalar(connection, count) == 1
    data = await gql.ok(drop, {"t": "BARCODE"}, token=token)
    [error] = data["removeSearchableIdentifierType"]["errors"]
    assert error["code"] == "INVALID_INPUT"
    assert error["field"] == ["input", "allTypes"]
    assert await _scalar(connection, count) == 1
    data = await gql.ok(drop, {"t": "BARCODE", "all": True}, token=token)
    assert data["removeSearchableIdentifierType"]["errors"] == []
    assert await _scalar(connection, count) == 0


async def test_block_types_move_only_to_their_kind(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("nekls.admin", "LANSING")
    data = await gql.ok(
        remove("BlockType"), {"input": {"institution": "NEKLS", "code": "CONSORTIAL"}}, token=token
    )
    assert [e["code"] for e in _errors(data)] == ["INVALID_INPUT"]
    data = await gql.ok(
        remove("BlockType"),
        {"input": {"institution": "NEKLS", "code": "LOST", "replaceWith": "FINES"}},
        token=token,
    )
    assert [e["field"] for e in _errors(data)] == [["input", "replaceWith"]]
    ids = dict(
        await _rows(
            connection,
            "SELECT b.code, b.id FROM block_type b JOIN institution i ON i.id = b.institution_id "
            "WHERE i.code = 'NEKLS'",
        )
    )
    blocks = await _scalar(
        connection, "SELECT count(*) FROM patron_block WHERE block_type_id = :b", b=ids["LOST"]
    )
    data = await gql.ok(
        remove("BlockType"),
        {"input": {"institution": "NEKLS", "code": "LOST", "replaceWith": "CONDUCT"}},
        token=token,
    )
    assert data["removeBlockType"]["removedCode"] == "LOST", data
    assert (
        await _scalar(
            connection,
            "SELECT count(*) FROM patron_block WHERE block_type_id = :b",
            b=ids["CONDUCT"],
        )
        >= blocks
    )


async def test_an_institution_goes_only_when_empty(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("network.admin", "LANSING")
    data = await gql.ok(remove("Institution"), {"input": {"code": "NEKLS"}}, token=token)
    messages = " ".join(e["message"] for e in _errors(data))
    assert "NEKLS has 3 libraries: remove them first" in messages
    assert await _scalar(connection, "SELECT count(*) FROM institution WHERE code = 'NEKLS'") == 1
    data = await gql.ok(
        'mutation { createInstitution(input: {code: "SOUTHERN", name: "Southern"}) '
        "{ errors { code } } }",
        token=token,
    )
    nekls = await gql.login("nekls.admin", "LANSING")
    data = await gql.ok(remove("Institution"), {"input": {"code": "SOUTHERN"}}, token=nekls)
    assert [e["code"] for e in _errors(data)] == ["FORBIDDEN"]
    data = await gql.ok(remove("Institution"), {"input": {"code": "SOUTHERN"}}, token=token)
    assert data["removeInstitution"] == {"removedCode": "SOUTHERN", "removedId": None, "errors": []}
    assert (
        await _scalar(connection, "SELECT count(*) FROM institution WHERE code = 'SOUTHERN'") == 0
    )
    [entry] = await audit_entries(connection, "remove_institution")
    assert entry["changes"] == {"code": {"before": "SOUTHERN", "after": None}}


async def test_a_library_group_with_members_moves_them(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    data = await gql.ok(
        """mutation { createLibraryGroup(input: {institution: "NORTHFIELD", name: "Class sets"})
             { libraryGroup { id } errors { code } } }""",
        token=token,
    )
    target = data["createLibraryGroup"]["libraryGroup"]["id"]
    data = await gql.ok(
        '{ institution(code: "NORTHFIELD") { libraryGroups { id name } } }', token=token
    )
    [teachers] = [g for g in data["institution"]["libraryGroups"] if g["name"] == "Teachers"]
    members = await _scalar(
        connection,
        "SELECT count(*) FROM patron_library_group m JOIN library_group g "
        "ON g.id = m.library_group_id WHERE g.name = 'Teachers'",
    )
    data = await gql.ok(remove("LibraryGroup"), {"input": {"id": teachers["id"]}}, token=token)
    if members:
        assert f"{members} patrons are members of" in _errors(data)[0]["message"] or members == 1
        data = await gql.ok(
            remove("LibraryGroup"),
            {"input": {"id": teachers["id"], "replaceWith": target}},
            token=token,
        )
    assert data["removeLibraryGroup"]["removedId"] == teachers["id"], data
    assert (
        await _scalar(
            connection,
            "SELECT count(*) FROM patron_library_group m JOIN library_group g "
            "ON g.id = m.library_group_id WHERE g.name = 'Class sets'",
        )
        == members
    )


EASTERN_RULE = """mutation($conditions: [RuleConditionInput!]!) {
  createLinkedAccountRule(input: {
    institution: "EASTERN", name: "Young readers", conditions: $conditions,
    userGroup: "VISITOR", expiry: {mode: NONE}, purge: {mode: NONE},
    refreshExpiryDate: false, refreshPurgeDate: false, copyNetworkBlocks: false
  }) { rule { id } errors { code message } }
}"""


async def test_other_members_rules_that_name_it_keep_a_group_or_an_institution(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    eastern = await gql.login("eastern.admin", "EASTERN-MAIN")
    data = await gql.ok(
        EASTERN_RULE,
        {
            "conditions": [
                {"parameter": "SOURCE_INSTITUTION", "operator": "EQUALS", "values": ["NEKLS"]},
                {"parameter": "SOURCE_USER_GROUP", "operator": "IN_LIST", "values": ["JUVENILE"]},
            ]
        },
        token=eastern,
    )
    assert data["createLinkedAccountRule"]["errors"] == []
    groups = await _rows(connection, "SELECT id, code FROM user_group ORDER BY id")
    patrons = await _rows(connection, "SELECT id, user_group_id, version FROM patron ORDER BY id")
    nekls = await gql.login("nekls.admin", "LANSING")
    data = await gql.ok(
        remove("UserGroup"),
        {"input": {"institution": "NEKLS", "code": "JUVENILE", "replaceWith": "ADULT"}},
        token=nekls,
    )
    assert [e["message"] for e in _errors(data)] == [
        "The linked account rule 'Young readers' of EASTERN matches source user group "
        "JUVENILE, and no other institution it matches has that group: change its "
        "conditions first."
    ]
    assert await _rows(connection, "SELECT id, code FROM user_group ORDER BY id") == groups
    assert (
        await _rows(connection, "SELECT id, user_group_id, version FROM patron ORDER BY id")
        == patrons
    )
    # The institution a rule names is kept too (among the other reasons it stays)
    network = await gql.login("network.admin", "LANSING")
    data = await gql.ok(remove("Institution"), {"input": {"code": "NEKLS"}}, token=network)
    assert (
        "The linked account rule 'Young readers' of EASTERN matches source institution "
        "NEKLS: change its conditions first."
    ) in [e["message"] for e in _errors(data)]
