"""Circulation tests: GraphQL documents and a small driver over the real HTTP API.

The demo network: NEKLS has ADULT (21 days) and no library groups; NORTHFIELD has the
library group "Teachers", so its non-students need one to borrow; EASTERN and WESTERN are
universities (WESTERN patrons are found by UNIV_ID only). Borrowers are created by each
test so every value is known; a few checks read the loan table directly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.graphql import GraphQL
from tests.support.patrons import PASSWORD, PatronApi

LOAN_FIELDS = """
fragment LoanFields on Loan {
  id
  itemBarcode
  library { code }
  loanedAt
  dueAt
  returnedAt
}
"""

CHECK_OUT = (
    """mutation($input: CheckOutInput!) {
  checkOut(input: $input) { loan { ...LoanFields } errors { code message field } }
}"""
    + LOAN_FIELDS
)

CHECK_IN = (
    """mutation($item: String!) {
  checkIn(input: {itemBarcode: $item}) { loan { ...LoanFields } errors { code message field } }
}"""
    + LOAN_FIELDS
)

LOANS = (
    """query($id: ID!, $first: Int, $after: String, $active: Boolean) {
  node(id: $id) {
    ... on Patron {
      loans(first: $first, after: $after, active: $active) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { ...LoanFields } }
      }
    }
  }
}"""
    + LOAN_FIELDS
)

LOAN_NODE = "query($id: ID!) { node(id: $id) { ... on Loan { ...LoanFields } } }" + LOAN_FIELDS

ADD_BLOCK = """mutation($input: AddPatronBlockInput!) {
  addPatronBlock(input: $input) { patron { id blocks { type { code } } } errors { code message field } }
}"""

CREATE_BLOCK_TYPE = """mutation($input: CreateBlockTypeInput!) {
  createBlockType(input: $input) { blockType { code blocksLoans } errors { code message field } }
}"""

CREATE_USER_GROUP = """mutation($input: CreateUserGroupInput!) {
  createUserGroup(input: $input) { userGroup { code loanPeriodDays } errors { code message field } }
}"""

NETWORK_SEARCH = """query($input: NetworkPatronSearchInput!) {
  networkPatronSearch(input: $input) {
    matches { ref institution { code } surname linkedAccount { id accountType } }
    errors { code message field }
  }
}"""

CREATE_RULE = """mutation($input: CreateLinkedAccountRuleInput!) {
  createLinkedAccountRule(input: $input) {
    rule { id name position resourceSharingLibrary { code } userGroup { code } }
    errors { code message field }
  }
}"""

UNLINK = """mutation($id: ID!) {
  unlinkAccount(input: {id: $id}) { deletedId errors { code message field } }
}"""

LINKED_ACCOUNT = """query($id: ID!) {
  node(id: $id) {
    ... on Patron {
      id accountType institution { code } homeLibrary { code } userGroup { code }
      linkedFrom { institution { code } rule { name } status }
    }
  }
}"""


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, value
    return parsed


def end_of_day(day: date) -> datetime:
    """The last second of a day in the network's time zone (UTC in the tests)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


class CirculationApi:
    """The circulation operations a desk client uses, each one HTTP request."""

    def __init__(self, gql: GraphQL, patrons: PatronApi) -> None:
        self.gql = gql
        self.patrons = patrons

    async def borrower(self, token: str, **fields: Any) -> dict[str, Any]:
        """A new NEKLS adult (unless the fields say otherwise) who may borrow."""
        fields = {"surname": "Borrower", "userGroup": "ADULT", **fields}
        return await self.patrons.create(token, **fields)

    async def check_out_payload(self, token: str | None, **fields: Any) -> dict[str, Any]:
        data = await self.gql.ok(CHECK_OUT, {"input": fields}, token)
        payload: dict[str, Any] = data["checkOut"]
        return payload

    async def check_out(
        self, token: str, patron_id: str, item: str, **fields: Any
    ) -> dict[str, Any]:
        """Lend an item that must be lent; returns the loan."""
        payload = await self.check_out_payload(
            token, patronId=patron_id, itemBarcode=item, **fields
        )
        assert payload["errors"] == [], payload
        loan: dict[str, Any] = payload["loan"]
        assert loan["itemBarcode"] == item.strip()
        return loan

    async def refused(self, token: str, patron_id: str, item: str, **fields: Any) -> dict[str, Any]:
        """A checkout that must fail; returns its only error."""
        payload = await self.check_out_payload(
            token, patronId=patron_id, itemBarcode=item, **fields
        )
        assert payload["loan"] is None, payload
        assert len(payload["errors"]) == 1, payload
        error: dict[str, Any] = payload["errors"][0]
        return error

    async def check_in_payload(self, token: str | None, item: str) -> dict[str, Any]:
        data = await self.gql.ok(CHECK_IN, {"item": item}, token)
        payload: dict[str, Any] = data["checkIn"]
        return payload

    async def check_in(self, token: str, item: str) -> dict[str, Any]:
        payload = await self.check_in_payload(token, item)
        assert payload["errors"] == [], payload
        loan: dict[str, Any] = payload["loan"]
        return loan

    async def loans(
        self,
        token: str,
        patron_id: str,
        first: int | None = None,
        after: str | None = None,
        active: bool | None = None,
    ) -> dict[str, Any]:
        variables = {"id": patron_id, "first": first, "after": after, "active": active}
        data = await self.gql.ok(LOANS, variables, token)
        assert data["node"] is not None, f"patron {patron_id} is not visible"
        connection: dict[str, Any] = data["node"]["loans"]
        return connection

    async def items_on_loan(self, token: str, patron_id: str) -> list[str]:
        connection = await self.loans(token, patron_id, active=True)
        return [edge["node"]["itemBarcode"] for edge in connection["edges"]]

    async def block(
        self, token: str, patron_id: str, block_type: str = "FINES", **fields: Any
    ) -> None:
        data = await self.gql.ok(
            ADD_BLOCK, {"input": {"patronId": patron_id, "blockType": block_type, **fields}}, token
        )
        assert data["addPatronBlock"]["errors"] == [], data

    async def staff(
        self, token: str, username: str, groups: list[str], **fields: Any
    ) -> tuple[dict[str, Any], str]:
        """A new staff account with these roles, and a session of it at its home library."""
        patron = await self.patrons.create(
            token,
            surname="Desk",
            givenName=username,
            username=username,
            password=PASSWORD,
            isStaff=True,
            systemGroups=groups,
            **fields,
        )
        session = await self.gql.login(username, patron["homeLibrary"]["code"], password=PASSWORD)
        return patron, session


async def loan_rows(connection: AsyncConnection, item: str | None = None) -> list[dict[str, Any]]:
    """Rows of the loan table (all, or of one item barcode), oldest first."""
    query = "SELECT id, patron_id, item_barcode, active_item_key, returned_at FROM loan"
    params: dict[str, Any] = {}
    if item is not None:
        query += " WHERE item_barcode = :item"
        params["item"] = item
    rows = await connection.execute(text(query + " ORDER BY id"), params)
    return [dict(row._mapping) for row in rows]


async def loan_count(connection: AsyncConnection) -> int:
    return int((await connection.execute(text("SELECT count(*) FROM loan"))).scalar_one())
