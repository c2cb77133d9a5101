"""SIP2 tests: the real TCP server on port 0, serving the test's rolled-back transaction.

The demo network has the SIP accounts `kanopy-lansing` (NEKLS, library LANSING, sends
KANOPY_LANSING as its code in field XK) and `nekls-vendor` (all of NEKLS, AO = home
library, home library as AF), both with secret netzone-demo. Patrons are created by each
test through the GraphQL API so every value is known.

Responses are read with a parser written here from the SIP2 2.00 layouts, independent of
app.sip2.protocol, so a mistake in the server's framing cannot cancel itself out.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.clock import today
from app.db import Database
from app.settings import Settings
from app.sip2.server import SipServer
from tests.support.graphql import GraphQL

PIN = "Kanopy-Pin-2026"
SECRET = "netzone-demo"
TRANSACTION_DATE = "20261124    101500"
DATE_FIELD = re.compile(r"\d{8} {4}\d{6}")

# Fixed parts of the responses netzone sends (SIP2 2.00), name and width, in order.
LAYOUTS: dict[str, list[tuple[str, int]]] = {
    "94": [("ok", 1)],
    "96": [],
    "98": [
        ("online", 1),
        ("checkin_ok", 1),
        ("checkout_ok", 1),
        ("renewal_policy", 1),
        ("status_update_ok", 1),
        ("offline_ok", 1),
        ("timeout", 3),
        ("retries", 3),
        ("date", 18),
        ("version", 4),
    ],
    "24": [("status", 14), ("language", 3), ("date", 18)],
    "64": [
        ("status", 14),
        ("language", 3),
        ("date", 18),
        ("holds", 4),
        ("overdue", 4),
        ("charged", 4),
        ("fines", 4),
        ("recalls", 4),
        ("unavailable_holds", 4),
    ],
    "36": [("end_session", 1), ("date", 18)],
    # Responses to messages netzone does not offer (each says no).
    "10": [("ok", 1), ("resensitize", 1), ("magnetic", 1), ("alert", 1), ("date", 18)],
    "12": [("ok", 1), ("renewal_ok", 1), ("magnetic", 1), ("desensitize", 1), ("date", 18)],
    "16": [("ok", 1), ("available", 1), ("date", 18)],
    "18": [("circulation", 2), ("security", 2), ("fee_type", 2), ("date", 18)],
    "20": [("ok", 1), ("date", 18)],
    "26": [("status", 14), ("language", 3), ("date", 18)],
    "30": [("ok", 1), ("renewal_ok", 1), ("magnetic", 1), ("desensitize", 1), ("date", 18)],
    "38": [("ok", 1), ("date", 18)],
    "66": [("ok", 1), ("renewed", 4), ("unrenewed", 4), ("date", 18)],
}


def checksum(data: bytes) -> str:
    """The SIP2 checksum, written out again for the tests."""
    total = 0
    for byte in data:
        total += byte
    return format((0x10000 - (total & 0xFFFF)) & 0xFFFF, "04X")


def with_error_detection(body: str, sequence: int | None = 0, encoding: str = "utf-8") -> bytes:
    data = body.encode(encoding)
    if sequence is not None:
        data += f"AY{sequence}".encode()
    data += b"AZ"
    return data + checksum(data).encode() + b"\r"


@dataclass
class Response:
    """A response taken apart: fixed fields by name, variable fields in order."""

    raw: bytes
    code: str
    fixed: dict[str, str]
    fields: list[tuple[str, str]] = field(default_factory=list)
    sequence: str | None = None
    checksum: str | None = None

    def get(self, code: str) -> list[str]:
        return [value for fid, value in self.fields if fid == code]


def read_response(raw: bytes, encoding: str = "utf-8") -> Response:
    """Split a response by its layout; check its terminator and its checksum if any."""
    assert raw.endswith(b"\r"), raw
    body = raw[:-1]
    checksum_value = sequence = None
    match = re.search(rb"(AY(\d))?AZ([0-9A-F]{4})$", body)
    if match is not None:
        checksum_value = match.group(3).decode()
        assert checksum(body[: match.start(3)]) == checksum_value, raw
        sequence = match.group(2).decode() if match.group(2) else None
        body = body[: match.start()]
    text_ = body.decode(encoding)
    code, rest = text_[:2], text_[2:]
    fixed: dict[str, str] = {}
    for name, width in LAYOUTS[code]:
        fixed[name], rest = rest[:width], rest[width:]
        assert len(fixed[name]) == width, (name, raw)
    fields: list[tuple[str, str]] = []
    if rest:
        assert rest.endswith("|"), raw
        fields = [(part[:2], part[2:]) for part in rest[:-1].split("|")]
    return Response(raw, code, fixed, fields, sequence, checksum_value)


class SipClient:
    """A raw SIP2 connection: sends bytes, reads CR-terminated responses.

    The fixture's client opens its connection on first use, so a test's set-up over
    GraphQL (which can take seconds on a loaded machine) never runs into the server's
    idle timeout."""

    def __init__(
        self,
        reader: asyncio.StreamReader | None = None,
        writer: asyncio.StreamWriter | None = None,
        port: int | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._port = port

    @classmethod
    async def connect(cls, port: int) -> SipClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    @classmethod
    def on_first_use(cls, port: int) -> SipClient:
        return cls(port=port)

    async def open(self) -> None:
        if self._reader is None:
            assert self._port is not None
            self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self._port)

    @property
    def reader(self) -> asyncio.StreamReader:
        assert self._reader is not None, "not connected yet"
        return self._reader

    @property
    def writer(self) -> asyncio.StreamWriter:
        assert self._writer is not None, "not connected yet"
        return self._writer

    async def send(self, data: bytes) -> None:
        await self.open()
        self.writer.write(data)
        await self.writer.drain()

    async def receive(self, within: float = 10) -> bytes:
        await self.open()
        return await asyncio.wait_for(self.reader.readuntil(b"\r"), within)

    async def exchange(self, data: bytes, encoding: str = "utf-8") -> Response:
        await self.send(data)
        return read_response(await self.receive(), encoding)

    async def login(self, login_id: str = "kanopy-lansing", secret: str = SECRET) -> Response:
        return await self.exchange(with_error_detection(f"9300CN{login_id}|CO{secret}|CPLANSING|"))

    async def patron_information(
        self,
        barcode: str,
        pin: str | None = PIN,
        sequence: int | None = 1,
        encoding: str = "utf-8",
    ) -> Response:
        pin_field = f"AD{pin}|" if pin is not None else ""
        body = f"63000{TRANSACTION_DATE}{' ' * 10}AONEKLS|AA{barcode}|AC|{pin_field}BP1|BQ5|"
        return await self.exchange(with_error_detection(body, sequence, encoding), encoding)

    async def patron_status(self, barcode: str, pin: str = PIN, sequence: int = 1) -> Response:
        body = f"23000{TRANSACTION_DATE}AONEKLS|AA{barcode}|AC|AD{pin}|"
        return await self.exchange(with_error_detection(body, sequence))

    async def closed_by_server(self, within: float = 10) -> bool:
        """True once the server has closed the connection (what it sent is read away)."""
        return await self.read_until_closed(within) is not None

    async def read_until_closed(self, within: float = 10) -> bytes | None:
        """Everything the server sends until it closes the connection; None if it does not."""
        await self.open()
        received = b""
        try:
            async with asyncio.timeout(within):
                while chunk := await self.reader.read(4096):
                    received += chunk
        except TimeoutError:
            return None
        except ConnectionError:
            pass
        return received

    async def close(self) -> None:
        if self._writer is None:
            return
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


@asynccontextmanager
async def running_server(database: Database, settings: Settings) -> AsyncIterator[SipServer]:
    """A SIP2 server on a free port; one request at a time (the test's transaction is one
    database connection)."""
    server = SipServer(database, settings, max_concurrent_requests=1)
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.close()


# ---------------------------------------------------------------- patrons, over GraphQL

CREATE_PATRON = """mutation($input: CreatePatronInput!) {
  createPatron(input: $input) {
    patron { id barcode attributes { type { code } values } }
    errors { code message field }
  }
}"""

ADD_BLOCK = """mutation($input: AddPatronBlockInput!) {
  addPatronBlock(input: $input) { errors { code message field } }
}"""


@dataclass(frozen=True)
class SipPatron:
    id: str
    barcode: str


class Patrons:
    """Creates NEKLS patrons as the librarian of their home library."""

    def __init__(self, gql: GraphQL) -> None:
        self.gql = gql
        self.tokens: dict[str, str] = {}

    async def token(self, library: str) -> str:
        if library not in self.tokens:
            username = {"LANSING": "lansing.librarian", "BASEHOR": "basehor.librarian"}[library]
            self.tokens[library] = await self.gql.login(username, library)
        return self.tokens[library]

    async def create(self, barcode: str, home_library: str = "LANSING", **fields: Any) -> SipPatron:
        values = {
            "institution": "NEKLS",
            "homeLibrary": home_library,
            "userGroup": "ADULT",
            "barcode": barcode,
            "username": f"patron.{barcode.lower()}",
            "password": PIN,
            "givenName": "Katherine",
            "surname": "Streamer",
            "expiryDate": "2099-12-31",
            **fields,
        }
        data = await self.gql.ok(CREATE_PATRON, {"input": values}, await self.token(home_library))
        payload = data["createPatron"]
        assert payload["errors"] == [], payload
        return SipPatron(payload["patron"]["id"], barcode)

    async def block(self, patron: SipPatron, block_type: str) -> None:
        data = await self.gql.ok(
            ADD_BLOCK,
            {"input": {"patronId": patron.id, "blockType": block_type}},
            await self.token("LANSING"),
        )
        assert data["addPatronBlock"]["errors"] == [], data

    async def client_token(self, scopes: list[str]) -> str:
        admin = await self.gql.login("nekls.admin", "LANSING")
        return await self.gql.api_client(admin, scopes, name="Kanopy", library="LANSING")


async def set_patron(connection: AsyncConnection, barcode: str, **values: Any) -> None:
    """Change a patron's columns directly (states the API would refuse to create)."""
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    await connection.execute(
        text(
            f"UPDATE patron SET {assignments} WHERE id = (SELECT patron_id FROM"  # noqa: S608
            " patron_identifier WHERE value_key = :key)"
        ),
        {**values, "key": barcode.lower()},
    )


async def audit_entries(connection: AsyncConnection, action: str) -> list[dict[str, Any]]:
    rows = await connection.execute(
        text(
            "SELECT actor_name, entity_id, changes FROM audit_entry WHERE action = :action"
            " ORDER BY id"
        ),
        {"action": action},
    )
    out = []
    for actor_name, entity_id, changes in rows:
        if isinstance(changes, str):
            changes = json.loads(changes)
        out.append({"actor": actor_name, "entity_id": entity_id, "changes": changes})
    return out


def yesterday() -> date:
    return date.fromordinal(today().toordinal() - 1)
