"""API clients: created by system administrators (GraphQL and CLI), scoped to one institution."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.tokens import authenticate
from app.db import Database
from app.graphql.ids import encode_id
from tests.support.cli import run_cli
from tests.support.graphql import GraphQL

CREATE = """mutation($institution: String!, $name: String!, $scopes: [String!]!, $library: String) {
  createApiClient(input: {institution: $institution, name: $name, scopes: $scopes,
                          library: $library}) {
    client { name institutionCode scopes createdAt }
    secret
    errors { code message field }
  }
}"""

VIEWER = "{ viewer { institution { code } library { code } scopes systemGroups patron { id } } }"

PATRONS = """query($i: String!) {
  patrons(institution: $i, first: 5) {
    totalCount edges { node { id surname institution { code } } }
  }
}"""


async def _create(gql: GraphQL, token: str, **variables: Any) -> dict[str, Any]:
    data = await gql.ok(
        CREATE,
        {"institution": "NEKLS", "name": "Discovery", "scopes": [], **variables},
        token=token,
    )
    payload: dict[str, Any] = data["createApiClient"]
    return payload


async def _clients(connection: AsyncConnection) -> list[dict[str, Any]]:
    """The API clients a test created (the demo network's own clients left out)."""
    rows = await connection.execute(
        text(
            "SELECT name, institution_id, library_id, token_hash, scopes, enabled "
            "FROM api_client WHERE name NOT LIKE '% discovery layer' ORDER BY id"
        )
    )
    clients = [dict(r._mapping) for r in rows]
    for client in clients:
        if isinstance(client["scopes"], str):
            client["scopes"] = json.loads(client["scopes"])
    return clients


async def _patron_count(connection: AsyncConnection, institution: str) -> int:
    result = await connection.execute(
        text(
            "SELECT count(*) FROM patron "
            "JOIN institution ON institution.id = patron.institution_id "
            "WHERE institution.code = :code"
        ),
        {"code": institution},
    )
    return int(result.scalar_one())


async def test_system_admin_creates_a_client_and_sees_the_secret_once(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    token = await gql.login("nekls.admin", "LANSING")
    payload = await _create(
        gql,
        token,
        name="  Discovery layer ",
        scopes=["patron_read", "linking", "patron_read"],
        library="basehor",
    )
    assert payload["errors"] == []
    secret = payload["secret"]
    assert secret.startswith("nzc_")
    assert len(secret) > 40
    client = payload["client"]
    assert {k: v for k, v in client.items() if k != "createdAt"} == {
        "name": "Discovery layer",
        "institutionCode": "NEKLS",
        "scopes": ["linking", "patron_read"],
    }
    [stored] = await _clients(connection)
    # Only the hash is stored.
    assert stored["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps({k: str(v) for k, v in stored.items()})
    assert stored["scopes"] == ["linking", "patron_read"]
    audit = await connection.execute(
        text(
            "SELECT actor_name, entity_type, changes FROM audit_entry "
            "WHERE action = 'create_api_client' AND actor_name <> 'demo'"
        )
    )
    [(actor, entity_type, changes)] = audit.all()
    changes = json.loads(changes) if isinstance(changes, str) else changes
    assert (actor, entity_type) == ("nekls.admin", "ApiClient")
    assert changes == {
        "name": {"before": None, "after": "Discovery layer"},
        "scopes": {"before": None, "after": ["linking", "patron_read"]},
    }
    assert secret not in json.dumps(changes)

    viewer = await gql.ok(VIEWER, token=secret)
    assert viewer["viewer"] == {
        "institution": {"code": "NEKLS"},
        "library": {"code": "BASEHOR"},
        "scopes": ["linking", "patron_read"],
        "systemGroups": [],
        "patron": None,
    }


async def test_client_with_patron_read_reads_its_own_institutions_patrons(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    secret = (await _create(gql, admin, scopes=["patron_read"]))["secret"]
    viewer = await gql.ok(VIEWER, token=secret)
    assert viewer["viewer"] == {
        "institution": {"code": "NEKLS"},
        "library": None,
        "scopes": ["patron_read"],
        "systemGroups": [],
        "patron": None,
    }
    data = await gql.ok(PATRONS, {"i": "NEKLS"}, token=secret)
    staff_view = await gql.ok(PATRONS, {"i": "NEKLS"}, token=admin)
    assert data == staff_view
    assert data["patrons"]["totalCount"] == await _patron_count(connection, "NEKLS")
    assert len(data["patrons"]["edges"]) == 5
    assert {e["node"]["institution"]["code"] for e in data["patrons"]["edges"]} == {"NEKLS"}
    patron_id = data["patrons"]["edges"][0]["node"]["id"]
    node = await gql.ok("query($id: ID!) { node(id: $id) { id } }", {"id": patron_id}, token=secret)
    assert node["node"] == {"id": patron_id}

    # Another institution's patrons do not exist for it.
    eastern = await gql.ok(PATRONS, {"i": "EASTERN"}, token=secret)
    assert eastern["patrons"] == {"totalCount": 0, "edges": []}
    eastern_admin = await gql.login("eastern.admin", "EASTERN-MAIN")
    eastern_id = (await gql.ok(PATRONS, {"i": "EASTERN"}, token=eastern_admin))["patrons"]["edges"][
        0
    ]["node"]["id"]
    node = await gql.ok(
        "query($id: ID!) { node(id: $id) { id } }", {"id": eastern_id}, token=secret
    )
    assert node["node"] is None


async def test_client_without_the_scope_sees_nothing(gql: GraphQL) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    patron_id = (await gql.ok(PATRONS, {"i": "NEKLS"}, token=admin))["patrons"]["edges"][0]["node"][
        "id"
    ]
    for scopes in ([], ["linking", "email", "attribute:KANOPY_LANSING"]):
        secret = (await _create(gql, admin, scopes=scopes, library="LANSING"))["secret"]
        data = await gql.ok(PATRONS, {"i": "NEKLS"}, token=secret)
        assert data["patrons"] == {"totalCount": 0, "edges": []}, scopes
        node = await gql.ok(
            "query($id: ID!) { node(id: $id) { id } }", {"id": patron_id}, token=secret
        )
        assert node["node"] is None


async def test_a_client_cannot_change_anything(gql: GraphQL, connection: AsyncConnection) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    secret = (await _create(gql, admin, scopes=["patron_read"]))["secret"]
    before = await _clients(connection)
    payload = await _create(gql, secret, name="Sneaky", scopes=["patron_read"])
    assert payload == {
        "client": None,
        "secret": None,
        "errors": [
            {
                "code": "FORBIDDEN",
                "message": "Only a system administrator of the institution may create API clients.",
                "field": None,
            }
        ],
    }
    data = await gql.ok(
        'mutation { createUserGroup(input: {institution: "NEKLS", code: "X", name: "X"}) '
        "{ errors { code } } }",
        token=secret,
    )
    assert data["createUserGroup"]["errors"] == [{"code": "FORBIDDEN"}]
    assert await _clients(connection) == before


async def test_disabled_client_is_anonymous(gql: GraphQL, connection: AsyncConnection) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    secret = (await _create(gql, admin, scopes=["patron_read"]))["secret"]
    await connection.execute(text("UPDATE api_client SET enabled = :off"), {"off": False})
    viewer = await gql.ok(VIEWER, token=secret)
    assert viewer["viewer"] == {
        "institution": None,
        "library": None,
        "scopes": [],
        "systemGroups": [],
        "patron": None,
    }
    body = await gql(PATRONS, {"i": "NEKLS"}, token=secret)
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_invalid_input_names_the_field_and_creates_nothing(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    payload = await _create(
        gql,
        admin,
        name=" ",
        scopes=["patron_read", "read_everything", "attribute:"],
        library="EASTERN-MAIN",
    )
    known = "patron_read, linking, patron_auth, email"
    assert payload == {
        "client": None,
        "secret": None,
        "errors": [
            {
                "code": "MANDATORY_FIELD",
                "message": "Give the client a name.",
                "field": ["input", "name"],
            },
            {
                "code": "INVALID_INPUT",
                "message": f"Unknown scope 'read_everything'; use one of {known} or "
                "attribute:<CODE>.",
                "field": ["input", "scopes", "1"],
            },
            {
                "code": "INVALID_INPUT",
                "message": f"Unknown scope 'attribute:'; use one of {known} or attribute:<CODE>.",
                "field": ["input", "scopes", "2"],
            },
            {
                "code": "INVALID_INPUT",
                "message": "'EASTERN-MAIN' is not a library of NEKLS.",
                "field": ["input", "library"],
            },
        ],
    }
    payload = await _create(gql, admin, institution="NOWHERE", scopes=["patron_read"])
    assert payload["errors"] == [
        {
            "code": "NOT_FOUND",
            "message": "There is no institution with the code 'NOWHERE'.",
            "field": ["input", "institution"],
        }
    ]
    assert await _clients(connection) == []


@pytest.mark.parametrize(
    ("username", "library", "institution"),
    [
        ("lansing.librarian", "LANSING", "NEKLS"),
        ("network.admin", "LANSING", "NEKLS"),
        ("eastern.circ", "EASTERN-MAIN", "EASTERN"),
        ("eastern.admin", "EASTERN-MAIN", "NEKLS"),
    ],
)
async def test_only_the_institutions_system_admin_may_create_clients(
    gql: GraphQL, connection: AsyncConnection, username: str, library: str, institution: str
) -> None:
    token = await gql.login(username, library)
    payload = await _create(gql, token, institution=institution, scopes=["patron_read"])
    assert payload == {
        "client": None,
        "secret": None,
        "errors": [
            {
                "code": "FORBIDDEN",
                "message": "Only a system administrator of the institution may create API clients.",
                "field": None,
            }
        ],
    }
    assert await _clients(connection) == []


async def test_anonymous_callers_are_unauthenticated(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    body = await gql(CREATE, {"institution": "NEKLS", "name": "X", "scopes": []})
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert await _clients(connection) == []


# ---------------------------------------------------------------- the CLI


async def test_cli_creates_a_client_whose_secret_authenticates(cli_database: Database) -> None:
    result = await run_cli(
        "create-api-client",
        "--institution",
        " eastern ",
        "--name",
        "Kanopy",
        "--scope",
        "patron_auth",
        "--scope",
        "patron_read",
        "--library",
        "EASTERN-LAW",
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    secret = lines[-1].strip()
    assert secret.startswith("nzc_")
    # rich wraps long lines to the terminal width.
    assert (
        "Created API client 'Kanopy' of EASTERN with scopes patron_auth, patron_read."
        in " ".join(result.output.split())
    )
    async with cli_database.session() as session:
        actor = await authenticate(session=session, token=secret)
        eastern_id = (
            await session.execute(text("SELECT id FROM institution WHERE code = 'EASTERN'"))
        ).scalar_one()
        law_id = (
            await session.execute(text("SELECT id FROM library WHERE code = 'EASTERN-LAW'"))
        ).scalar_one()
        audit = (
            (
                await session.execute(
                    text(
                        "SELECT actor_name FROM audit_entry "
                        "WHERE action = 'create_api_client' AND actor_name <> 'demo'"
                    )
                )
            )
            .scalars()
            .all()
        )
        assert await authenticate(session=session, token=secret + "x") is None
    assert actor is not None
    assert (actor.kind, actor.name, actor.institution_id, actor.library_id, actor.scopes) == (
        "client",
        "client Kanopy",
        eastern_id,
        law_id,
        frozenset({"patron_auth", "patron_read"}),
    )
    assert audit == ["cli"]


async def test_cli_refuses_unknown_scopes_and_institutions(cli_database: Database) -> None:
    result = await run_cli(
        "create-api-client", "--institution", "EASTERN", "--name", "X", "--scope", "everything"
    )
    assert result.exit_code == 1
    assert "INVALID_INPUT: Unknown scope 'everything'" in " ".join(result.output.split())
    assert "nzc_" not in result.output
    result = await run_cli("create-api-client", "--institution", "NOWHERE", "--name", "X")
    assert result.exit_code == 1
    assert "NOT_FOUND: There is no institution with the code 'NOWHERE'." in " ".join(
        result.output.split()
    )
    async with cli_database.session() as session:
        count = (
            await session.execute(
                text("SELECT count(*) FROM api_client WHERE name NOT LIKE '% discovery layer'")
            )
        ).scalar_one()
    assert count == 0


async def test_scopes_are_normalised_and_attribute_codes_checked(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    payload = await _create(
        gql, admin, scopes=[" Attribute:kanopy_lansing ", "patron_read "], library="LANSING"
    )
    assert payload["errors"] == []
    assert payload["client"]["scopes"] == ["attribute:KANOPY_LANSING", "patron_read"]
    viewer = await gql.ok(VIEWER, token=payload["secret"])
    assert viewer["viewer"]["scopes"] == ["attribute:KANOPY_LANSING", "patron_read"]
    before = await _clients(connection)
    payload = await _create(
        gql, admin, name="n" * 201, scopes=["attribute:two words", "PATRON_READ"]
    )
    known = "patron_read, linking, patron_auth, email"
    assert payload["errors"] == [
        {
            "code": "INVALID_INPUT",
            "message": "Names are at most 200 characters.",
            "field": ["input", "name"],
        },
        {
            "code": "INVALID_INPUT",
            "message": f"Unknown scope 'attribute:TWO WORDS'; use one of {known} "
            "or attribute:<CODE>.",
            "field": ["input", "scopes", "0"],
        },
        {
            "code": "INVALID_INPUT",
            "message": f"Unknown scope 'PATRON_READ'; use one of {known} or attribute:<CODE>.",
            "field": ["input", "scopes", "1"],
        },
    ]
    assert await _clients(connection) == before


# ---------------------------------------------------------------- listing, revoking, rotating

LIST = """query($i: String!) { apiClients(institution: $i) {
  id name institutionCode scopes enabled library createdAt } }"""
REVOKE = """mutation($id: ID!) { revokeApiClient(input: {id: $id}) {
  client { id name enabled } errors { code message field } } }"""
ROTATE = """mutation($id: ID!) { rotateApiClientSecret(input: {id: $id}) {
  client { id name enabled } secret errors { code message field } } }"""
TRAIL = "SELECT action, changes FROM audit_entry WHERE entity_type = 'ApiClient' ORDER BY id"


async def _listed(gql: GraphQL, token: str, institution: str = "NEKLS") -> list[dict[str, Any]]:
    data = await gql.ok(LIST, {"i": institution}, token=token)
    clients: list[dict[str, Any]] = data["apiClients"]
    return clients


async def _institution_of(gql: GraphQL, secret: str) -> Any:
    return (await gql.ok(VIEWER, token=secret))["viewer"]["institution"]


async def test_system_admins_list_their_clients_and_nobody_else_sees_them(gql: GraphQL) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    created = await _create(gql, admin, name="Catalogue", scopes=["patron_read"], library="BASEHOR")
    listed = await _listed(gql, admin)
    [mine] = [c for c in listed if c["name"] == "Catalogue"]
    assert mine["institutionCode"] == "NEKLS"
    assert (mine["scopes"], mine["enabled"], mine["library"]) == (["patron_read"], True, "BASEHOR")
    assert created["secret"] not in str(listed)  # secrets are never listed
    # Another institution's administrator, a librarian, a client: none
    for token in (
        await gql.login("eastern.admin", "EASTERN-MAIN"),
        await gql.login("lansing.librarian", "LANSING"),
        created["secret"],
    ):
        assert await _listed(gql, token) == []
    body = await gql(LIST, {"i": "NEKLS"})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_a_revoked_client_stops_working_and_a_rotated_secret_replaces_the_old(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    created = await _create(gql, admin, name="Vendor", scopes=["patron_read"])
    old = created["secret"]
    [client] = [c for c in await _listed(gql, admin) if c["name"] == "Vendor"]
    assert await _institution_of(gql, old) == {"code": "NEKLS"}

    # Revoked: the secret authenticates nobody from the next request on
    revoked = (await gql.ok(REVOKE, {"id": client["id"]}, token=admin))["revokeApiClient"]
    assert revoked == {
        "client": {"id": client["id"], "name": "Vendor", "enabled": False},
        "errors": [],
    }
    assert await _institution_of(gql, old) is None
    # Revoking again changes nothing (and records nothing)
    again = (await gql.ok(REVOKE, {"id": client["id"]}, token=admin))["revokeApiClient"]
    assert again["errors"] == []

    # Rotated: a new secret, which works; the old one stays dead
    rotated = (await gql.ok(ROTATE, {"id": client["id"]}, token=admin))["rotateApiClientSecret"]
    assert rotated["errors"] == []
    assert rotated["client"] == {"id": client["id"], "name": "Vendor", "enabled": True}
    new = rotated["secret"]
    assert new.startswith("nzc_")
    assert new != old
    assert await _institution_of(gql, new) == {"code": "NEKLS"}
    assert await _institution_of(gql, old) is None

    trail = [
        (r[0], json.loads(r[1]) if isinstance(r[1], str) else r[1])
        for r in (await connection.execute(text(TRAIL))).all()
    ]
    actions = [action for action, _ in trail]
    assert actions[-3:] == ["create_api_client", "revoke_api_client", "rotate_api_client_secret"]
    assert trail[-1][1] == {
        "secret": {"before": "(hidden)", "after": "(changed)"},
        "enabled": {"before": False, "after": True},
    }
    assert new not in str(trail)


async def test_only_the_institutions_system_admin_may_revoke_or_rotate(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    created = await _create(gql, admin, name="Target", scopes=["patron_read"])
    [client] = [c for c in await _listed(gql, admin) if c["name"] == "Target"]
    before = await _clients(connection)
    trail = (await connection.execute(text(TRAIL))).all()
    missing = "QXBpQ2xpZW50Ojk5OTk5OQ"  # ApiClient:999999
    for token in (
        await gql.login("eastern.admin", "EASTERN-MAIN"),  # another institution's
        await gql.login("lansing.librarian", "LANSING"),
        await gql.login("network.admin", "LANSING"),
        created["secret"],  # the client itself
    ):
        for document, name in ((REVOKE, "revokeApiClient"), (ROTATE, "rotateApiClientSecret")):
            for target in (client["id"], missing):
                payload = (await gql.ok(document, {"id": target}, token=token))[name]
                # The same answer as for a client that does not exist: nothing is told
                assert payload["client"] is None
                assert payload["errors"] == [
                    {
                        "code": "NOT_FOUND",
                        "message": "There is no such API client.",
                        "field": ["input", "id"],
                    }
                ]
    assert await _clients(connection) == before
    assert (await connection.execute(text(TRAIL))).all() == trail
    assert await _institution_of(gql, created["secret"]) == {"code": "NEKLS"}


UPDATE = """mutation($input: UpdateApiClientInput!) { updateApiClient(input: $input) {
  client { id name scopes enabled library } errors { code message field } } }"""


async def _update(gql: GraphQL, token: str, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = (await gql.ok(UPDATE, {"input": fields}, token=token))[
        "updateApiClient"
    ]
    return payload


async def test_a_system_admin_renames_a_client_and_changes_its_scopes_at_once(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    created = await _create(gql, admin, name="Vendor", scopes=["patron_read"], library="LANSING")
    secret = created["secret"]
    [client] = [c for c in await _listed(gql, admin) if c["name"] == "Vendor"]
    assert (await gql.ok(PATRONS, {"i": "NEKLS"}, token=secret))["patrons"]["totalCount"] > 0

    # Renamed, and patron_read taken away for patron_auth: the same secret, from its
    # next request on, reads no patron
    updated = await _update(
        gql, admin, id=client["id"], name="  Vendor (auth only) ", scopes=["patron_auth"]
    )
    assert updated == {
        "client": {
            "id": client["id"],
            "name": "Vendor (auth only)",
            "scopes": ["patron_auth"],
            "enabled": True,
            "library": "LANSING",
        },
        "errors": [],
    }
    assert (await gql.ok(VIEWER, token=secret))["viewer"]["scopes"] == ["patron_auth"]
    assert (await gql.ok(PATRONS, {"i": "NEKLS"}, token=secret))["patrons"]["totalCount"] == 0
    # Only a name: the scopes stay; the same values again: nothing is recorded
    renamed = await _update(gql, admin, id=client["id"], name="Vendor")
    assert (renamed["client"]["name"], renamed["client"]["scopes"]) == ("Vendor", ["patron_auth"])
    assert (await _update(gql, admin, id=client["id"], name="Vendor"))["errors"] == []

    trail = [
        (r[0], json.loads(r[1]) if isinstance(r[1], str) else r[1])
        for r in (await connection.execute(text(TRAIL))).all()
    ]
    assert [action for action, _ in trail][-3:] == [
        "create_api_client",
        "update_api_client",
        "update_api_client",
    ]
    assert trail[-2][1] == {
        "name": {"before": "Vendor", "after": "Vendor (auth only)"},
        "scopes": {"before": ["patron_read"], "after": ["patron_auth"]},
    }
    assert trail[-1][1] == {"name": {"before": "Vendor (auth only)", "after": "Vendor"}}


async def test_bad_changes_of_a_client_name_the_field_and_change_nothing(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    await _create(gql, admin, name="Vendor", scopes=["patron_read"])
    [client] = [c for c in await _listed(gql, admin) if c["name"] == "Vendor"]
    before = await _clients(connection)
    payload = await _update(gql, admin, id=client["id"], name=" ", scopes=["patron_read", "all"])
    assert payload == {
        "client": None,
        "errors": [
            {
                "code": "MANDATORY_FIELD",
                "message": "Give the client a name.",
                "field": ["input", "name"],
            },
            {
                "code": "INVALID_INPUT",
                "message": "Unknown scope 'all'; use one of patron_read, linking, patron_auth, "
                "email or attribute:<CODE>.",
                "field": ["input", "scopes", "1"],
            },
        ],
    }
    assert await _clients(connection) == before


async def test_only_the_institutions_system_admin_may_change_a_client(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    created = await _create(gql, admin, name="Target", scopes=["patron_read"])
    [client] = [c for c in await _listed(gql, admin) if c["name"] == "Target"]
    before = await _clients(connection)
    trail = (await connection.execute(text(TRAIL))).all()
    for token in (
        await gql.login("eastern.admin", "EASTERN-MAIN"),  # another institution's
        await gql.login("lansing.librarian", "LANSING"),
        await gql.login("network.admin", "LANSING"),
        created["secret"],  # the client itself, widening its own scopes
    ):
        for target in (client["id"], "QXBpQ2xpZW50Ojk5OTk5OQ"):  # and ApiClient:999999
            payload = await _update(
                gql, token, id=target, name="Mine", scopes=["patron_read", "linking", "email"]
            )
            assert payload == {
                "client": None,
                "errors": [
                    {
                        "code": "NOT_FOUND",
                        "message": "There is no such API client.",
                        "field": ["input", "id"],
                    }
                ],
            }
    assert await _clients(connection) == before
    assert (await connection.execute(text(TRAIL))).all() == trail
    assert (await gql.ok(VIEWER, token=created["secret"]))["viewer"]["scopes"] == ["patron_read"]


async def test_cli_lists_revokes_and_rotates_clients(cli_database: Database) -> None:
    created = await run_cli(
        "create-api-client",
        "--institution",
        "EASTERN",
        "--name",
        "Vendor",
        "--scope",
        "patron_auth",
    )
    assert created.exit_code == 0, created.output
    old = created.output.split()[-1]
    async with cli_database.session() as session:
        client_id = (
            await session.execute(text("SELECT id FROM api_client WHERE name = 'Vendor'"))
        ).scalar_one()

    listed = await run_cli("api-clients", "--institution", "eastern")
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if "Vendor" in line)
    assert encode_id("ApiClient", client_id) in row  # the id the API gives it
    assert "patron_auth" in row
    assert "active" in row
    assert old not in listed.output

    revoked = await run_cli("revoke-api-client", str(client_id))
    assert revoked.exit_code == 0, revoked.output
    assert "is revoked" in " ".join(revoked.output.split())
    listed = await run_cli("api-clients", "--institution", "EASTERN")
    assert "REVOKED" in next(line for line in listed.output.splitlines() if "Vendor" in line)

    rotated = await run_cli("rotate-api-client-secret", str(client_id))
    assert rotated.exit_code == 0, rotated.output
    new = rotated.output.split()[-1]
    assert new.startswith("nzc_")
    assert new != old
    async with cli_database.session() as session:
        assert await authenticate(session=session, token=old) is None
        actor = await authenticate(session=session, token=new)
    assert actor is not None
    assert actor.name == "client Vendor"

    updated = await run_cli(
        "update-api-client", str(client_id), "--name", "Vendor", "--scope", "patron_read"
    )
    assert updated.exit_code == 0, updated.output
    assert "scopes patron_read." in " ".join(updated.output.split())
    async with cli_database.session() as session:
        actor = await authenticate(session=session, token=new)
    assert actor is not None
    assert sorted(actor.scopes) == ["patron_read"]
    bad = await run_cli("update-api-client", str(client_id), "--scope", "everything")
    assert bad.exit_code == 1
    assert "Unknown scope 'everything'" in " ".join(bad.output.split())

    missing = await run_cli("revoke-api-client", "999999")
    assert missing.exit_code == 1
    assert "NOT_FOUND: There is no such API client." in missing.output
    empty = await run_cli("api-clients", "--institution", "NOWHERE")
    assert empty.exit_code == 0
    assert "No API clients for 'NOWHERE'." in empty.output
