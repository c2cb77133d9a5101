"""Patron lifecycle tests: GraphQL documents and a small driver over the real HTTP API.

The demo network gives NEKLS 40 generated patrons (each with a barcode and a unique
primary email, none with a username) plus the staff logins lansing.librarian and
basehor.librarian (LIBRARIAN), nekls.admin (SYSTEM_ADMIN) and network.admin.
"""

from __future__ import annotations

import base64
from typing import Any

from tests.support.graphql import GraphQL

ERRORS = "errors { code message field }"

PATRON_FIELDS = """
fragment PatronFields on Patron {
  id
  institution { code }
  accountType
  username
  barcode
  adminSystemId
  identifiers { type { code } value }
  givenName
  surname
  primaryEmail
  contactEmails { address label }
  phone
  userGroup { code }
  libraryGroups { name }
  systemGroups
  blocks { type { code } note origin }
  attributes { type { code } values }
  loans(first: 50) { totalCount edges { node { itemBarcode returnedAt } } }
  linkedFrom { institution { code } ref status }
  linkedAccounts { institution { code } }
  version
}
"""

CREATE = (
    "mutation($input: CreatePatronInput!) {"
    f"  createPatron(input: $input) {{ patron {{ ...PatronFields }} {ERRORS} }}"
    "}" + PATRON_FIELDS
)

UPDATE = (
    "mutation($input: UpdatePatronInput!) {"
    f"  updatePatron(input: $input) {{ patron {{ ...PatronFields }} {ERRORS} }}"
    "}" + PATRON_FIELDS
)

READ = "query($id: ID!) { node(id: $id) { ...PatronFields } }" + PATRON_FIELDS

CHANGE_USERNAMES = (
    "mutation($input: ChangeUsernamesInput!) {"
    "  changeUsernames(input: $input) {"
    f"    changes {{ patron {{ id }} oldUsername newUsername }} {ERRORS}"
    "  }"
    "}"
)

MERGE = (
    "mutation($input: MergePatronsInput!) {"
    f"  mergePatrons(input: $input) {{ patron {{ ...PatronFields }} loansMoved {ERRORS} }}"
    "}" + PATRON_FIELDS
)

CHECK_OUT = f"""mutation($patron: ID!, $item: String!) {{
  checkOut(input: {{patronId: $patron, itemBarcode: $item}}) {{ loan {{ id }} {ERRORS} }}
}}"""

CHECK_IN = f"""mutation($item: String!) {{
  checkIn(input: {{itemBarcode: $item}}) {{ loan {{ id }} {ERRORS} }}
}}"""

ADD_BLOCK = f"""mutation($id: ID!, $type: String!, $note: String) {{
  addPatronBlock(input: {{patronId: $id, blockType: $type, note: $note}}) {{
    patron {{ id }} {ERRORS}
  }}
}}"""

SEARCH = f"""query($identifier: String!) {{
  networkPatronSearch(input: {{identifier: $identifier}}) {{
    matches {{ ref institution {{ code }} linkedAccount {{ id }} }} {ERRORS}
  }}
}}"""

LINK = f"""mutation($ref: ID!) {{
  linkAccount(input: {{sourcePatron: $ref, reason: MANUAL}}) {{
    linkedAccount {{ id }} created {ERRORS}
  }}
}}"""

AUDIT = """query($id: ID!) {
  node(id: $id) {
    ... on Patron { auditLog(first: 50) { edges { node { actor action changes } } } }
  }
}"""

PATRONS = """query($institution: String!, $after: String) {
  patrons(institution: $institution, first: 100, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id username primaryEmail barcode accountType isGeneric systemGroups
                   version } }
  }
}"""

CREATE_TYPE = f"""mutation($input: CreateAttributeTypeInput!) {{
  createAttributeType(input: $input) {{ attributeType {{ code }} {ERRORS} }}
}}"""

VIEWER_ID = "{ viewer { patron { id } } }"

PASSWORD = "Sesame-Street-42"


