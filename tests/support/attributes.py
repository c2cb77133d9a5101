"""Branch-limited attributes: GraphQL documents, a small driver over HTTP, and SQL checks.

The demo network has the seed's attribute: KANOPY_LANSING of NEKLS, limited to LANSING, rule
scope [LANSING] (ALLOWED in scope, NOT_ALLOWED out of scope), reports leaving out the user
groups STAFF, ILL and STATISTIC; some generated NEKLS patrons are in each discrepancy state.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.graphql import GraphQL
from tests.support.ids import patron_pk

KANOPY = "KANOPY_LANSING"
KANOPY_FORBIDDEN = "Kanopy (LANSING) can only be changed by staff logged in at LANSING."
EXCLUDED_GROUPS = ("STAFF", "ILL", "STATISTIC")

PATRON_FIELDS = """
fragment PatronFields on Patron {
  id
  institution { code }
  homeLibrary { code }
  userGroup { code }
  accountType
  username
  barcode
  identifiers { type { code } value }
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
  until
  expiryDate
  cohort
  formClass
  systemGroups
  libraries { code }
  attributes { type { code label } values }
  version
  createdAt
  updatedAt
}
"""

ERRORS = "errors { code message field }"

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

NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { ...PatronFields } }" + PATRON_FIELDS

VIEWER = "{ viewer { patron { ...PatronFields } } }" + PATRON_FIELDS

SEARCH = (
    """query($filter: PatronFilter, $first: Int, $after: String) {
  patrons(institution: "NEKLS", filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { ...PatronFields } }
  }
}"""
    + PATRON_FIELDS
)

AUDIT = """query($id: ID!) {
  node(id: $id) {
    ... on Patron { auditLog(first: 100) { edges { node { actor action changes } } } }
  }
}"""

TYPE_FIELDS = """
fragment TypeFields on AttributeType {
  code
  label
  authorisedValues { code label }
  repeatable
  unique
  mandatory
  libraryLimits { code }
  excludedUserGroups { code }
  rule { libraries { code } inScopeValue outOfScopeValue applyForAllSessions }
}
"""

VISIBLE_TYPES = (
    """{
  network { attributeTypes { ...TypeFields } }
  institution(code: "NEKLS") { attributeTypes { ...TypeFields } }
}"""
    + TYPE_FIELDS
)

CREATE_TYPE = (
    "mutation($input: CreateAttributeTypeInput!) {"
    f"  createAttributeType(input: $input) {{ attributeType {{ ...TypeFields }} {ERRORS} }}"
    "}" + TYPE_FIELDS
)

DISCREPANCIES = """query($type: String!, $kind: AttributeDiscrepancyKind!, $first: Int,
                        $after: String) {
  attributeDiscrepancies(attributeType: $type, kind: $kind, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id homeLibrary { code } userGroup { code }
                          attributes { type { code } values } } }
  }
}"""

APPLY_RULE = (
    "mutation($type: String!, $ids: [ID!]!) {"
    "  applyAttributeRule(input: {attributeType: $type, patronIds: $ids}) {"
    f"    updated {{ ...PatronFields }} {ERRORS}"
    "  }"
    "}" + PATRON_FIELDS
)

# The value sets of the demo's Kanopy type, as the API shows them.
KANOPY_TYPE = {"code": KANOPY, "label": "Kanopy (LANSING)"}


def values_of(patron: dict[str, Any], code: str = KANOPY) -> list[str] | None:
    """The values of one attribute as the API shows them to the reader (None: absent)."""
    for attribute in patron["attributes"]:
        if attribute["type"]["code"] == code:
            values: list[str] = attribute["values"]
            return values
    return None


def kanopy(value: str) -> list[dict[str, Any]]:
    """The `attributes` of a patron whose only attribute is Kanopy (LANSING) = value."""
    return [{"type": KANOPY_TYPE, "values": [value]}]


class AttributeApi:
    """The operations a staff client or API client uses, each one HTTP request."""

    def __init__(self, gql: GraphQL) -> None:
        self.gql = gql

    async def create_payload(self, token: str, **fields: Any) -> dict[str, Any]:
        fields = {"institution": "NEKLS", "userGroup": "ADULT", **fields}
        data = await self.gql.ok(CREATE, {"input": fields}, token)
        payload: dict[str, Any] = data["createPatron"]
        return payload

    async def create(self, token: str, **fields: Any) -> dict[str, Any]:
        payload = await self.create_payload(token, **fields)
        assert payload["errors"] == [], payload
        patron: dict[str, Any] = payload["patron"]
        return patron

    async def update_payload(self, token: str, **fields: Any) -> dict[str, Any]:
        data = await self.gql.ok(UPDATE, {"input": fields}, token)
        payload: dict[str, Any] = data["updatePatron"]
        return payload

    async def update(self, token: str, **fields: Any) -> dict[str, Any]:
        payload = await self.update_payload(token, **fields)
        assert payload["errors"] == [], payload
        patron: dict[str, Any] = payload["patron"]
        return patron

    async def read(self, token: str, patron_id: str) -> dict[str, Any]:
        data = await self.gql.ok(READ, {"id": patron_id}, token)
        node: dict[str, Any] = data["node"]
        assert node is not None, patron_id
        return node

    async def nodes(self, token: str, ids: list[str]) -> list[dict[str, Any] | None]:
        data = await self.gql.ok(NODES, {"ids": ids}, token)
        nodes: list[dict[str, Any] | None] = data["nodes"]
        return nodes

    async def viewer(self, token: str) -> dict[str, Any]:
        data = await self.gql.ok(VIEWER, token=token)
        patron: dict[str, Any] = data["viewer"]["patron"]
        return patron

    async def search(
        self, token: str, first: int | None = None, after: str | None = None, **flt: Any
    ) -> dict[str, Any]:
        variables = {"filter": flt or None, "first": first, "after": after}
        data = await self.gql.ok(SEARCH, variables, token)
        connection: dict[str, Any] = data["patrons"]
        return connection

    async def audit(self, token: str, patron_id: str) -> list[dict[str, Any]]:
        data = await self.gql.ok(AUDIT, {"id": patron_id}, token)
        return [edge["node"] for edge in data["node"]["auditLog"]["edges"]]

    async def visible_types(self, token: str) -> dict[str, Any]:
        return await self.gql.ok(VISIBLE_TYPES, token=token)

    async def create_type_payload(self, token: str, **fields: Any) -> dict[str, Any]:
        fields = {"institution": "NEKLS", **fields}
        data = await self.gql.ok(CREATE_TYPE, {"input": fields}, token)
        payload: dict[str, Any] = data["createAttributeType"]
        return payload

    async def create_type(self, token: str, **fields: Any) -> dict[str, Any]:
        payload = await self.create_type_payload(token, **fields)
        assert payload["errors"] == [], payload
        created: dict[str, Any] = payload["attributeType"]
        return created

    async def discrepancies(
        self,
        token: str,
        kind: str,
        first: int | None = None,
        after: str | None = None,
        attribute_type: str = KANOPY,
    ) -> dict[str, Any]:
        variables = {"type": attribute_type, "kind": kind, "first": first, "after": after}
        data = await self.gql.ok(DISCREPANCIES, variables, token)
        connection: dict[str, Any] = data["attributeDiscrepancies"]
        return connection

    async def report_ids(
        self, token: str, kind: str, page: int = 100, attribute_type: str = KANOPY
    ) -> list[int]:
        """Every row of a report, walking its pages; database ids in report order."""
        ids: list[int] = []
        after = None
        while True:
            connection = await self.discrepancies(token, kind, page, after, attribute_type)
            ids += [patron_pk(edge["node"]["id"]) for edge in connection["edges"]]
            if not connection["pageInfo"]["hasNextPage"]:
                return ids
            after = connection["pageInfo"]["endCursor"]

    async def apply_rule(
        self, token: str, ids: list[str], attribute_type: str = KANOPY
    ) -> dict[str, Any]:
        data = await self.gql.ok(APPLY_RULE, {"type": attribute_type, "ids": ids}, token)
        payload: dict[str, Any] = data["applyAttributeRule"]
        return payload

    async def create_client(
        self, token: str, scopes: list[str], library: str | None = "LANSING"
    ) -> str:
        """A client of NEKLS acting for `library` (LANSING: inside Kanopy's libraries)."""
        return await self.gql.api_client(token, scopes, name="Kanopy SIP2", library=library)


# ---------------------------------------------------------------- SQL, independent of the app


async def expected_report(
    connection: AsyncConnection,
    kind: str,
    type_code: str = KANOPY,
    scope: tuple[str, ...] = ("LANSING",),
    in_value: str = "ALLOWED",
    excluded: tuple[str, ...] = EXCLUDED_GROUPS,
) -> list[int]:
    """The ids a discrepancy report must list, straight from the tables, in id order."""
    has_in_value = (
        "EXISTS (SELECT 1 FROM patron_attribute a"
        " JOIN attribute_type t ON t.id = a.attribute_type_id"
        " WHERE a.patron_id = p.id AND t.institution_id = p.institution_id"
        " AND t.code = :type AND a.value = :value)"
    )
    scope_list = ", ".join(f":scope{i}" for i in range(len(scope)))
    params: dict[str, Any] = {"type": type_code, "value": in_value}
    params.update({f"scope{i}": code for i, code in enumerate(scope)})
    if kind == "MISSING_IN_SCOPE":
        excluded_list = ", ".join(f":excluded{i}" for i in range(len(excluded))) or "''"
        params.update({f"excluded{i}": code for i, code in enumerate(excluded)})
        where = (
            f"l.code IN ({scope_list}) AND NOT {has_in_value}"
            f" AND (g.code IS NULL OR g.code NOT IN ({excluded_list}))"
        )
    else:
        where = f"l.code NOT IN ({scope_list}) AND {has_in_value}"
    rows = await connection.execute(
        text(
            "SELECT p.id FROM patron p"
            " JOIN institution i ON i.id = p.institution_id"
            " JOIN library l ON l.id = p.home_library_id"
            " LEFT JOIN user_group g ON g.id = p.user_group_id"
            f" WHERE i.code = 'NEKLS' AND p.account_type = 'HOME' AND {where}"
            " ORDER BY p.id"
        ),
        params,
    )
    return [int(r[0]) for r in rows]


async def stored_values(
    connection: AsyncConnection, patron_id: int, type_code: str = KANOPY
) -> list[str]:
    """The values stored for a patron, whoever may see them."""
    rows = await connection.execute(
        text(
            "SELECT a.value FROM patron_attribute a"
            " JOIN attribute_type t ON t.id = a.attribute_type_id"
            " WHERE a.patron_id = :patron AND t.code = :type ORDER BY a.value"
        ),
        {"patron": patron_id, "type": type_code},
    )
    return [r[0] for r in rows]


async def count_rows(connection: AsyncConnection, sql: str, **params: Any) -> int:
    return int((await connection.execute(text(sql), params)).scalar_one())
