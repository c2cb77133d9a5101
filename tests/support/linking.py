"""Collaborative network tests: GraphQL documents and a driver over the real HTTP API.

The demo network: EASTERN and WESTERN are universities with linked account rules;
VISITOR is restricted at EASTERN, COMMUNITY at WESTERN; WESTERN patrons are found by
UNIV_ID only; EASTERN allows name search. Source patrons are created by each test (by
the source institution's staff) so every value is known.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import clock
from tests.support.graphql import GraphQL

COPY_FIELDS = """
fragment CopyFields on Patron {
  id
  institution { code }
  homeLibrary { code }
  userGroup { code }
  accountType
  barcode
  identifiers { type { code } value }
  givenName
  middleName
  preferredName
  surname
  primaryEmail
  contactEmails { address label }
  phone
  cohort
  formClass
  enabled
  expiryDate
  purgeDate
  blocks { type { code } note origin }
  linkedFrom { institution { code } ref rule { name } status }
  version
}
"""

MATCH_FIELDS = """
fragment MatchFields on NetworkPatron {
  ref
  institution { code }
  userGroup { code }
  givenName
  middleName
  preferredName
  surname
  primaryEmail
  contactEmails { address label }
  phone
  cohort
  formClass
  expiryDate
  linkedAccount { id }
}
"""

RULE_FIELDS = """
fragment RuleFields on LinkedAccountRule {
  id
  name
  description
  position
  isDefault
  conditions { parameter operator values }
  userGroup { code }
  expiry { mode date offsetDays }
  purge { mode date offsetDays }
  refreshExpiryDate
  refreshPurgeDate
  resourceSharingLibrary { code }
  copyNetworkBlocks
}
"""

SEARCH = (
    """query($input: NetworkPatronSearchInput!) {
  networkPatronSearch(input: $input) { matches { ...MatchFields } errors { code message field } }
}"""
    + MATCH_FIELDS
)

LINK = (
    """mutation($ref: ID!, $reason: LinkReason!) {
  linkAccount(input: {sourcePatron: $ref, reason: $reason}) {
    linkedAccount { ...CopyFields } created errors { code message field }
  }
}"""
    + COPY_FIELDS
)

REFRESH = (
    """mutation($id: ID!) {
  refreshLinkedAccount(input: {id: $id}) { linkedAccount { ...CopyFields } created errors { code message field } }
}"""
    + COPY_FIELDS
)

UNLINK = """mutation($id: ID!) {
  unlinkAccount(input: {id: $id}) { deletedId errors { code message field } }
}"""

READ = "query($id: ID!) { node(id: $id) { ...CopyFields } }" + COPY_FIELDS

CREATE_PATRON = (
    """mutation($input: CreatePatronInput!) {
  createPatron(input: $input) { patron { ...CopyFields } errors { code message field } }
}"""
    + COPY_FIELDS
)

UPDATE_PATRON = (
    """mutation($input: UpdatePatronInput!) {
  updatePatron(input: $input) { patron { ...CopyFields } errors { code message field } }
}"""
    + COPY_FIELDS
)

DELETE_PATRON = """mutation($id: ID!) {
  deletePatron(input: {id: $id}) { deletedId errors { code message field } }
}"""

ADD_BLOCK = """mutation($id: ID!, $type: String!, $note: String) {
  addPatronBlock(input: {patronId: $id, blockType: $type, note: $note}) {
    patron { id blocks { id type { code } note origin } } errors { code message field }
  }
}"""

REMOVE_BLOCK = """mutation($id: ID!) {
  removePatronBlock(input: {id: $id}) { patron { id } errors { code message field } }
}"""

BLOCK_IDS = "query($id: ID!) { node(id: $id) { ... on Patron { blocks { id type { code } } } } }"

RULES = (
    """query($code: String!) {
  institution(code: $code) { linkedAccountRules { ...RuleFields } }
}"""
    + RULE_FIELDS
)

CREATE_RULE = (
    """mutation($input: CreateLinkedAccountRuleInput!) {
  createLinkedAccountRule(input: $input) { rule { ...RuleFields } errors { code message field } }
}"""
    + RULE_FIELDS
)

UPDATE_RULE = (
    """mutation($input: UpdateLinkedAccountRuleInput!) {
  updateLinkedAccountRule(input: $input) { rule { ...RuleFields } errors { code message field } }
}"""
    + RULE_FIELDS
)

DUPLICATE_RULE = (
    """mutation($id: ID!) {
  duplicateLinkedAccountRule(input: {id: $id}) { rule { ...RuleFields } errors { code message field } }
}"""
    + RULE_FIELDS
)

DELETE_RULE = (
    """mutation($id: ID!) {
  deleteLinkedAccountRule(input: {id: $id}) { rules { ...RuleFields } errors { code message field } }
}"""
    + RULE_FIELDS
)

REORDER_RULES = (
    """mutation($institution: String!, $ids: [ID!]!) {
  reorderLinkedAccountRules(input: {institution: $institution, ruleIds: $ids}) {
    rules { ...RuleFields } errors { code message field }
  }
}"""
    + RULE_FIELDS
)

EVALUATE = """query($institution: String!, $source: String!, $group: String) {
  evaluateLinkedAccountRules(institution: $institution, sourceInstitution: $source,
                             sourceUserGroup: $group) {
    rule { name isDefault } userGroup { code } expiryDate purgeDate
  }
}"""

SET_SHARED = """mutation($institution: String!, $fields: [SharedFieldPolicyInput!]!) {
  setSharedFields(input: {institution: $institution, fields: $fields}) {
    institution { sharedFields { field shared } } errors { code message field }
  }
}"""

ADD_RESTRICTED = """mutation($institution: String!, $group: String!) {
  addRestrictedUserGroup(input: {institution: $institution, userGroup: $group}) {
    institution { restrictedUserGroups { userGroup { code } } } errors { code message field }
  }
}"""

SETTINGS = """mutation($institution: String!, $byName: Boolean) {
  updateInstitutionSettings(input: {institution: $institution, networkSearchByName: $byName}) {
    institution { settings { networkSearchByName } } errors { code message field }
  }
}"""


def today() -> date:
    return clock.today()


def day(offset: int) -> str:
    """today + offset days, as the API writes dates."""
    return (today() + timedelta(days=offset)).isoformat()


def rule_input(institution: str, name: str, **fields: Any) -> dict[str, Any]:
    """A CreateLinkedAccountRuleInput; every output NONE/false unless given."""
    return {
        "institution": institution,
        "name": name,
        "conditions": [],
        "userGroup": "WALKIN",
        "expiry": {"mode": "NONE"},
        "purge": {"mode": "NONE"},
        "refreshExpiryDate": False,
        "refreshPurgeDate": False,
        "copyNetworkBlocks": False,
        **fields,
    }


def eastern_only(*more: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"parameter": "SOURCE_INSTITUTION", "operator": "EQUALS", "values": ["EASTERN"]}, *more]


# The logins of the demo network used here: (username, library).
STAFF = {
    "eastern.admin": "EASTERN-MAIN",  # SYSTEM_ADMIN (so LIBRARIAN) of EASTERN
    "eastern.circ": "EASTERN-MAIN",  # CIRCULATION only
    "western.librarian": "WESTERN-MAIN",
    "western.admin": "WESTERN-MAIN",
    "lansing.librarian": "LANSING",
    "nekls.admin": "LANSING",
    "northfield.admin": "NORTHFIELD-MAIN",
    "network.admin": "LANSING",  # NETWORK_ADMIN only
}


class Net:
    """The network operations staff and discovery clients use, each one HTTP request."""

    def __init__(self, gql: GraphQL, connection: AsyncConnection) -> None:
        self.gql = gql
        self.connection = connection
        self._tokens: dict[str, str] = {}

    async def token(self, username: str) -> str:
        if username not in self._tokens:
            self._tokens[username] = await self.gql.login(username, STAFF[username])
        return self._tokens[username]

    async def _data(self, username: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        token = username if username.startswith("nzc_") else await self.token(username)
        return await self.gql.ok(query, variables, token)

    # ------------------------------------------------------------ patrons

    async def create_source(self, staff: str, /, **fields: Any) -> dict[str, Any]:
        """A HOME patron created by a librarian of its institution."""
        payload = (await self._data(staff, CREATE_PATRON, {"input": fields}))["createPatron"]
        assert payload["errors"] == [], payload
        patron: dict[str, Any] = payload["patron"]
        return patron

    async def eastern_source(self, n: int, **fields: Any) -> dict[str, Any]:
        """An EASTERN undergraduate with every shared and non-shared field set."""
        return await self.create_source(
            "eastern.admin",
            **{
                "institution": "EASTERN",
                "homeLibrary": "EASTERN-MAIN",
                "userGroup": "UNDERGRAD",
                "barcode": f"TEST-E{n:04d}",
                "identifiers": [{"type": "UNIV_ID", "value": f"TEST-EU{n:04d}"}],
                "givenName": "Erika",
                "middleName": "May",
                "preferredName": "Rika",
                "surname": f"Sourcefield{n}",
                "primaryEmail": f"erika{n}@east.example.org",
                "contactEmails": [{"address": f"home{n}@east.example.org", "label": "Home"}],
                "phone": "555-0100",
                "cohort": "2027",
                "formClass": "UG1",
                "expiryDate": day(400),
                **fields,
            },
        )

    async def western_source(self, n: int, **fields: Any) -> dict[str, Any]:
        """A WESTERN student (found by UNIV_ID only)."""
        return await self.create_source(
            "western.librarian",
            **{
                "institution": "WESTERN",
                "homeLibrary": "WESTERN-MAIN",
                "userGroup": "STUDENT",
                "barcode": f"TEST-W{n:04d}",
                "identifiers": [{"type": "UNIV_ID", "value": f"TEST-WU{n:04d}"}],
                "givenName": "Wanda",
                "surname": f"Westsource{n}",
                "primaryEmail": f"wanda{n}@west.example.org",
                "phone": "555-0200",
                "cohort": "2026",
                "expiryDate": day(300),
                **fields,
            },
        )

    async def update_payload(self, username: str, **fields: Any) -> dict[str, Any]:
        payload: dict[str, Any] = (await self._data(username, UPDATE_PATRON, {"input": fields}))[
            "updatePatron"
        ]
        return payload

    async def update(self, username: str, patron: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """updatePatron at the patron's current version; returns the patron after."""
        current = await self.read(username, patron["id"])
        assert current is not None
        payload = await self.update_payload(
            username, id=patron["id"], expectedVersion=current["version"], **fields
        )
        assert payload["errors"] == [], payload
        updated: dict[str, Any] = payload["patron"]
        return updated

    async def source_of(self, username: str, surname: str) -> dict[str, Any]:
        """The one HOME patron of the viewer's institution with this surname."""
        query = """query($i: String!, $s: String!) {
          patrons(institution: $i, filter: {search: $s, accountType: HOME}) {
            edges { node { id version } }
          }
        }"""
        token = await self.token(username)
        viewer = await self.gql.ok("{ viewer { institution { code } } }", token=token)
        institution = viewer["viewer"]["institution"]["code"]
        data = await self.gql.ok(query, {"i": institution, "s": surname}, token)
        edges = data["patrons"]["edges"]
        assert len(edges) == 1, edges
        node: dict[str, Any] = edges[0]["node"]
        return node

    async def delete(self, username: str, patron_id: str) -> dict[str, Any]:
        payload: dict[str, Any] = (await self._data(username, DELETE_PATRON, {"id": patron_id}))[
            "deletePatron"
        ]
        return payload

    async def read(self, username: str, patron_id: str) -> dict[str, Any] | None:
        node: dict[str, Any] | None = (await self._data(username, READ, {"id": patron_id}))["node"]
        return node

    async def add_block(
        self, username: str, patron_id: str, block_type: str, note: str | None = None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = (
            await self._data(
                username, ADD_BLOCK, {"id": patron_id, "type": block_type, "note": note}
            )
        )["addPatronBlock"]
        assert payload["errors"] == [], payload
        return payload

    async def remove_block(self, username: str, block_id: str) -> dict[str, Any]:
        payload: dict[str, Any] = (await self._data(username, REMOVE_BLOCK, {"id": block_id}))[
            "removePatronBlock"
        ]
        return payload

    async def block_ids(self, username: str, patron_id: str) -> dict[str, str]:
        node = (await self._data(username, BLOCK_IDS, {"id": patron_id}))["node"]
        return {b["type"]["code"]: b["id"] for b in node["blocks"]}

    # ------------------------------------------------------------ network search and linking

    async def search(self, username: str, **search: Any) -> dict[str, Any]:
        result: dict[str, Any] = (await self._data(username, SEARCH, {"input": search}))[
            "networkPatronSearch"
        ]
        return result

    async def find(self, username: str, identifier: str, **search: Any) -> dict[str, Any]:
        """The one match of an identifier search that must find exactly one patron."""
        result = await self.search(username, identifier=identifier, **search)
        assert result["errors"] == [], result
        assert len(result["matches"]) == 1, result
        match: dict[str, Any] = result["matches"][0]
        return match

    async def link_payload(
        self, username: str, ref: str, reason: str = "WALK_IN"
    ) -> dict[str, Any]:
        payload: dict[str, Any] = (
            await self._data(username, LINK, {"ref": ref, "reason": reason})
        )["linkAccount"]
        return payload

    async def link(self, username: str, ref: str, reason: str = "WALK_IN") -> dict[str, Any]:
        payload = await self.link_payload(username, ref, reason)
        assert payload["errors"] == [], payload
        return payload

    async def find_and_link(
        self, username: str, identifier: str, reason: str = "WALK_IN"
    ) -> dict[str, Any]:
        """Search an identifier, link the one match; returns the new linked account."""
        match = await self.find(username, identifier)
        payload = await self.link(username, match["ref"], reason)
        assert payload["created"] is True, payload
        copy: dict[str, Any] = payload["linkedAccount"]
        return copy

    async def refresh_payload(self, username: str, copy_id: str) -> dict[str, Any]:
        payload: dict[str, Any] = (await self._data(username, REFRESH, {"id": copy_id}))[
            "refreshLinkedAccount"
        ]
        return payload

    async def refresh(self, username: str, copy_id: str) -> dict[str, Any]:
        payload = await self.refresh_payload(username, copy_id)
        assert payload["errors"] == [], payload
        assert payload["created"] is False
        copy: dict[str, Any] = payload["linkedAccount"]
        return copy

    async def unlink(self, username: str, copy_id: str) -> dict[str, Any]:
        payload: dict[str, Any] = (await self._data(username, UNLINK, {"id": copy_id}))[
            "unlinkAccount"
        ]
        return payload

    # ------------------------------------------------------------ rules and settings

    async def rules(self, username: str, institution: str) -> list[dict[str, Any]]:
        data = await self._data(username, RULES, {"code": institution})
        return list(data["institution"]["linkedAccountRules"])

    async def rule_names(self, username: str, institution: str) -> list[str]:
        return [r["name"] for r in await self.rules(username, institution)]

    async def create_rule_payload(self, username: str, **fields: Any) -> dict[str, Any]:
        payload: dict[str, Any] = (await self._data(username, CREATE_RULE, {"input": fields}))[
            "createLinkedAccountRule"
        ]
        return payload

    async def create_rule(
        self, username: str, institution: str, name: str, **fields: Any
    ) -> dict[str, Any]:
        payload = await self.create_rule_payload(
            username, **rule_input(institution, name, **fields)
        )
        assert payload["errors"] == [], payload
        rule: dict[str, Any] = payload["rule"]
        return rule

    async def first_rule(self, username: str, institution: str, name: str, **fields: Any) -> Any:
        """A rule put first in the institution's order (so it is the one that applies)."""
        return await self.create_rule(username, institution, name, position=0, **fields)

    async def update_rule_payload(self, username: str, **fields: Any) -> dict[str, Any]:
        payload: dict[str, Any] = (await self._data(username, UPDATE_RULE, {"input": fields}))[
            "updateLinkedAccountRule"
        ]
        return payload

    async def duplicate_rule(self, username: str, rule_id: str) -> dict[str, Any]:
        payload: dict[str, Any] = (await self._data(username, DUPLICATE_RULE, {"id": rule_id}))[
            "duplicateLinkedAccountRule"
        ]
        return payload

    async def delete_rule(self, username: str, rule_id: str) -> dict[str, Any]:
        payload: dict[str, Any] = (await self._data(username, DELETE_RULE, {"id": rule_id}))[
            "deleteLinkedAccountRule"
        ]
        return payload

    async def reorder_rules(
        self, username: str, institution: str, ids: list[str]
    ) -> dict[str, Any]:
        payload: dict[str, Any] = (
            await self._data(username, REORDER_RULES, {"institution": institution, "ids": ids})
        )["reorderLinkedAccountRules"]
        return payload

    async def set_shared(self, username: str, institution: str, **fields: bool) -> None:
        policies = [{"field": f, "shared": s} for f, s in fields.items()]
        payload = (
            await self._data(username, SET_SHARED, {"institution": institution, "fields": policies})
        )["setSharedFields"]
        assert payload["errors"] == [], payload

    async def restrict(self, username: str, institution: str, group: str) -> None:
        payload = (
            await self._data(username, ADD_RESTRICTED, {"institution": institution, "group": group})
        )["addRestrictedUserGroup"]
        assert payload["errors"] == [], payload

    async def allow_name_search(self, username: str, institution: str, allowed: bool) -> None:
        payload = (
            await self._data(username, SETTINGS, {"institution": institution, "byName": allowed})
        )["updateInstitutionSettings"]
        assert payload["errors"] == [], payload

    # ------------------------------------------------------------ what the database holds

    async def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        result = await self.connection.execute(text(sql), params)
        return [dict(r._mapping) for r in result]

    async def scalar(self, sql: str, **params: Any) -> Any:
        return (await self.connection.execute(text(sql), params)).scalar()

    async def linked_accounts(self) -> list[dict[str, Any]]:
        """Every LINKED account: (target, source patron, status), in id order."""
        return await self.rows(
            "SELECT p.id, i.code AS target, p.link_source_patron_id AS source, "
            "p.link_status AS status, p.surname FROM patron p "
            "JOIN institution i ON i.id = p.institution_id "
            "WHERE p.account_type = 'LINKED' ORDER BY p.id"
        )

    async def audit(self, *actions: str) -> list[dict[str, Any]]:
        """Audit entries of these actions made by the test (the demo seed's left out)."""
        placeholders = ", ".join(f":a{i}" for i in range(len(actions)))
        params = {f"a{i}": a for i, a in enumerate(actions)}
        return await self.rows(
            "SELECT action, actor_name, entity_id, institution_id FROM audit_entry "
            f"WHERE action IN ({placeholders}) AND actor_name <> 'demo' ORDER BY id",
            **params,
        )

    async def institution_id(self, code: str) -> int:
        return int(await self.scalar("SELECT id FROM institution WHERE code = :c", c=code))

    async def rules_table(self) -> list[dict[str, Any]]:
        return await self.rows(
            "SELECT id, institution_id, name, position, is_default, user_group_id, expiry_mode, "
            "purge_mode FROM linked_account_rule ORDER BY id"
        )


FIND = """query($institution: String!, $q: String!) {
  patrons(institution: $institution, filter: {search: $q}) {
    edges { node { id version surname userGroup { code }
      consortialAccounts { institution { code } surname givenName cohort userGroup { code } ref } } }
  }
}"""


async def account(gql: GraphQL, token: str, institution: str, value: str) -> dict[str, Any]:
    edges = (await gql.ok(FIND, {"institution": institution, "q": value}, token))["patrons"][
        "edges"
    ]
    assert len(edges) == 1, edges
    node: dict[str, Any] = edges[0]["node"]
    return node


# A patron created for its id alone.
CREATE_PATRON_ID = """mutation($input: CreatePatronInput!) {
  createPatron(input: $input) { patron { id } errors { code message } }
}"""
