"""Relay node/nodes: every type by id, with exactly the visibility of every other path."""

from __future__ import annotations

import base64
from typing import Any

from tests.support.graphql import GraphQL
from tests.support.ids import pk_of

NODE = """query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Patron { surname institution { code } }
    ... on Institution { code }
    ... on Library { code institution { code } }
    ... on UserGroup { code }
    ... on LibraryGroup { name }
    ... on PatronBlock { type { code } note origin }
  }
}"""

NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"

STRUCTURE = """{ network { institutions { id code
  libraries { id code } userGroups { id code } libraryGroups { id name } } } }"""

FIRST_PATRONS = """query($i: String!) {
  patrons(institution: $i, first: 3) { edges { node { id surname version } } }
}"""


def _raw_id(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def _structure(gql: GraphQL, token: str) -> dict[str, Any]:
    data = await gql.ok(STRUCTURE, token=token)
    return {i["code"]: i for i in data["network"]["institutions"]}


async def _patrons(gql: GraphQL, token: str, institution: str) -> list[dict[str, Any]]:
    data = await gql.ok(FIRST_PATRONS, {"i": institution}, token=token)
    return [e["node"] for e in data["patrons"]["edges"]]


async def _node(gql: GraphQL, token: str, node_id: str) -> Any:
    data = await gql.ok(NODE, {"id": node_id}, token=token)
    return data["node"]


async def _add_block(gql: GraphQL, token: str, patron_id: str, block_type: str = "LOST") -> str:
    data = await gql.ok(
        """mutation($p: ID!, $t: String!) {
             addPatronBlock(input: {patronId: $p, blockType: $t, note: "Card lost"}) {
               patron { blocks { id } } errors { code }
             }
           }""",
        {"p": patron_id, "t": block_type},
        token=token,
    )
    assert data["addPatronBlock"]["errors"] == []
    block_id: str = data["addPatronBlock"]["patron"]["blocks"][-1]["id"]
    return block_id


async def test_node_returns_every_type_by_its_id(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    nekls = (await _structure(gql, token))["NEKLS"]
    patron = (await _patrons(gql, token, "NEKLS"))[0]
    block_id = await _add_block(gql, token, patron["id"])
    northfield = (await _structure(gql, token))["NORTHFIELD"]
    lansing = next(lib for lib in nekls["libraries"] if lib["code"] == "LANSING")
    adult = next(g for g in nekls["userGroups"] if g["code"] == "ADULT")
    teachers = northfield["libraryGroups"][0]

    assert await _node(gql, token, patron["id"]) == {
        "__typename": "Patron",
        "id": patron["id"],
        "surname": patron["surname"],
        "institution": {"code": "NEKLS"},
    }
    assert await _node(gql, token, nekls["id"]) == {
        "__typename": "Institution",
        "id": nekls["id"],
        "code": "NEKLS",
    }
    assert await _node(gql, token, lansing["id"]) == {
        "__typename": "Library",
        "id": lansing["id"],
        "code": "LANSING",
        "institution": {"code": "NEKLS"},
    }
    assert await _node(gql, token, adult["id"]) == {
        "__typename": "UserGroup",
        "id": adult["id"],
        "code": "ADULT",
    }
    # Library groups are part of the network structure, which every member may read.
    assert await _node(gql, token, teachers["id"]) == {
        "__typename": "LibraryGroup",
        "id": teachers["id"],
        "name": "Teachers",
    }
    assert await _node(gql, token, block_id) == {
        "__typename": "PatronBlock",
        "id": block_id,
        "type": {"code": "LOST"},
        "note": "Card lost",
        "origin": "LOCAL",
    }


async def test_garbage_ids_give_null_without_errors(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    garbage = [
        "",
        "not-an-id",
        "!!!",
        "UGF0cm9u",  # "Patron" without a key
        _raw_id("Patron:"),
        _raw_id("Patron:0"),
        _raw_id("Patron:-5"),
        _raw_id("Patron:abc"),
        _raw_id("Patron:1.5"),
        _raw_id("Patron:99999999"),
        _raw_id("Patron:999999999999999999999999999999"),
        _raw_id("Institution:99999999"),
        _raw_id("Spaceship:1"),
        _raw_id(":1"),
        "x" * 5000,
        "\u00e9\u00e9\u00e9",
    ]
    for node_id in garbage:
        body = await gql(NODE, {"id": node_id}, token=token)
        assert body == {"data": {"node": None}}, node_id
    body = await gql(NODES, {"ids": garbage}, token=token)
    assert body == {"data": {"nodes": [None] * len(garbage)}}


async def test_the_same_object_has_one_id_only(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    nekls = (await _structure(gql, token))["NEKLS"]
    pk = pk_of(nekls["id"], "Institution")
    assert nekls["id"] == _raw_id(f"Institution:{pk}")
    # Other spellings of the same key are not ids of it.
    for variant in (
        f"Institution:+{pk}",
        f"Institution: {pk}",
        f"Institution:0{pk}",
        f"Institution:{pk}_",
    ):
        assert await _node(gql, token, _raw_id(variant)) is None, variant


async def test_deleted_objects_give_null(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    patron, other = (await _patrons(gql, token, "NEKLS"))[:2]
    block_id = await _add_block(gql, token, other["id"])
    deleted = await gql.ok(
        "mutation($id: ID!) { deletePatron(input: {id: $id}) { deletedId errors { code } } }",
        {"id": patron["id"]},
        token=token,
    )
    assert deleted["deletePatron"] == {"deletedId": patron["id"], "errors": []}
    removed = await gql.ok(
        "mutation($id: ID!) { removePatronBlock(input: {id: $id}) { errors { code } } }",
        {"id": block_id},
        token=token,
    )
    assert removed["removePatronBlock"]["errors"] == []
    assert await _node(gql, token, patron["id"]) is None
    assert await _node(gql, token, block_id) is None
    body = await gql(NODES, {"ids": [patron["id"], block_id, other["id"]]}, token=token)
    assert body == {"data": {"nodes": [None, None, {"__typename": "Patron", "id": other["id"]}]}}


async def test_other_institutions_patrons_and_blocks_give_null(gql: GraphQL) -> None:
    eastern = await gql.login("eastern.admin", "EASTERN-MAIN")
    eastern_patron = (await _patrons(gql, eastern, "EASTERN"))[0]
    eastern_block = await _add_block(gql, eastern, eastern_patron["id"])
    # The owner sees both.
    assert (await _node(gql, eastern, eastern_patron["id"]))["__typename"] == "Patron"
    assert (await _node(gql, eastern, eastern_block))["__typename"] == "PatronBlock"

    nekls = await gql.login("nekls.admin", "LANSING")
    missing = _raw_id("Patron:99999999")
    for node_id in (eastern_patron["id"], eastern_block):
        body = await gql(NODE, {"id": node_id}, token=nekls)
        # Exactly what a missing id gives: nothing reveals that it exists.
        assert body == await gql(NODE, {"id": missing}, token=nekls) == {"data": {"node": None}}
    body = await gql(NODES, {"ids": [eastern_patron["id"], eastern_block]}, token=nekls)
    assert body == {"data": {"nodes": [None, None]}}


async def test_circulation_staff_see_their_own_institutions_patrons_only(gql: GraphQL) -> None:
    token = await gql.login("eastern.circ", "EASTERN-MAIN")
    eastern_patron = (await _patrons(gql, token, "EASTERN"))[0]
    assert (await _node(gql, token, eastern_patron["id"]))["surname"] == eastern_patron["surname"]
    nekls_admin = await gql.login("nekls.admin", "LANSING")
    nekls_patron = (await _patrons(gql, nekls_admin, "NEKLS"))[0]
    assert await _node(gql, token, nekls_patron["id"]) is None


async def test_nodes_keeps_the_order_of_the_ids(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    nekls = (await _structure(gql, token))["NEKLS"]
    patrons = await _patrons(gql, token, "NEKLS")
    library = nekls["libraries"][1]
    ids = [library["id"], patrons[2]["id"], "garbage", nekls["id"], patrons[0]["id"], library["id"]]
    data = await gql.ok(NODES, {"ids": ids}, token=token)
    assert data["nodes"] == [
        {"__typename": "Library", "id": library["id"]},
        {"__typename": "Patron", "id": patrons[2]["id"]},
        None,
        {"__typename": "Institution", "id": nekls["id"]},
        {"__typename": "Patron", "id": patrons[0]["id"]},
        {"__typename": "Library", "id": library["id"]},
    ]


async def test_nodes_accepts_one_hundred_ids_and_refuses_one_hundred_and_one(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    patron_id = (await _patrons(gql, token, "NEKLS"))[0]["id"]
    data = await gql.ok(NODES, {"ids": [patron_id] * 100}, token=token)
    assert data["nodes"] == [{"__typename": "Patron", "id": patron_id}] * 100
    body = await gql(NODES, {"ids": [patron_id] * 101}, token=token)
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": "Ask for at most 100 ids at once (101 given).",
            "locations": [{"line": 1, "column": 23}],
            "path": ["nodes"],
            "extensions": {"code": "INVALID_INPUT"},
        }
    ]


async def test_node_and_nodes_need_a_session(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    patron_id = (await _patrons(gql, token, "NEKLS"))[0]["id"]
    node = await gql(NODE, {"id": patron_id})
    assert node["data"] == {"node": None}
    assert node["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    nodes = await gql(NODES, {"ids": [patron_id]})
    assert nodes["data"] is None
    assert nodes["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_a_patron_sees_their_own_record_and_nobody_elses(gql: GraphQL) -> None:
    admin = await gql.login("nekls.admin", "LANSING")
    created = await gql.ok(
        """mutation {
             createPatron(input: {institution: "NEKLS", homeLibrary: "TONGANOXIE",
                                  surname: "Reader", givenName: "Rita", username: "rita.reader",
                                  password: "reading-is-fun"}) {
               patron { id } errors { code message field }
             }
           }""",
        token=admin,
    )
    assert created["createPatron"]["errors"] == []
    own_id = created["createPatron"]["patron"]["id"]
    other_id = (await _patrons(gql, admin, "NEKLS"))[0]["id"]

    token = await gql.login("rita.reader", "TONGANOXIE", password="reading-is-fun")
    data = await gql.ok(
        "{ viewer { systemGroups institution { code } library { code } "
        "patron { id surname givenName username homeLibrary { code } } } }",
        token=token,
    )
    assert data["viewer"] == {
        "systemGroups": ["LIBRARY_USERS"],
        "institution": {"code": "NEKLS"},
        "library": {"code": "TONGANOXIE"},
        "patron": {
            "id": own_id,
            "surname": "Reader",
            "givenName": "Rita",
            "username": "rita.reader",
            "homeLibrary": {"code": "TONGANOXIE"},
        },
    }
    assert (await _node(gql, token, own_id))["surname"] == "Reader"
    assert await _node(gql, token, other_id) is None
    listed = await gql.ok(
        '{ patrons(institution: "NEKLS") { totalCount edges { cursor } } }', token=token
    )
    assert listed["patrons"] == {"totalCount": 0, "edges": []}
