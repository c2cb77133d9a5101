"""Bad input: every request here is broken in one way. Each must be refused with a clear,
specific error (its code, and a message naming the problem), write nothing, and leave the
server serving the next normal request.

Already covered elsewhere, and not repeated here: request limits at their exact
boundaries (tests/graphql/test_limits.py), invalid JSON and text/plain bodies
(tests/graphql/test_http.py), CSV files refused as a whole: unbalanced quotes, Latin-1 and
UTF-16 files, empty and header-only files, a cell over the CSV field limit
(tests/imports/test_bad_files.py), photos: text, truncated PNG, bomb, GIF, empty, over the
byte limit (tests/graphql/test_blocks_photos.py). This battery takes the variants those
leave out, at sizes and shapes far past the limits.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.graphql.ids import encode_id
from tests.reliability import fuzz_payloads as bad
from tests.reliability.counts import record
from tests.support.graphql import GraphQL
from tests.support.ids import patron_pk
from tests.support.imports import HEADER, IMPORT, student, to_csv

# Tables any of these requests could write to: their row counts must not move.
TABLES = (
    "institution",
    "library",
    "library_group",
    "user_group",
    "patron",
    "patron_identifier",
    "patron_contact_email",
    "patron_library_group",
    "patron_system_group",
    "patron_attribute",
    "patron_photo",
    "patron_block",
    "import_job",
    "import_row_error",
    "audit_entry",
    "auth_token",
)

VIEWER = "{ viewer { systemGroups } }"
SET_PHOTO = """mutation($id: ID!, $file: Upload!) {
  setPatronPhoto(input: {patronId: $id, file: $file}) {
    patron { id version } errors { code message field } } }"""
UPDATE_PATRON = """mutation($input: UpdatePatronInput!) {
  updatePatron(input: $input) { patron { id version } errors { code message field } } }"""
CREATE_GROUP = """mutation($input: CreateLibraryGroupInput!) {
  createLibraryGroup(input: $input) { libraryGroup { id } errors { code message field } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
MEMBERSHIPS = """mutation($input: ImportLibraryGroupMembershipsInput!) {
  importLibraryGroupMemberships(input: $input) {
    written problems { where code message } errors { code message field } } }"""
PHOTOS = """mutation($input: ImportPatronPhotosInput!) {
  importPatronPhotos(input: $input) {
    written problems { where code message } errors { code message field } } }"""


@dataclass
class World:
    """What the cases need: the client, logins and a patron to aim at."""

    client: httpx.AsyncClient
    librarian: str  # lansing.librarian at LANSING
    northfield: str  # northfield.admin at NORTHFIELD-MAIN (imports)
    patron_id: str  # a NEKLS patron the librarian may edit
    version: int

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"authorization": f"Bearer {token or self.librarian}"}

    async def post(self, content: bytes | Any, content_type: str | None) -> httpx.Response:
        headers = self.auth()
        if content_type is not None:
            headers["content-type"] = content_type
        return await self.client.post("/graphql", content=content, headers=headers)

    async def json(self, body: Any) -> httpx.Response:
        return await self.post(orjson.dumps(body), "application/json")

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> httpx.Response:
        headers = {**self.auth(token), "content-type": "application/json"}
        body = orjson.dumps({"query": query, "variables": variables or {}})
        return await self.client.post("/graphql", content=body, headers=headers)

    async def multipart(
        self,
        query: str,
        variables: dict[str, Any],
        files: dict[str, tuple[str, bytes, str]],
        paths: dict[str, list[str]],
        token: str | None = None,
    ) -> httpx.Response:
        return await self.client.post(
            "/graphql",
            data={
                "operations": orjson.dumps({"query": query, "variables": variables}).decode(),
                "map": orjson.dumps(paths).decode(),
            },
            files=files,
            headers=self.auth(token),
        )

    async def photo(self, data: bytes, name: str = "photo.png") -> httpx.Response:
        return await self.multipart(
            SET_PHOTO,
            {"id": self.patron_id, "file": None},
            {"0": (name, data, "image/png")},
            {"0": ["variables.file"]},
        )

    async def import_csv(self, content: bytes) -> httpx.Response:
        variables = {
            "input": {
                "institution": "NORTHFIELD",
                "file": None,
                "matchOn": "ADMIN_SYSTEM_ID",
                "mode": "UPSERT",
                "dryRun": False,
            }
        }
        return await self.multipart(
            IMPORT,
            variables,
            {"0": ("patrons.csv", content, "text/csv")},
            {"0": ["variables.input.file"]},
            self.northfield,
        )

    async def import_other(self, query: str, content: bytes, name: str) -> httpx.Response:
        variables = {"input": {"institution": "NORTHFIELD", "file": None, "dryRun": False}}
        return await self.multipart(
            query,
            variables,
            {"0": (name, content, "application/octet-stream")},
            {"0": ["variables.input.file"]},
            self.northfield,
        )

    async def update_surname(self, surname: str) -> httpx.Response:
        return await self.gql(
            UPDATE_PATRON,
            {"input": {"id": self.patron_id, "expectedVersion": self.version, "surname": surname}},
        )


@dataclass(frozen=True)
class Case:
    """A bad request and how it must be refused.

    where: "top" (a top-level error, with `code` in extensions), "payload" (a mutation
    payload error with this `code`), "job" (an accepted import whose rows all failed),
    or "null" (node/nodes: nothing by that id, no error).
    """

    send: Callable[[World], Awaitable[httpx.Response]]
    status: int
    code: str | None
    words: str
    where: str = "top"


def _ids(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def _nested(levels: int) -> str:
    return "{ " + "viewer { " * levels + "systemGroups" + " }" * levels + " }"


def _fragment_chain(length: int) -> str:
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(length))
    return chain + f" fragment F{length} on Query {VIEWER} {{ ...F0 }}"


def _aliases(count: int, field: str = "__typename") -> str:
    return "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }"


def _mutation_aliases(count: int) -> str:
    one = 'createLibraryGroup(input: {institution: "NEKLS", name: "Flood %d"}) { errors { code } }'
    return "mutation { " + " ".join(f"m{i}: " + one % i for i in range(count)) + " }"


async def _chunks(total: int) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * 65536
        sent += 65536


TOO_LARGE = "larger than 1048576 bytes"
NOT_JSON = "Unable to parse request body as JSON"
NOT_AN_OPERATION = "must be a GraphQL operation"
UNSUPPORTED = "Unsupported content type"
NOT_UTF8 = "not UTF-8"
NOT_READABLE = "not a readable image"
TOO_MANY_PIXELS = "pixels"
NUL = "NUL characters"

CASES: dict[str, Case] = {
    # ------------------------------------------------------------ oversized bodies
    "body-2mb-declared": Case(
        lambda w: w.post(
            b'{"query": "' + b" " * (2 * bad.ONE_MIB) + VIEWER.encode() + b'"}', "application/json"
        ),
        413,
        "PAYLOAD_TOO_LARGE",
        TOO_LARGE,
    ),
    "body-3mb-streamed-without-length": Case(
        lambda w: w.post(_chunks(3 * bad.ONE_MIB), "application/json"),
        413,
        "PAYLOAD_TOO_LARGE",
        TOO_LARGE,
    ),
    "upload-over-50mb": Case(
        lambda w: w.photo(b"\x89PNG" + b"\x00" * (51 * bad.ONE_MIB)),
        413,
        "PAYLOAD_TOO_LARGE",
        "larger than 52428800 bytes",
    ),
    # ------------------------------------------------------------ huge fields
    "surname-1mb": Case(
        lambda w: w.update_surname("x" * bad.ONE_MIB), 413, "PAYLOAD_TOO_LARGE", TOO_LARGE
    ),
    "surname-900kb": Case(
        lambda w: w.update_surname("x" * 900_000), 200, "INVALID_INPUT", "at most", "payload"
    ),
    "surname-10mb-through-multipart": Case(
        lambda w: w.multipart(
            UPDATE_PATRON,
            {"input": {"id": w.patron_id, "expectedVersion": w.version, "surname": "x" * 10**7}},
            {"0": ("unused.txt", b"", "text/plain")},
            {},
        ),
        400,
        "BAD_REQUEST",
        "Part exceeded maximum size of 1024KB",
    ),
    "group-description-900kb": Case(
        lambda w: w.gql(
            CREATE_GROUP,
            {"input": {"institution": "NORTHFIELD", "name": "Huge", "description": "d" * 900_000}},
            w.northfield,
        ),
        200,
        "INVALID_INPUT",
        "at most",
        "payload",
    ),
    "surname-with-nul": Case(lambda w: w.update_surname("Nul\x00Byte"), 200, "INVALID_INPUT", NUL),
    "nul-in-a-literal": Case(
        lambda w: w.gql('{ institution(code: "NE\\u0000KLS") { code } }'),
        200,
        "INVALID_INPUT",
        NUL,
    ),
    # ------------------------------------------------------------ malformed JSON
    "json-trailing-garbage": Case(
        lambda w: w.post(b'{"query": "{ viewer { systemGroups } }"} trailing', "application/json"),
        400,
        "BAD_REQUEST",
        NOT_JSON,
    ),
    "json-single-quotes": Case(
        lambda w: w.post(b"{'query': '{ viewer { systemGroups } }'}", "application/json"),
        400,
        "BAD_REQUEST",
        NOT_JSON,
    ),
    "json-nan": Case(
        lambda w: w.post(
            b'{"query": "query($n: Int) { viewer { systemGroups } }", "variables": {"n": NaN}}',
            "application/json",
        ),
        400,
        "BAD_REQUEST",
        NOT_JSON,
    ),
    "json-empty-body": Case(
        lambda w: w.post(b"", "application/json"), 400, "BAD_REQUEST", "the body is empty"
    ),
    "json-nested-5000-deep": Case(
        lambda w: w.post(
            b'{"query": "{ viewer { systemGroups } }", "variables": {"a": '
            + b"[" * 5000
            + b"]" * 5000
            + b"}}",
            "application/json",
        ),
        400,
        "BAD_REQUEST",
        "too deeply",
    ),
    "json-null": Case(
        lambda w: w.post(b"null", "application/json"), 400, "BAD_REQUEST", NOT_AN_OPERATION
    ),
    "json-number": Case(
        lambda w: w.post(b"42", "application/json"), 400, "BAD_REQUEST", NOT_AN_OPERATION
    ),
    "json-string": Case(
        lambda w: w.post(b'"{ viewer { systemGroups } }"', "application/json"),
        400,
        "BAD_REQUEST",
        NOT_AN_OPERATION,
    ),
    "json-list-of-strings": Case(
        lambda w: w.json(["{ viewer { systemGroups } }"]), 400, "BAD_REQUEST", NOT_AN_OPERATION
    ),
    "json-query-not-a-string": Case(
        lambda w: w.json({"query": {"viewer": True}}), 400, "BAD_REQUEST", "`query` must be"
    ),
    "json-variables-a-list": Case(
        lambda w: w.json({"query": VIEWER, "variables": [1, 2]}),
        400,
        "BAD_REQUEST",
        "`variables` must be",
    ),
    "json-no-query": Case(
        lambda w: w.json({"variables": {}}), 400, "BAD_REQUEST", "No GraphQL query found"
    ),
    # ------------------------------------------------------------ wrong content types
    "content-type-xml": Case(
        lambda w: w.post(b"<query>viewer</query>", "application/xml"),
        400,
        "BAD_REQUEST",
        UNSUPPORTED,
    ),
    "content-type-form-urlencoded": Case(
        lambda w: w.post(
            b"query=%7B+viewer+%7B+systemGroups+%7D+%7D", "application/x-www-form-urlencoded"
        ),
        400,
        "BAD_REQUEST",
        UNSUPPORTED,
    ),
    "content-type-application-graphql": Case(
        lambda w: w.post(VIEWER.encode(), "application/graphql"), 400, "BAD_REQUEST", UNSUPPORTED
    ),
    "content-type-missing": Case(
        lambda w: w.post(orjson.dumps({"query": VIEWER}), None), 400, "BAD_REQUEST", UNSUPPORTED
    ),
    "multipart-without-boundary": Case(
        lambda w: w.post(b"--x\r\n\r\nnothing", "multipart/form-data"),
        400,
        "BAD_REQUEST",
        "Missing boundary",
    ),
    "multipart-garbage": Case(
        lambda w: w.post(bad.garbage(4096), "multipart/form-data; boundary=zzz"),
        400,
        "BAD_REQUEST",
        "Invalid multipart data",
    ),
    "multipart-map-a-list": Case(
        lambda w: w.client.post(
            "/graphql",
            data={"operations": orjson.dumps({"query": SET_PHOTO}).decode(), "map": "[0]"},
            files={"0": ("p.png", bad.png(), "image/png")},
            headers=w.auth(),
        ),
        400,
        "BAD_REQUEST",
        "multipart `map`",
    ),
    "multipart-map-into-the-query-text": Case(
        lambda w: w.client.post(
            "/graphql",
            data={
                "operations": orjson.dumps({"query": SET_PHOTO}).decode(),
                "map": orjson.dumps({"0": ["query.0"]}).decode(),
            },
            files={"0": ("p.png", bad.png(), "image/png")},
            headers=w.auth(),
        ),
        400,
        "BAD_REQUEST",
        "multipart `map`",
    ),
    "multipart-operations-not-an-object": Case(
        lambda w: w.client.post(
            "/graphql",
            data={"operations": '"mutation"', "map": "{}"},
            files={"0": ("p.png", bad.png(), "image/png")},
            headers=w.auth(),
        ),
        400,
        "BAD_REQUEST",
        NOT_AN_OPERATION,
    ),
    # ------------------------------------------------------------ not UTF-8
    "body-latin-1": Case(
        lambda w: w.post(
            '{"query": "{ viewer { systemGroups } }", "variables": {"n": "Renée"}}'.encode(
                "latin-1"
            ),
            "application/json; charset=latin-1",
        ),
        400,
        "BAD_REQUEST",
        NOT_UTF8,
    ),
    "body-utf-16": Case(
        lambda w: w.post(
            orjson.dumps({"query": VIEWER}).decode().encode("utf-16"), "application/json"
        ),
        400,
        "BAD_REQUEST",
        NOT_UTF8,
    ),
    "body-with-a-bom": Case(
        lambda w: w.post(b"\xef\xbb\xbf" + orjson.dumps({"query": VIEWER}), "application/json"),
        400,
        "BAD_REQUEST",
        "byte order mark",
    ),
    "body-invalid-bytes-in-a-string": Case(
        lambda w: w.post(b'{"query": "{ viewer { systemGroups \xc3\x28 } }"}', "application/json"),
        400,
        "BAD_REQUEST",
        NOT_UTF8,
    ),
    "get-query-not-utf-8": Case(
        lambda w: w.client.get(
            "/graphql?query=%7B%20viewer%20%FF%FE%20%7D",
            headers={**w.auth(), "accept": "application/json"},
        ),
        200,
        "GRAPHQL_VALIDATION_FAILED",
        "Unexpected character",
    ),
    # ------------------------------------------------------------ deep queries
    "selections-nested-1000-deep": Case(
        lambda w: w.gql(_nested(1000)), 200, "GRAPHQL_VALIDATION_FAILED", "nested too deeply"
    ),
    "list-literal-nested-2000-deep": Case(
        lambda w: w.gql("{ nodes(ids: " + "[" * 2000 + '"x"' + "]" * 2000 + ") { id } }"),
        200,
        "GRAPHQL_VALIDATION_FAILED",
        "nested too deeply",
    ),
    "variable-nested-900-deep": Case(
        lambda w: w.post(
            b'{"query": "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", "variables": {"ids": '
            + b"[" * 900
            + b'"x"'
            + b"]" * 900
            + b"}}",
            "application/json",
        ),
        200,
        "GRAPHQL_VALIDATION_FAILED",
        "$ids",
    ),
    "fragments-chained-300-deep": Case(
        lambda w: w.gql(_fragment_chain(300)), 200, "QUERY_TOO_COMPLEX", "fragments too deeply"
    ),
    "fragments-chained-200-deep": Case(
        lambda w: w.gql(_fragment_chain(200)), 200, "QUERY_TOO_COMPLEX", "too complex"
    ),
    "fragments-in-a-cycle": Case(
        lambda w: w.gql(
            "fragment A on Query { ...B viewer { systemGroups } } "
            "fragment B on Query { ...A } { ...A }"
        ),
        200,
        "GRAPHQL_VALIDATION_FAILED",
        "within itself",
    ),
    # ------------------------------------------------------------ wide queries
    "one-field-4900-times": Case(
        lambda w: w.gql("{ viewer { " + "systemGroups " * 4900 + "} }"),
        200,
        "QUERY_TOO_COMPLEX",
        "too many fields",
    ),
    "20000-tokens": Case(
        lambda w: w.gql("{ " + "__typename " * 20000 + "}"),
        200,
        "GRAPHQL_VALIDATION_FAILED",
        "more than 5000 tokens",
    ),
    # ------------------------------------------------------------ alias floods
    "1000-aliases": Case(
        lambda w: w.gql(_aliases(1000)),
        200,
        "GRAPHQL_VALIDATION_FAILED",
        "1000 aliases found. Allowed: 30",
    ),
    "200-aliased-mutations": Case(
        lambda w: w.gql(_mutation_aliases(200)),
        200,
        "GRAPHQL_VALIDATION_FAILED",
        "200 aliases found. Allowed: 30",
    ),
    "aliases-hidden-in-fragments": Case(
        lambda w: w.gql(
            "fragment A on Query { " + " ".join(f"a{i}: __typename" for i in range(20)) + " } "
            "fragment B on Query { " + " ".join(f"b{i}: __typename" for i in range(20)) + " } "
            "{ ...A ...B }"
        ),
        200,
        "GRAPHQL_VALIDATION_FAILED",
        "40 aliases found. Allowed: 30",
    ),
    # ------------------------------------------------------------ batch floods
    "batch-of-1000": Case(
        lambda w: w.json([{"query": VIEWER}] * 1000),
        400,
        "BAD_REQUEST",
        "at most 10 operations; this one has 1000",
    ),
    "batch-of-11-mutations-through-multipart": Case(
        lambda w: w.client.post(
            "/graphql",
            data={
                "operations": orjson.dumps(
                    [{"query": _mutation_aliases(1)} for _ in range(11)]
                ).decode(),
                "map": "{}",
            },
            files={"0": ("unused.txt", b"", "text/plain")},
            headers=w.auth(),
        ),
        400,
        "BAD_REQUEST",
        "at most 10 operations; this one has 11",
    ),
    "batch-with-null-items": Case(
        lambda w: w.json([{"query": VIEWER}, None]), 400, "BAD_REQUEST", NOT_AN_OPERATION
    ),
    # ------------------------------------------------------------ invalid images
    "photo-random-bytes": Case(
        lambda w: w.photo(bad.garbage(5000)), 200, "INVALID_INPUT", NOT_READABLE, "payload"
    ),
    "photo-truncated-jpeg": Case(
        lambda w: w.photo(bad.truncated(bad.jpeg()), "photo.jpg"),
        200,
        "INVALID_INPUT",
        NOT_READABLE,
        "payload",
    ),
    "photo-truncated-png": Case(
        lambda w: w.photo(bad.truncated(bad.png((300, 300), noise=True))),
        200,
        "INVALID_INPUT",
        NOT_READABLE,
        "payload",
    ),
    "photo-png-header-claiming-100000-squared": Case(
        lambda w: w.photo(bad.png_header_claiming(100_000, 100_000)),
        200,
        "INVALID_INPUT",
        TOO_MANY_PIXELS,
        "payload",
    ),
    "photo-decompression-bomb": Case(
        lambda w: w.photo(bad.png_bomb()), 200, "INVALID_INPUT", TOO_MANY_PIXELS, "payload"
    ),
    "photo-svg": Case(
        lambda w: w.photo(bad.svg(), "photo.svg"), 200, "INVALID_INPUT", NOT_READABLE, "payload"
    ),
    "photo-base64-text-as-the-file": Case(
        lambda w: w.photo(bad.base64_text_of_png()),
        200,
        "INVALID_INPUT",
        NOT_READABLE,
        "payload",
    ),
    "photo-base64-string-instead-of-a-file": Case(
        lambda w: w.gql(SET_PHOTO, {"id": w.patron_id, "file": "iVBORw0KGgoAAAANSUhEUg=="}),
        200,
        "INVALID_INPUT",
        "as a file upload",
        "payload",
    ),
    "photo-data-url-with-wrong-base64": Case(
        lambda w: w.gql(
            SET_PHOTO, {"id": w.patron_id, "file": "data:image/png;base64,@@not*base64@@"}
        ),
        200,
        "INVALID_INPUT",
        "as a file upload",
        "payload",
    ),
    "photo-zip-bomb-import": Case(
        lambda w: w.import_other(PHOTOS, bad.zip_bomb(), "photos.zip"),
        200,
        "INVALID_INPUT",
        "larger than",
        "problem",
    ),
    "photo-import-zip-lying-about-size": Case(
        lambda w: w.import_other(PHOTOS, bad.zip_lying_about_size(), "photos.zip"),
        200,
        "INVALID_INPUT",
        "cannot be read from the archive",
        "problem",
    ),
    "photo-import-not-a-zip": Case(
        lambda w: w.import_other(PHOTOS, bad.garbage(10_000), "photos.zip"),
        200,
        "INVALID_INPUT",
        "not a zip archive",
        "payload",
    ),
    # ------------------------------------------------------------ malformed CSV
    "csv-binary": Case(
        lambda w: w.import_csv(bad.garbage(20_000)), 200, "INVALID_INPUT", NOT_UTF8, "payload"
    ),
    "csv-a-png": Case(lambda w: w.import_csv(bad.png()), 200, "INVALID_INPUT", NOT_UTF8, "payload"),
    "csv-a-zip": Case(
        lambda w: w.import_csv(bad.zip_of({"patrons.csv": to_csv(HEADER, [student(1)])})),
        200,
        "INVALID_INPUT",
        NOT_UTF8,
        "payload",
    ),
    "csv-nul-in-the-header": Case(
        lambda w: w.import_csv(bad.csv_nul_in_header()),
        200,
        "INVALID_INPUT",
        "Unknown column(s) 'sur\\x00name'",
        "payload",
    ),
    "csv-5000-columns": Case(
        lambda w: w.import_csv(bad.csv_with_columns(5000)),
        200,
        "INVALID_INPUT",
        "'column_0'",
        "payload",
    ),
    "csv-row-of-5000-cells": Case(
        lambda w: w.import_csv(bad.csv_row_of_cells(5000)),
        200,
        "INVALID_INPUT",
        "5000 cells",
        "job",
    ),
    "csv-cell-of-5mb": Case(
        lambda w: w.import_csv(bad.csv_with_cell(5 * bad.ONE_MIB)),
        200,
        "INVALID_INPUT",
        "line 2",
        "payload",
    ),
    "csv-only-a-bom": Case(
        lambda w: w.import_csv(b"\xef\xbb\xbf"), 200, "INVALID_INPUT", "empty", "payload"
    ),
    "csv-unterminated-quote-at-the-end": Case(
        lambda w: w.import_csv(bad.csv_unterminated_quote_at_end()),
        200,
        "INVALID_INPUT",
        "line 3",
        "payload",
    ),
    "memberships-csv-binary": Case(
        lambda w: w.import_other(MEMBERSHIPS, bad.garbage(20_000), "groups.csv"),
        200,
        "INVALID_INPUT",
        NOT_UTF8,
        "payload",
    ),
    # ------------------------------------------------------------ nonsense ids
    "node-empty-id": Case(lambda w: w.gql(NODE, {"id": ""}), 200, None, "", "null"),
    "node-not-base64": Case(lambda w: w.gql(NODE, {"id": "@@@!!!"}), 200, None, "", "null"),
    "node-100k-characters": Case(
        lambda w: w.gql(NODE, {"id": "QQ" * 50_000}), 200, None, "", "null"
    ),
    "node-unknown-type": Case(
        lambda w: w.gql(NODE, {"id": encode_id("Wizard", 1)}), 200, None, "", "null"
    ),
    "node-negative-key": Case(
        lambda w: w.gql(NODE, {"id": _ids("Patron:-1")}), 200, None, "", "null"
    ),
    "node-key-past-32-bits": Case(
        lambda w: w.gql(NODE, {"id": _ids("Patron:99999999999999999999")}), 200, None, "", "null"
    ),
    "node-key-not-a-number": Case(
        lambda w: w.gql(NODE, {"id": _ids("Patron:1e3")}), 200, None, "", "null"
    ),
    "node-non-canonical-spelling": Case(
        lambda w: w.gql(NODE, {"id": _ids("Patron:007")}), 200, None, "", "null"
    ),
    "node-id-as-a-number": Case(
        lambda w: w.gql("{ node(id: 12345) { id } }"), 200, None, "", "null"
    ),
    "node-id-with-nul": Case(
        lambda w: w.gql(NODE, {"id": "UGF0cm9u\x00OjE"}), 200, "INVALID_INPUT", NUL
    ),
    "nodes-101-ids": Case(
        lambda w: w.gql(NODES, {"ids": ["x"] * 101}),
        200,
        "INVALID_INPUT",
        "at most 100 ids at once (101 given)",
    ),
    "nodes-100-nonsense-ids": Case(
        lambda w: w.gql(NODES, {"ids": [f"junk-{i}" for i in range(100)]}), 200, None, "", "null"
    ),
    "update-patron-nonsense-id": Case(
        lambda w: w.gql(
            UPDATE_PATRON, {"input": {"id": "not-an-id", "expectedVersion": 1, "surname": "X"}}
        ),
        200,
        "NOT_FOUND",
        "",
        "payload",
    ),
}


async def _snapshot(connection: AsyncConnection, world: World) -> dict[str, Any]:
    counts = {}
    for table in TABLES:
        result = await connection.execute(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
        counts[table] = int(result.scalar_one())
    pk = patron_pk(world.patron_id)
    row = (
        await connection.execute(
            text("SELECT version, surname FROM patron WHERE id = :id"), {"id": pk}
        )
    ).one()
    return {"counts": counts, "patron": tuple(row)}


def _errors(body: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """The errors of the response where the case expects them: (code, message, field)."""
    if where == "top":
        return [
            {"code": (e.get("extensions") or {}).get("code"), "message": e["message"]}
            for e in body.get("errors") or []
        ]
    assert "errors" not in body, body
    [payload] = body["data"].values()
    if where == "job":
        assert payload["errors"] == [], payload
        job = payload["job"]
        assert job["status"] == "FAILED", job
        assert "othing was written" in job["message"], job
        return list(job["rowErrors"])
    if where == "problem":
        assert payload["written"] is False, payload
        return list(payload["problems"]) + list(payload["errors"])
    return list(payload["errors"])


@pytest.fixture
async def world(client: httpx.AsyncClient, gql: GraphQL) -> World:
    librarian = await gql.login("lansing.librarian", "LANSING")
    northfield = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    data = await gql.ok(
        '{ patrons(institution: "NEKLS", first: 1) { edges { node { id version } } } }',
        token=librarian,
    )
    patron = data["patrons"]["edges"][0]["node"]
    return World(client, librarian, northfield, patron["id"], patron["version"])


@pytest.mark.parametrize("name", list(CASES))
async def test_bad_input_is_refused_writes_nothing_and_the_server_stays_up(
    name: str, world: World, connection: AsyncConnection
) -> None:
    case = CASES[name]
    before = await _snapshot(connection, world)

    response = await case.send(world)
    record("bad input: cases sent")

    assert response.status_code == case.status, response.text[:2000]
    body = response.json()
    assert isinstance(body, dict), body
    if case.where == "null":
        assert "errors" not in body, body
        value = body["data"][next(iter(body["data"]))]
        assert value is None or (isinstance(value, list) and set(value) == {None}), body
    else:
        errors = _errors(body, case.where)
        assert errors, body
        assert all(e["code"] == case.code for e in errors), errors
        assert any(case.words.lower() in e["message"].lower() for e in errors), errors
        assert "Internal server error" not in response.text
    after = await _snapshot(connection, world)
    if case.where == "job":
        # An import whose rows all failed keeps its job and row errors (that is how it
        # reports them); nothing else.
        for table in ("import_job", "import_row_error"):
            del before["counts"][table], after["counts"][table]
    assert after["counts"] == before["counts"]
    assert after["patron"] == before["patron"]

    # The server goes on serving: a normal request right after gets a normal answer.
    follow_up = await world.gql(VIEWER)
    assert follow_up.json() == {
        "data": {"viewer": {"systemGroups": ["LIBRARIAN", "LIBRARY_USERS"]}}
    }
