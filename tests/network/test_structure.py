"""Network structure (NETWORK_ADMIN) and institution set-up (SYSTEM_ADMIN), through the API."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.graphql import GraphQL
from tests.support.network import audit_entries

NETWORK = """{
  network {
    name
    institutions {
      code
      libraries { code }
      userGroups { code }
      libraryGroups { name }
      blockTypes { code network }
      settings { networkSearchByName emailServiceEnabled }
    }
    identifierTypes { code networkUnique }
  }
}"""

DEMO_BLOCK_TYPES = [
    {"code": "CONDUCT", "network": False},
    {"code": "CONSORTIAL", "network": True},
    {"code": "FINES", "network": True},
    {"code": "LOST", "network": False},
]
DEFAULT_SETTINGS = {"networkSearchByName": False, "emailServiceEnabled": True}


def _codes(*codes: str) -> list[dict[str, str]]:
    return [{"code": c} for c in codes]


DEMO_NETWORK = {
    "name": "Kansas Library Network (demo)",
    "institutions": [
        {
            "code": "EASTERN",
            "libraries": _codes("EASTERN-LAW", "EASTERN-MAIN"),
            "userGroups": _codes("FACULTY", "GRAD", "UNDERGRAD", "VISITOR", "WALKIN"),
            "libraryGroups": [],
            "blockTypes": DEMO_BLOCK_TYPES,
            # EASTERN lets other members find its patrons by name.
            "settings": {"networkSearchByName": True, "emailServiceEnabled": True},
        },
        {
            "code": "NEKLS",
            "libraries": _codes("BASEHOR", "LANSING", "TONGANOXIE"),
            "userGroups": _codes("ADULT", "ILL", "JUVENILE", "STAFF", "STATISTIC"),
            "libraryGroups": [],
            "blockTypes": DEMO_BLOCK_TYPES,
            "settings": DEFAULT_SETTINGS,
        },
        {
            "code": "NORTHFIELD",
            "libraries": _codes("NORTHFIELD-MAIN"),
            "userGroups": _codes("STAFF", "STUDENT"),
            "libraryGroups": [{"name": "Teachers"}],
            "blockTypes": DEMO_BLOCK_TYPES,
            "settings": DEFAULT_SETTINGS,
        },
        {
            "code": "WESTERN",
            "libraries": _codes("WESTERN-MAIN"),
            "userGroups": _codes("COMMUNITY", "FACULTY", "STUDENT", "WALKIN"),
            "libraryGroups": [],
            "blockTypes": DEMO_BLOCK_TYPES,
            "settings": DEFAULT_SETTINGS,
        },
    ],
    "identifierTypes": [
        {"code": "ADMIN_SYSTEM_ID", "networkUnique": False},
        {"code": "BARCODE", "networkUnique": False},
        {"code": "CONSORTIAL_ID", "networkUnique": True},
        {"code": "UNIV_ID", "networkUnique": False},
    ],
}

CREATE_INSTITUTION = """mutation($code: String!, $name: String!) {
  createInstitution(input: {code: $code, name: $name}) {
    institution { id code name libraries { code } userGroups { code }
                  blockTypes { code description network blocksLoans }
                  settings { networkSearchByName emailServiceEnabled } }
    errors { code message field }
  }
}"""

CREATE_LIBRARY = """mutation($institution: String!, $code: String!, $name: String!) {
  createLibrary(input: {institution: $institution, code: $code, name: $name}) {
    library { id code name institution { code } }
    errors { code message field }
  }
}"""

CREATE_IDENTIFIER_TYPE = """mutation($code: String!, $name: String!, $unique: Boolean!) {
  createIdentifierType(input: {code: $code, name: $name, networkUnique: $unique}) {
    identifierType { code name networkUnique }
    errors { code message field }
  }
}"""

CREATE_USER_GROUP = """mutation($institution: String!, $code: String!, $name: String!,
                                 $days: Int! = 14) {
  createUserGroup(input: {institution: $institution, code: $code, name: $name,
                          loanPeriodDays: $days}) {
    userGroup { id code name loanPeriodDays }
    errors { code message field }
  }
}"""

CREATE_LIBRARY_GROUP = """mutation($institution: String!, $name: String!, $description: String) {
  createLibraryGroup(input: {institution: $institution, name: $name, description: $description}) {
    libraryGroup { id name description }
    errors { code message field }
  }
}"""

CREATE_BLOCK_TYPE = """mutation($institution: String!, $code: String!, $description: String!,
                                 $network: Boolean!) {
  createBlockType(input: {institution: $institution, code: $code, description: $description,
                          network: $network}) {
    blockType { code description network blocksLoans }
    errors { code message field }
  }
}"""


async def _network(gql: GraphQL, token: str) -> dict[str, Any]:
    data = await gql.ok(NETWORK, token=token)
    network: dict[str, Any] = data["network"]
    return network


async def _id_of(connection: AsyncConnection, table: str, where: str, **params: Any) -> int:
    result = await connection.execute(text(f"SELECT id FROM {table} WHERE {where}"), params)  # noqa: S608
    return int(result.scalar_one())


def _payload(data: dict[str, Any]) -> dict[str, Any]:
    [payload] = data.values()
    result: dict[str, Any] = payload
    return result


async def test_the_demo_network_exactly(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    assert await _network(gql, token) == DEMO_NETWORK


async def test_network_needs_a_session(gql: GraphQL) -> None:
    body = await gql(NETWORK)
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_network_admin_creates_an_institution_with_a_consortial_block_type(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("network.admin", "LANSING")
    data = await gql.ok(
        CREATE_INSTITUTION, {"code": " southern ", "name": " Southern College "}, token=token
    )
    payload = data["createInstitution"]
    assert payload["errors"] == []
    institution = payload["institution"]
    assert {k: v for k, v in institution.items() if k != "id"} == {
        "code": "SOUTHERN",
        "name": "Southern College",
        "libraries": [],
        "userGroups": [],
        "blockTypes": [
            {
                "code": "CONSORTIAL",
                "description": "Block copied from the patron's home institution",
                "network": True,
                "blocksLoans": True,
            }
        ],
        "settings": DEFAULT_SETTINGS,
    }
    network = await _network(gql, token)
    assert [i["code"] for i in network["institutions"]] == [
        "EASTERN",
        "NEKLS",
        "NORTHFIELD",
        "SOUTHERN",
        "WESTERN",
    ]
    found = await gql.ok('{ institution(code: "Southern") { id code name } }', token=token)
    assert found["institution"] == {
        "id": institution["id"],
        "code": "SOUTHERN",
        "name": "Southern College",
    }

    pk = await _id_of(connection, "institution", "code = 'SOUTHERN'")
    library_id = await _id_of(connection, "library", "code = 'LANSING'")
    assert await audit_entries(connection, "create_institution") == [
        {
            "actor_name": "network.admin",
            "action": "create_institution",
            "entity_type": "Institution",
            "entity_id": pk,
            "institution_id": pk,
            "library_id": library_id,
            "changes": {
                "code": {"before": None, "after": "SOUTHERN"},
                "name": {"before": None, "after": "Southern College"},
            },
        },
    ]


async def test_network_admin_creates_libraries_and_identifier_types(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("network.admin", "LANSING")
    data = await gql.ok(
        CREATE_LIBRARY,
        {"institution": "eastern", "code": "eastern-music", "name": "Music Library"},
        token=token,
    )
    assert data["createLibrary"]["errors"] == []
    library = data["createLibrary"]["library"]
    assert {k: v for k, v in library.items() if k != "id"} == {
        "code": "EASTERN-MUSIC",
        "name": "Music Library",
        "institution": {"code": "EASTERN"},
    }
    data = await gql.ok(
        CREATE_IDENTIFIER_TYPE,
        {"code": "state_id", "name": "State ID", "unique": True},
        token=token,
    )
    assert data["createIdentifierType"] == {
        "identifierType": {"code": "STATE_ID", "name": "State ID", "networkUnique": True},
        "errors": [],
    }
    network = await _network(gql, token)
    eastern = next(i for i in network["institutions"] if i["code"] == "EASTERN")
    assert eastern["libraries"] == _codes("EASTERN-LAW", "EASTERN-MAIN", "EASTERN-MUSIC")
    assert {"code": "STATE_ID", "networkUnique": True} in network["identifierTypes"]

    library_pk = await _id_of(connection, "library", "code = 'EASTERN-MUSIC'")
    eastern_pk = await _id_of(connection, "institution", "code = 'EASTERN'")
    [entry] = await audit_entries(connection, "create_library")
    assert (
        entry["actor_name"],
        entry["entity_type"],
        entry["entity_id"],
        entry["institution_id"],
    ) == (
        "network.admin",
        "Library",
        library_pk,
        eastern_pk,
    )
    assert entry["changes"] == {
        "code": {"before": None, "after": "EASTERN-MUSIC"},
        "name": {"before": None, "after": "Music Library"},
    }
    type_pk = await _id_of(connection, "identifier_type", "code = 'STATE_ID'")
    created_types = [
        e
        for e in await audit_entries(connection, "create_identifier_type")
        if e["entity_id"] == type_pk
    ]
    assert [
        (e["actor_name"], e["entity_type"], e["institution_id"], e["changes"])
        for e in created_types
    ] == [
        (
            "network.admin",
            "IdentifierType",
            None,
            {
                "code": {"before": None, "after": "STATE_ID"},
                "networkUnique": {"before": None, "after": True},
            },
        ),
    ]


async def test_system_admin_sets_up_their_own_institution(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("nekls.admin", "BASEHOR")
    group = _payload(
        await gql.ok(
            CREATE_USER_GROUP,
            {"institution": "NEKLS", "code": "senior", "name": "Senior", "days": 28},
            token=token,
        )
    )
    assert group["errors"] == []
    assert {k: v for k, v in group["userGroup"].items() if k != "id"} == {
        "code": "SENIOR",
        "name": "Senior",
        "loanPeriodDays": 28,
    }
    library_group = _payload(
        await gql.ok(
            CREATE_LIBRARY_GROUP,
            {
                "institution": "NEKLS",
                "name": " Homebound ",
                "description": "  Delivered by volunteers ",
            },
            token=token,
        )
    )
    assert library_group["errors"] == []
    assert {k: v for k, v in library_group["libraryGroup"].items() if k != "id"} == {
        "name": "Homebound",
        "description": "Delivered by volunteers",
    }
    block_type = _payload(
        await gql.ok(
            CREATE_BLOCK_TYPE,
            {
                "institution": "NEKLS",
                "code": "damaged",
                "description": "Damaged items",
                "network": False,
            },
            token=token,
        )
    )
    assert block_type == {
        "blockType": {
            "code": "DAMAGED",
            "description": "Damaged items",
            "network": False,
            "blocksLoans": True,
        },
        "errors": [],
    }

    nekls = next(i for i in (await _network(gql, token))["institutions"] if i["code"] == "NEKLS")
    assert nekls["userGroups"] == _codes("ADULT", "ILL", "JUVENILE", "SENIOR", "STAFF", "STATISTIC")
    assert nekls["libraryGroups"] == [{"name": "Homebound"}]
    assert nekls["blockTypes"] == [
        {"code": "CONDUCT", "network": False},
        {"code": "CONSORTIAL", "network": True},
        {"code": "DAMAGED", "network": False},
        {"code": "FINES", "network": True},
        {"code": "LOST", "network": False},
    ]

    nekls_pk = await _id_of(connection, "institution", "code = 'NEKLS'")
    basehor = await _id_of(connection, "library", "code = 'BASEHOR'")
    expected = {
        "create_user_group": (
            "UserGroup",
            await _id_of(connection, "user_group", "code = 'SENIOR'"),
            {
                "code": {"before": None, "after": "SENIOR"},
                "name": {"before": None, "after": "Senior"},
            },
        ),
        "create_library_group": (
            "LibraryGroup",
            await _id_of(connection, "library_group", "name = 'Homebound'"),
            {"name": {"before": None, "after": "Homebound"}},
        ),
        "create_block_type": (
            "BlockType",
            await _id_of(connection, "block_type", "code = 'DAMAGED'"),
            {
                "code": {"before": None, "after": "DAMAGED"},
                "network": {"before": None, "after": False},
            },
        ),
    }
    for action, (entity_type, entity_id, changes) in expected.items():
        assert await audit_entries(connection, action) == [
            {
                "actor_name": "nekls.admin",
                "action": action,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "institution_id": nekls_pk,
                "library_id": basehor,
                "changes": changes,
            }
        ]


@pytest.mark.parametrize(
    ("mutation", "variables"),
    [
        (CREATE_USER_GROUP, {"institution": "EASTERN", "code": "ALUMNI", "name": "Alumni"}),
        (CREATE_LIBRARY_GROUP, {"institution": "EASTERN", "name": "Alumni"}),
        (
            CREATE_BLOCK_TYPE,
            {"institution": "EASTERN", "code": "ALUMNI", "description": "Alumni", "network": False},
        ),
    ],
    ids=["userGroup", "libraryGroup", "blockType"],
)
async def test_system_admin_cannot_set_up_another_institution(
    gql: GraphQL, mutation: str, variables: dict[str, Any]
) -> None:
    token = await gql.login("nekls.admin", "LANSING")
    before = await _network(gql, token)
    payload = _payload(await gql.ok(mutation, variables, token=token))
    assert payload["errors"][0]["code"] == "FORBIDDEN"
    assert payload["errors"][0]["message"].startswith(
        "Only a system administrator of EASTERN may add "
    )
    assert [v for k, v in payload.items() if k != "errors"] == [None]
    assert await _network(gql, token) == before


STRUCTURE_CALLS = [
    (
        CREATE_INSTITUTION,
        {"code": "SOUTHERN", "name": "Southern College"},
        "Only a network administrator may add institutions.",
    ),
    (
        CREATE_LIBRARY,
        {"institution": "NEKLS", "code": "PERRY", "name": "Perry Library"},
        "Only a network administrator may add libraries.",
    ),
    (
        CREATE_IDENTIFIER_TYPE,
        {"code": "STATE_ID", "name": "State ID", "unique": False},
        "Only a network administrator may add identifier types.",
    ),
]
SETUP_CALLS = [
    (
        CREATE_USER_GROUP,
        {"institution": "{i}", "code": "SENIOR", "name": "Senior"},
        "Only a system administrator of {i} may add user groups.",
    ),
    (
        CREATE_LIBRARY_GROUP,
        {"institution": "{i}", "name": "Homebound"},
        "Only a system administrator of {i} may add library groups.",
    ),
    (
        CREATE_BLOCK_TYPE,
        {"institution": "{i}", "code": "DAMAGED", "description": "Damaged", "network": False},
        "Only a system administrator of {i} may add block types.",
    ),
]


@pytest.mark.parametrize(
    ("username", "library", "institution"),
    [
        ("lansing.librarian", "LANSING", "NEKLS"),
        ("eastern.circ", "EASTERN-MAIN", "EASTERN"),
        ("network.admin", "LANSING", "NEKLS"),
        ("nekls.admin", "LANSING", "NEKLS"),
    ],
)
async def test_roles_without_the_power_get_forbidden_and_nothing_changes(
    gql: GraphQL, connection: AsyncConnection, username: str, library: str, institution: str
) -> None:
    token = await gql.login(username, library)
    before = await _network(gql, token)
    audit_before = (await connection.execute(text("SELECT count(*) FROM audit_entry"))).scalar_one()
    calls = []
    if username != "network.admin":
        calls += STRUCTURE_CALLS
    if username != "nekls.admin":
        calls += [
            (
                m,
                {
                    k: (v.format(i=institution) if isinstance(v, str) else v)
                    for k, v in variables.items()
                },
                message.format(i=institution),
            )
            for m, variables, message in SETUP_CALLS
        ]
    for mutation, variables, message in calls:
        payload = _payload(await gql.ok(mutation, variables, token=token))
        assert payload["errors"] == [{"code": "FORBIDDEN", "message": message, "field": None}], (
            mutation
        )
    assert await _network(gql, token) == before
    audit_after = (await connection.execute(text("SELECT count(*) FROM audit_entry"))).scalar_one()
    assert audit_after == audit_before


async def test_anonymous_callers_are_unauthenticated(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    for mutation, variables, _ in STRUCTURE_CALLS:
        body = await gql(mutation, variables)
        assert body["data"] is None
        assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    institutions = await connection.execute(text("SELECT count(*) FROM institution"))
    assert institutions.scalar_one() == 4


async def test_duplicates_conflict_with_the_field_path(gql: GraphQL) -> None:
    network_admin = await gql.login("network.admin", "LANSING")
    admin = await gql.login("nekls.admin", "LANSING")
    before = await _network(gql, admin)
    cases = [
        (
            network_admin,
            CREATE_INSTITUTION,
            {"code": "nekls", "name": "Again"},
            "An institution with the code NEKLS exists.",
            ["input", "code"],
        ),
        # Library codes are unique in the whole network, not only in the institution.
        (
            network_admin,
            CREATE_LIBRARY,
            {"institution": "EASTERN", "code": "Lansing", "name": "Again"},
            "A library with the code LANSING exists.",
            ["input", "code"],
        ),
        (
            network_admin,
            CREATE_IDENTIFIER_TYPE,
            {"code": "barcode", "name": "Again", "unique": False},
            "An identifier type BARCODE exists.",
            ["input", "code"],
        ),
        (
            admin,
            CREATE_USER_GROUP,
            {"institution": "NEKLS", "code": "adult", "name": "Again"},
            "NEKLS already has a user group ADULT.",
            ["input", "code"],
        ),
        (
            admin,
            CREATE_BLOCK_TYPE,
            {
                "institution": "NEKLS",
                "code": "consortial",
                "description": "Again",
                "network": False,
            },
            "NEKLS already has a block type CONSORTIAL.",
            ["input", "code"],
        ),
    ]
    for token, mutation, variables, message, field in cases:
        payload = _payload(await gql.ok(mutation, variables, token=token))
        assert payload["errors"] == [{"code": "CONFLICT", "message": message, "field": field}], (
            variables
        )
    # A library group name is unique per institution.
    first = _payload(
        await gql.ok(CREATE_LIBRARY_GROUP, {"institution": "NEKLS", "name": "Readers"}, token=admin)
    )
    assert first["errors"] == []
    again = _payload(
        await gql.ok(CREATE_LIBRARY_GROUP, {"institution": "NEKLS", "name": "Readers"}, token=admin)
    )
    assert again == {
        "libraryGroup": None,
        "errors": [
            {
                "code": "CONFLICT",
                "message": "NEKLS already has a library group 'Readers'.",
                "field": ["input", "name"],
            }
        ],
    }
    after = await _network(gql, admin)
    nekls = next(i for i in after["institutions"] if i["code"] == "NEKLS")
    assert nekls["libraryGroups"] == [{"name": "Readers"}]
    nekls["libraryGroups"] = []
    assert after == before
    # The same codes are fine in another institution.
    user_group = _payload(
        await gql.ok(
            CREATE_USER_GROUP,
            {"institution": "NORTHFIELD", "code": "ADULT", "name": "Adult"},
            token=await gql.login("northfield.admin", "NORTHFIELD-MAIN"),
        )
    )
    assert user_group["errors"] == []


BAD_CODE = "Codes are 1 to 40 letters, digits, '-' or '_'."


@pytest.mark.parametrize(
    "code", ["", "   ", "two words", "semi;colon", "x" * 41, "L\u00c5NSING", "caf\u00e9", "\u00b2"]
)
async def test_bad_codes_are_invalid_input(gql: GraphQL, code: str) -> None:
    network_admin = await gql.login("network.admin", "LANSING")
    admin = await gql.login("nekls.admin", "LANSING")
    before = await _network(gql, admin)
    cases = [
        (network_admin, CREATE_INSTITUTION, {"code": code, "name": "Name"}),
        (network_admin, CREATE_LIBRARY, {"institution": "NEKLS", "code": code, "name": "Name"}),
        (network_admin, CREATE_IDENTIFIER_TYPE, {"code": code, "name": "Name", "unique": False}),
        (admin, CREATE_USER_GROUP, {"institution": "NEKLS", "code": code, "name": "Name"}),
        (
            admin,
            CREATE_BLOCK_TYPE,
            {"institution": "NEKLS", "code": code, "description": "Name", "network": False},
        ),
    ]
    for token, mutation, variables in cases:
        payload = _payload(await gql.ok(mutation, variables, token=token))
        assert payload["errors"] == [
            {"code": "INVALID_INPUT", "message": BAD_CODE, "field": ["input", "code"]}
        ]
    assert await _network(gql, admin) == before


async def test_names_and_other_fields_are_checked(gql: GraphQL) -> None:
    network_admin = await gql.login("network.admin", "LANSING")
    admin = await gql.login("nekls.admin", "LANSING")
    before = await _network(gql, admin)
    payload = _payload(
        await gql.ok(CREATE_INSTITUTION, {"code": "bad code", "name": "  "}, token=network_admin)
    )
    assert payload["errors"] == [
        {"code": "INVALID_INPUT", "message": BAD_CODE, "field": ["input", "code"]},
        {"code": "MANDATORY_FIELD", "message": "A name is required.", "field": ["input", "name"]},
    ]
    payload = _payload(
        await gql.ok(
            CREATE_LIBRARY,
            {"institution": "NEKLS", "code": "OK", "name": "n" * 201},
            token=network_admin,
        )
    )
    assert payload["errors"] == [
        {
            "code": "INVALID_INPUT",
            "message": "Names are at most 200 characters.",
            "field": ["input", "name"],
        }
    ]
    payload = _payload(
        await gql.ok(
            CREATE_USER_GROUP,
            {"institution": "NEKLS", "code": "OK", "name": "Ok", "days": 0},
            token=admin,
        )
    )
    assert payload["errors"] == [
        {
            "code": "INVALID_INPUT",
            "message": "The loan period is 1 to 3650 days.",
            "field": ["input", "loanPeriodDays"],
        }
    ]
    payload = _payload(
        await gql.ok(
            CREATE_LIBRARY_GROUP,
            {"institution": "NEKLS", "name": "Ok", "description": "d" * 1001},
            token=admin,
        )
    )
    assert payload["errors"] == [
        {
            "code": "INVALID_INPUT",
            "message": "Descriptions are at most 1000 characters.",
            "field": ["input", "description"],
        }
    ]
    payload = _payload(
        await gql.ok(
            CREATE_BLOCK_TYPE,
            {"institution": "NEKLS", "code": "OK", "description": "d" * 501, "network": False},
            token=admin,
        )
    )
    assert payload["errors"] == [
        {
            "code": "INVALID_INPUT",
            "message": "Descriptions are at most 500 characters.",
            "field": ["input", "description"],
        }
    ]
    for token, mutation, variables in (
        (network_admin, CREATE_LIBRARY, {"institution": "NOWHERE", "code": "OK", "name": "Ok"}),
        (admin, CREATE_USER_GROUP, {"institution": "NOWHERE", "code": "OK", "name": "Ok"}),
        (admin, CREATE_LIBRARY_GROUP, {"institution": "NOWHERE", "name": "Ok"}),
        (
            admin,
            CREATE_BLOCK_TYPE,
            {"institution": "NOWHERE", "code": "OK", "description": "Ok", "network": False},
        ),
    ):
        payload = _payload(await gql.ok(mutation, variables, token=token))
        assert payload["errors"] == [
            {
                "code": "NOT_FOUND",
                "message": "There is no institution with the code 'NOWHERE'.",
                "field": ["input", "institution"],
            }
        ]
    assert await _network(gql, admin) == before
