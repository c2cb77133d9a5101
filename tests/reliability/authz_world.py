"""The actors and the data of the authorization matrix (tests/reliability/test_authorization_matrix.py).

The owning institution is NEKLS and the owning library LANSING. Every actor is logged in
(or holds a client token) through the real HTTP API inside the test's rolled-back
transaction; the accounts the demo lacks (a patron, a generic account, a CIRCULATION
desk, API clients) are created through the API by NEKLS's system administrator.

Patrons can log in: a patron is an account with LIBRARY_USERS and a password, so the
"patron" actor is a NEKLS patron logged in at LANSING (its own library). The vendor path
of patrons (authenticatePatron, SIP2) is the `client_with_scope` actor of that operation.
"""

from __future__ import annotations

import hashlib
import itertools
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

import app.tables  # noqa: F401  (every table in the metadata)
from app.db import metadata
from tests.support.graphql import GraphQL

# Who calls, in the order the matrix lists them.
ACTORS = (
    "anonymous",
    "patron",  # a NEKLS patron (LIBRARY_USERS only), logged in at LANSING
    "generic",  # a NEKLS generic account (search station), logged in at LANSING
    "circulation",  # NEKLS staff with CIRCULATION, at LANSING
    "librarian_other_library",  # basehor.librarian: LIBRARIAN of NEKLS at BASEHOR
    "librarian",  # lansing.librarian: LIBRARIAN at the owning library
    "system_admin",  # nekls.admin at LANSING: SYSTEM_ADMIN of the owning institution
    "system_admin_other",  # eastern.admin: SYSTEM_ADMIN of another institution
    "network_admin",  # network.admin (NEKLS, NETWORK_ADMIN only) at LANSING
    "client_with_scope",  # a NEKLS API client holding the scope(s) the operation needs
    "client_without_scope",  # a NEKLS API client holding every other scope
)

ALL_SCOPES = ("patron_read", "linking", "patron_auth", "email", "attribute:KANOPY_LANSING")

PASSWORD = "Authz-matrix-pass-1"
DEMO = "netzone-demo"

STAFF_LOGINS = {
    "librarian_other_library": ("basehor.librarian", "BASEHOR"),
    "librarian": ("lansing.librarian", "LANSING"),
    "system_admin_other": ("eastern.admin", "EASTERN-MAIN"),
    "network_admin": ("network.admin", "LANSING"),
}

# What an allowed reader re-reads of a patron to prove a denial changed nothing (the
# version moves on every change; the rest names what a change would touch).
PATRON_ROW = """
fragment AuthzPatron on Patron {
  id version accountType username barcode givenName surname primaryEmail enabled expiryDate
  attributes { type { code } values } blocks { id type { code } origin }
  photo { contentType byteSize } loans(active: true) { totalCount } alerts { code }
  linkedFrom { status } auditLog(first: 100) { edges { node { actor action } } }
}
"""

CREATE_PATRON = """mutation($input: CreatePatronInput!) {
  createPatron(input: $input) {
    patron { id version username barcode surname primaryEmail } errors { code message field }
  }
}"""

READ_PATRON = "query($id: ID!) { node(id: $id) { ...AuthzPatron } }" + PATRON_ROW

SEARCH = """query($identifier: String!) {
  networkPatronSearch(input: {identifier: $identifier}) {
    matches { ref institution { code } linkedAccount { id } } errors { code message }
  }
}"""

LINK = """mutation($ref: ID!) {
  linkAccount(input: {sourcePatron: $ref, reason: MANUAL}) {
    linkedAccount { id version } created errors { code message field }
  }
}"""


