"""Page cursors are opaque and tamper-evident: sealed with the deployment's key, bound to
their list and its arguments. Anything else in `after` is INVALID_INPUT naming it."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from app.db import Database
from app.graphql.ids import Cursors
from app.keys import CURSOR, deployment_key
from app.patrons.search import PatronFilter
from app.settings import Settings
from tests.support.graphql import GraphQL

PAGE = """query($search: String, $after: String) {
  patrons(institution: "NEKLS", filter: {search: $search}, first: 2, after: $after) {
    edges { cursor node { surname givenName } }
    pageInfo { endCursor hasNextPage }
  }
}"""

LOANS = """query($id: ID!, $after: String) {
  node(id: $id) { ... on Patron { loans(after: $after) { totalCount } } }
}"""


async def _page(gql: GraphQL, token: str, search: str | None, after: str | None) -> Any:
    return await gql(PAGE, {"search": search, "after": after}, token=token)


def _refused(body: dict[str, Any]) -> None:
    assert body["data"] is None or body["data"].get("patrons") is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["extensions"]["argument"] == "after"
    assert "`after`" in error["message"]


async def test_pages_follow_each_other_and_cursors_carry_nothing_readable(
    gql: GraphQL,
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    first = (await _page(gql, token, None, None))["data"]["patrons"]
    second = (await _page(gql, token, None, first["pageInfo"]["endCursor"]))["data"]["patrons"]
    names = [
        (e["node"]["surname"], e["node"]["givenName"]) for e in first["edges"] + second["edges"]
    ]
    assert len(set(names)) == 4
    assert names == sorted(names, key=lambda n: (n[0].lower(), (n[1] or "").lower()))
    # No patron's name can be read out of a cursor
    for edge in first["edges"]:
        raw = base64.urlsafe_b64decode(edge["cursor"] + "=" * (-len(edge["cursor"]) % 4))
        assert edge["node"]["surname"].lower().encode() not in raw.lower()


@pytest.mark.parametrize(
    "after",
    [
        "not-a-cursor",
        "WyJcdTAwMDAiLCIiLDFd",  # base64 of ["\\u0000","",1]: what cursors used to be
        "WyJhZGFtcyIsImZhdGltYSIsNDhd",  # ["adams","fatima",48], readable and forgeable
        "%%%",
        "A" * 5000,
    ],
)
async def test_anything_but_a_cursor_given_out_is_refused(gql: GraphQL, after: str) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    _refused(await _page(gql, token, None, after))


async def test_altered_and_moved_cursors_are_refused(gql: GraphQL) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    page = (await _page(gql, token, "a", None))["data"]["patrons"]
    cursor = page["pageInfo"]["endCursor"]
    # One character changed
    flipped = cursor[:10] + ("A" if cursor[10] != "A" else "B") + cursor[11:]
    _refused(await _page(gql, token, "a", flipped))
    # The same list with other arguments (another search)
    _refused(await _page(gql, token, "b", cursor))
    # Another list altogether (a patron's loans)
    found = await gql.ok(
        'query { patrons(institution: "NEKLS", first: 1) { edges { node { id } } } }',
        token=token,
    )
    body = await gql(
        LOANS, {"id": found["patrons"]["edges"][0]["node"]["id"], "after": cursor}, token=token
    )
    [error] = body["errors"]
    assert (error["extensions"]["code"], error["extensions"]["argument"]) == (
        "INVALID_INPUT",
        "after",
    )
    # While the cursor itself still works where it came from
    assert "errors" not in await _page(gql, token, "a", cursor)


async def test_a_cursor_of_another_deployment_is_refused(
    gql: GraphQL, database: Database, settings: Settings
) -> None:
    token = await gql.login("lansing.librarian", "LANSING")
    async with database.session() as session:
        ours = await deployment_key(session, settings, CURSOR)
    binding = orjson.dumps(["patrons", "NEKLS", str(PatronFilter())])
    # A cursor sealed with this deployment's key for this list is accepted ...
    assert "errors" not in await _page(gql, token, None, Cursors(ours, binding).encode("a", "a", 1))
    # ... the same sealed with another deployment's key is not
    elsewhere = Cursors(bytes(reversed(ours)), binding)
    _refused(await _page(gql, token, None, elsewhere.encode("a", "a", 1)))