def patron_id(pk: int) -> str:
    return base64.urlsafe_b64encode(f"Patron:{pk}".encode()).decode().rstrip("=")


class LifecycleApi:
    """The operations a staff client uses, each one HTTP request."""

    def __init__(self, gql: GraphQL) -> None:
        self.gql = gql

    async def create(self, token: str, **fields: Any) -> dict[str, Any]:
        fields = {"institution": "NEKLS", "homeLibrary": "LANSING", **fields}
        data = await self.gql.ok(CREATE, {"input": fields}, token)
        payload: dict[str, Any] = data["createPatron"]
        assert payload["errors"] == [], payload
        patron: dict[str, Any] = payload["patron"]
        return patron

    async def update(self, token: str, **fields: Any) -> dict[str, Any]:
        data = await self.gql.ok(UPDATE, {"input": fields}, token)
        payload: dict[str, Any] = data["updatePatron"]
        assert payload["errors"] == [], payload
        patron: dict[str, Any] = payload["patron"]
        return patron

    async def read(self, token: str, patron_id: str) -> dict[str, Any] | None:
        data = await self.gql.ok(READ, {"id": patron_id}, token)
        node: dict[str, Any] | None = data["node"]
        return node

    async def change_usernames(self, token: str, **fields: Any) -> dict[str, Any]:
        fields = {"institution": "NEKLS", **fields}
        data = await self.gql.ok(CHANGE_USERNAMES, {"input": fields}, token)
        payload: dict[str, Any] = data["changeUsernames"]
        return payload

    async def merge(self, token: str, survivor: str, duplicates: list[str]) -> dict[str, Any]:
        data = await self.gql.ok(
            MERGE, {"input": {"survivor": survivor, "duplicates": duplicates}}, token
        )
        payload: dict[str, Any] = data["mergePatrons"]
        return payload

    async def check_out(self, token: str, patron: str, item: str) -> None:
        data = await self.gql.ok(CHECK_OUT, {"patron": patron, "item": item}, token)
        assert data["checkOut"]["errors"] == [], data

    async def check_in(self, token: str, item: str) -> None:
        data = await self.gql.ok(CHECK_IN, {"item": item}, token)
        assert data["checkIn"]["errors"] == [], data

    async def block(self, token: str, patron: str, block_type: str, note: str) -> None:
        data = await self.gql.ok(ADD_BLOCK, {"id": patron, "type": block_type, "note": note}, token)
        assert data["addPatronBlock"]["errors"] == [], data

    async def search(self, token: str, identifier: str) -> list[dict[str, Any]]:
        data = await self.gql.ok(SEARCH, {"identifier": identifier}, token)
        assert data["networkPatronSearch"]["errors"] == [], data
        matches: list[dict[str, Any]] = data["networkPatronSearch"]["matches"]
        return matches

    async def link(self, token: str, barcode: str) -> str:
        """Link the HOME patron with this barcode into the token's institution; the copy's id."""
        [match] = await self.search(token, barcode)
        data = await self.gql.ok(LINK, {"ref": match["ref"]}, token)
        payload = data["linkAccount"]
        assert payload["errors"] == [], payload
        copy_id: str = payload["linkedAccount"]["id"]
        return copy_id

    async def audit(self, token: str, patron: str) -> list[dict[str, Any]]:
        data = await self.gql.ok(AUDIT, {"id": patron}, token)
        return [edge["node"] for edge in data["node"]["auditLog"]["edges"]]

    async def all_patrons(self, token: str, institution: str = "NEKLS") -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        after = None
        while True:
            data = await self.gql.ok(PATRONS, {"institution": institution, "after": after}, token)
            page = data["patrons"]
            rows += [edge["node"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return rows
            after = page["pageInfo"]["endCursor"]

    async def viewer_id(self, token: str) -> str:
        data = await self.gql.ok(VIEWER_ID, token=token)
        viewer: str = data["viewer"]["patron"]["id"]
        return viewer