def png(width: int = 4, height: int = 4) -> bytes:
    """A small valid PNG (grey), written by hand so the test needs no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@dataclass
class Upload:
    """One file of a GraphQL multipart request."""

    path: str  # e.g. "variables.input.file"
    name: str
    content: bytes
    mime: str


@dataclass
class World:
    """Tokens of every actor and helpers that create and read the data operations target."""

    gql: GraphQL
    http: httpx.AsyncClient
    connection: AsyncConnection
    tokens: dict[str, str | None] = field(default_factory=dict)
    accounts: dict[str, Any] = field(default_factory=dict)
    clients: dict[tuple[str, ...], str] = field(default_factory=dict)
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    reader: str = ""  # nekls.admin at LANSING (its own session): sets up and re-reads data
    _eastern: str = ""

    # ------------------------------------------------------------ set-up

    async def eastern(self) -> str:
        """eastern.admin (its own session): creates EASTERN data."""
        if not self._eastern:
            self._eastern = await self.login("eastern.admin", "EASTERN-MAIN")
        return self._eastern

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(self._serial)}"

    async def login(self, username: str, library: str, password: str = DEMO) -> str:
        return await self.gql.login(username, library, password)

    async def set_up(self, scope_sets: set[tuple[str, ...]]) -> None:
        """Log every actor in and create the API clients of every scope set (once per module)."""
        self.tokens["anonymous"] = None
        self.reader = await self.login("nekls.admin", "LANSING")
        self.tokens["system_admin"] = await self.login("nekls.admin", "LANSING")
        self.accounts["patron"] = await self.create_patron(
            username="authz.patron",
            password=PASSWORD,
            barcode="AUTHZ-PATRON",
            givenName="Pat",
            surname="Ron",
            userGroup="ADULT",
            primaryEmail="authz.patron@example.org",
        )
        self.accounts["generic"] = await self.create_patron(
            username="authz.generic",
            password=PASSWORD,
            surname="Search station",
            isGeneric=True,
            libraries=["LANSING"],
        )
        self.accounts["circulation"] = await self.create_patron(
            username="authz.circ",
            password=PASSWORD,
            surname="Desk",
            isStaff=True,
            userGroup="STAFF",
            systemGroups=["LIBRARY_USERS", "CIRCULATION"],
        )
        for actor in ("patron", "generic", "circulation"):
            username = self.accounts[actor]["username"]
            self.tokens[actor] = await self.login(username, "LANSING", PASSWORD)
        for actor, (username, library) in STAFF_LOGINS.items():
            self.tokens[actor] = await self.login(username, library)
        await self.eastern()
        for scopes in sorted(scope_sets):
            self.clients[scopes] = await self.client(list(scopes))

    def for_test(self, gql: GraphQL, http: httpx.AsyncClient, connection: AsyncConnection) -> World:
        """This module's actors, for one test (its own HTTP client and per-test data)."""
        return World(
            gql=gql,
            http=http,
            connection=connection,
            tokens=dict(self.tokens),
            accounts={k: v for k, v in self.accounts.items() if k != "_once"},
            clients=self.clients,
            _serial=self._serial,
            reader=self.reader,
            _eastern=self._eastern,
        )

    def use_clients(self, with_scope: tuple[str, ...], without: tuple[str, ...]) -> None:
        self.tokens["client_with_scope"] = self.clients[with_scope]
        self.tokens["client_without_scope"] = self.clients[without]

    async def client(self, scopes: list[str]) -> str:
        return await self.gql.api_client(
            self.reader, scopes, name=self.unique("authz client "), library="LANSING"
        )

    # ------------------------------------------------------------ calls

    async def call(
        self,
        actor: str,
        document: str,
        variables: dict[str, Any] | None = None,
        upload: Upload | None = None,
    ) -> dict[str, Any]:
        """The JSON body of one operation sent as `actor` (HTTP 200 required)."""
        token = self.tokens[actor]
        return await self.send(token, document, variables, upload)

    async def send(
        self,
        token: str | None,
        document: str,
        variables: dict[str, Any] | None = None,
        upload: Upload | None = None,
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        if upload is None:
            response = await self.http.post(
                "/graphql", json={"query": document, "variables": variables or {}}, headers=headers
            )
        else:
            operations = {"query": document, "variables": variables or {}}
            response = await self.http.post(
                "/graphql",
                data={
                    "operations": orjson.dumps(operations).decode(),
                    "map": orjson.dumps({"0": [upload.path]}).decode(),
                },
                files={"0": (upload.name, upload.content, upload.mime)},
                headers=headers,
            )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def ok(
        self, token: str, document: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return await self.gql.ok(document, variables, token)

    # ------------------------------------------------------------ data

    async def create_patron(self, token: str | None = None, **fields: Any) -> dict[str, Any]:
        """A NEKLS patron at LANSING (unless the fields say otherwise), made by nekls.admin."""
        fields = {"institution": "NEKLS", "homeLibrary": "LANSING", **fields}
        data = await self.ok(token or self.reader, CREATE_PATRON, {"input": fields})
        payload = data["createPatron"]
        assert payload["errors"] == [], payload
        patron: dict[str, Any] = payload["patron"]
        return patron

    async def target_patron(self, **fields: Any) -> dict[str, Any]:
        """A LANSING patron with a barcode, an email and the Kanopy attribute set."""
        barcode = self.unique("AUTHZ-T")
        defaults: dict[str, Any] = {
            "barcode": barcode,
            "givenName": "Tara",
            "surname": f"Target {barcode}",
            "userGroup": "ADULT",
            "primaryEmail": f"{barcode.lower()}@example.org",
            "attributes": [{"type": "KANOPY_LANSING", "values": ["ALLOWED"]}],
        }
        return await self.create_patron(**{**defaults, **fields})

    async def eastern_patron(self, **fields: Any) -> dict[str, Any]:
        """An EASTERN student (a source for NEKLS's linked accounts), made by eastern.admin."""
        barcode = self.unique("AUTHZ-E")
        defaults: dict[str, Any] = {
            "institution": "EASTERN",
            "homeLibrary": "EASTERN-MAIN",
            "barcode": barcode,
            "givenName": "Ed",
            "surname": f"Source {barcode}",
            "userGroup": "UNDERGRAD",
            "primaryEmail": f"{barcode.lower()}@eastern.example.edu",
        }
        return await self.create_patron(await self.eastern(), **{**defaults, **fields})

    async def ref_of(self, barcode: str, token: str | None = None) -> str:
        """The NEKLS network-search ref of a patron of another institution."""
        data = await self.ok(token or self.reader, SEARCH, {"identifier": barcode})
        matches = data["networkPatronSearch"]["matches"]
        assert len(matches) == 1, data
        ref: str = matches[0]["ref"]
        return ref

    async def linked_copy(self) -> dict[str, Any]:
        """A NEKLS linked account of a fresh EASTERN patron."""
        source = await self.eastern_patron()
        ref = await self.ref_of(source["barcode"])
        data = await self.ok(self.reader, LINK, {"ref": ref})
        payload = data["linkAccount"]
        assert (payload["errors"], payload["created"]) == ([], True), payload
        copy: dict[str, Any] = payload["linkedAccount"]
        return copy

    async def read_patron(self, patron_id: str, token: str | None = None) -> dict[str, Any] | None:
        data = await self.ok(token or self.reader, READ_PATRON, {"id": patron_id})
        node: dict[str, Any] | None = data["node"]
        return node


# ---------------------------------------------------------------- nothing written


async def fingerprint(connection: AsyncConnection) -> dict[str, tuple[int, str]]:
    """(row count, digest of every row) of every table: equal before and after = nothing written."""
    out: dict[str, tuple[int, str]] = {}
    for table in metadata.sorted_tables:
        keys = ", ".join(f'"{c.name}"' for c in table.primary_key.columns) or "1"
        result = await connection.execute(
            text(f'SELECT * FROM "{table.name}" ORDER BY {keys}')  # noqa: S608
        )
        rows = result.all()
        digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
        out[table.name] = (len(rows), digest)
    return out


async def row_counts(connection: AsyncConnection) -> dict[str, int]:
    """Row counts of every table, in one statement (cheap enough to take around every call)."""
    parts = [
        f"SELECT '{t.name}' AS name, count(*) AS n FROM \"{t.name}\""  # noqa: S608
        for t in metadata.sorted_tables
    ]
    result = await connection.execute(text(" UNION ALL ".join(parts)))
    return {name: int(n) for name, n in result.all()}


def changed_tables(
    before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]
) -> list[str]:
    return sorted(name for name in before if before[name] != after.get(name))
