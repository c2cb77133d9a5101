"""Patron registry tests: GraphQL documents and a small driver over the real HTTP API."""

from __future__ import annotations

from typing import Any

from tests.support.graphql import GraphQL

PATRON_FIELDS = """
fragment PatronFields on Patron {
  id
  institution { code }
  homeLibrary { code }
  userGroup { code }
  accountType
  username
  barcode
  adminSystemId
  identifiers { type { code name networkUnique } value }
  givenName
  middleName
  preferredName
  surname
  primaryEmail
  contactEmails { address label }
  phone
  enabled
  isStaff
  isGeneric
  isPublicSearch
  until
  expiryDate
  purgeDate
  cohort
  formClass
  libraryGroups { id name }
  systemGroups
  libraries { code }
  blocks { type { code } note }
  version
  createdAt
  updatedAt
}
"""

CREATE = (
    """mutation($input: CreatePatronInput!) {
  createPatron(input: $input) { patron { ...PatronFields } errors { code message field } }
}"""
    + PATRON_FIELDS
)

UPDATE = (
    """mutation($input: UpdatePatronInput!) {
  updatePatron(input: $input) { patron { ...PatronFields } errors { code message field } }
}"""
    + PATRON_FIELDS
)

DELETE = """mutation($id: ID!) {
  deletePatron(input: {id: $id}) { deletedId errors { code message field } }
}"""

ADD_BLOCK = """mutation($id: ID!) {
  addPatronBlock(input: {patronId: $id, blockType: "CONDUCT", note: "Shouted"}) {
    patron { id } errors { code message field }
  }
}"""

READ = "query($id: ID!) { node(id: $id) { ...PatronFields } }" + PATRON_FIELDS

SEARCH = """query($institution: String!, $filter: PatronFilter, $first: Int, $after: String) {
  patrons(institution: $institution, filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id surname givenName username barcode homeLibrary { code } } }
  }
}"""

AUDIT = """query($id: ID!) {
  node(id: $id) {
    ... on Patron { auditLog(first: 50) { edges { node { actor action changes } } } }
  }
}"""

VIEWER_ID = "{ viewer { patron { id } } }"

# The password every patron created by these tests gets unless a test says otherwise.
PASSWORD = "Sesame-Street-42"


class PatronApi:
    """The patron operations a staff client uses, each one HTTP request."""

    def __init__(self, gql: GraphQL) -> None:
        self.gql = gql

    async def create_payload(self, token: str | None, **fields: Any) -> dict[str, Any]:
        data = await self.gql.ok(CREATE, {"input": fields}, token)
        payload: dict[str, Any] = data["createPatron"]
        return payload

    async def create(self, token: str, **fields: Any) -> dict[str, Any]:
        """Create a patron that must be valid; returns it as the API shows it."""
        fields = {"institution": "NEKLS", "homeLibrary": "LANSING", **fields}
        payload = await self.create_payload(token, **fields)
        assert payload["errors"] == [], payload
        patron: dict[str, Any] = payload["patron"]
        return patron

    async def update_payload(self, token: str | None, **fields: Any) -> dict[str, Any]:
        data = await self.gql.ok(UPDATE, {"input": fields}, token)
        payload: dict[str, Any] = data["updatePatron"]
        return payload

    async def update(self, token: str, **fields: Any) -> dict[str, Any]:
        payload = await self.update_payload(token, **fields)
        assert payload["errors"] == [], payload
        patron: dict[str, Any] = payload["patron"]
        return patron

    async def delete(self, token: str, patron_id: str) -> dict[str, Any]:
        data = await self.gql.ok(DELETE, {"id": patron_id}, token)
        payload: dict[str, Any] = data["deletePatron"]
        return payload

    async def read(self, token: str, patron_id: str) -> dict[str, Any] | None:
        data = await self.gql.ok(READ, {"id": patron_id}, token)
        node: dict[str, Any] | None = data["node"]
        return node

    async def search(
        self,
        token: str,
        institution: str = "NEKLS",
        first: int | None = None,
        after: str | None = None,
        **flt: Any,
    ) -> dict[str, Any]:
        variables = {
            "institution": institution,
            "filter": flt or None,
            "first": first,
            "after": after,
        }
        data = await self.gql.ok(SEARCH, variables, token)
        connection: dict[str, Any] = data["patrons"]
        return connection

    async def count(self, token: str, institution: str = "NEKLS", **flt: Any) -> int:
        return int((await self.search(token, institution, **flt))["totalCount"])

    async def audit(self, token: str, patron_id: str) -> list[dict[str, Any]]:
        data = await self.gql.ok(AUDIT, {"id": patron_id}, token)
        return [edge["node"] for edge in data["node"]["auditLog"]["edges"]]

    async def viewer_id(self, token: str) -> str:
        data = await self.gql.ok(VIEWER_ID, token=token)
        viewer_id: str = data["viewer"]["patron"]["id"]
        return viewer_id

    async def teachers_group_id(self, token: str) -> str:
        data = await self.gql.ok(
            '{ institution(code: "NORTHFIELD") { libraryGroups { id name } } }', token=token
        )
        groups = {g["name"]: g["id"] for g in data["institution"]["libraryGroups"]}
        return groups["Teachers"]
