"""Fuzzing /graphql with schemathesis, from the project's own schema (schema/schema.graphql).

Every root field of Query and Mutation gets generated cases (arguments and result
selections), sent through the real ASGI app as an anonymous caller, a librarian and a
network admin. None may answer 5xx, none may end in the masked INTERNAL_SERVER_ERROR,
and no internal detail may reach the client (tests/reliability/fuzz_graphql.py).

Writes are fine: each test runs in its own rolled-back transaction. The runs are
deterministic (derandomized); FUZZ_EXAMPLES below sizes them to about a minute per actor.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from schemathesis.generation import GenerationMode
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.graphql.ids import encode_id
from tests.reliability.counts import record
from tests.reliability.fuzz_graphql import (
    FuzzRun,
    fuzz,
    judge,
    load_schema,
    operations,
    register_scalars,
)
from tests.support.graphql import GraphQL

# Cases per operation and actor: (positive, negative). Positive cases are valid GraphQL
# that runs; negative ones break the schema (wrong types, missing arguments) on purpose.
FUZZ_EXAMPLES = {
    "anonymous": (6, 2),
    "lansing.librarian": (16, 3),
    "nekls.admin": (12, 2),
    "network.admin": (12, 2),
}

# Node types and their tables: real ids let cases reach past "not found".
NODE_TABLES = {
    "Patron": "patron",
    "PatronBlock": "patron_block",
    "Institution": "institution",
    "Library": "library",
    "UserGroup": "user_group",
    "LibraryGroup": "library_group",
    "LinkedAccountRule": "linked_account_rule",
    "Loan": "loan",
    "ImportJob": "import_job",
}
WORD_QUERIES = [
    "SELECT code FROM institution",
    "SELECT code FROM library",
    "SELECT code FROM user_group",
    "SELECT code FROM block_type",
    "SELECT code FROM identifier_type",
    "SELECT code FROM attribute_type",
    "SELECT name FROM library_group",
    "SELECT username FROM patron WHERE username IS NOT NULL ORDER BY id LIMIT 20",
]


async def _demo_values(connection: AsyncConnection) -> tuple[list[str], list[str]]:
    ids: list[str] = []
    for type_name, table in NODE_TABLES.items():
        rows = await connection.execute(text(f"SELECT id FROM {table} ORDER BY id LIMIT 8"))  # noqa: S608
        ids += [encode_id(type_name, pk) for (pk,) in rows]
    words: set[str] = set()
    for query in WORD_QUERIES:
        words |= {value for (value,) in await connection.execute(text(query))}
    return ids, sorted(words)


@pytest.mark.parametrize("actor", list(FUZZ_EXAMPLES))
async def test_generated_operations_get_no_internal_error(
    actor: str, gql: GraphQL, client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    ids, words = await _demo_values(connection)
    register_scalars(ids, words)
    schema = load_schema()
    library = "LANSING"
    token = None if actor == "anonymous" else await gql.login(actor, library)

    async def send(query: str) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return await client.post("/graphql", json={"query": query}, headers=headers)

    async def log_in_again() -> None:
        # A generated `logout` ends the session the run works with.
        nonlocal token
        token = await gql.login(actor, library)

    # Logging in is fuzzed anonymously: failed logins would throttle the address the
    # authenticated runs log in from again.
    exclude = () if token is None else ("login",)
    positive, negative = FUZZ_EXAMPLES[actor]
    run = FuzzRun()
    loop = asyncio.get_running_loop()

    def work() -> None:
        for operation in operations(schema, exclude=exclude):
            after = log_in_again if token and operation.label == "Mutation.logout" else None
            for mode, examples in (
                (GenerationMode.POSITIVE, positive),
                (GenerationMode.NEGATIVE, negative),
            ):
                fuzz(loop, operation, send, run, examples=examples, mode=mode, after=after)

    await asyncio.to_thread(work)
    record("fuzz: GraphQL operations sent (schemathesis)", run.sent)
    record(
        "fuzz: cases that ran to data (schemathesis)",
        sum(n for (_, how), n in run.outcomes.items() if how == "data"),
    )

    # The service still answers a normal request after all of it.
    assert (await client.get("/healthz")).status_code == 200
    findings = run.distinct()
    assert not findings, (
        f"{len(findings)} distinct findings in {run.sent} cases:\n\n"
        + "\n\n".join(str(f) for f in findings)
    )


def test_the_judge_catches_what_the_fuzzing_looks_for() -> None:
    """A 5xx, a masked INTERNAL_SERVER_ERROR and leaked internals are findings; ordinary
    refusals are not."""

    def response(status: int, body: object) -> httpx.Response:
        return httpx.Response(status, json=body)

    masked = {
        "data": None,
        "errors": [
            {
                "message": "Internal server error",
                "path": ["patrons"],
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "errorId": "0123456789ab"},
            }
        ],
    }
    leaked = {"data": {"x": {"errors": [{"message": "'NoneType' object has no attribute 'id'"}]}}}
    refused = {
        "data": None,
        "errors": [{"message": "Log in first.", "extensions": {"code": "UNAUTHENTICATED"}}],
    }
    assert [f.problem for f in judge("Q.x", "{}", response(200, masked))] == [
        "INTERNAL_SERVER_ERROR at patrons"
    ]
    assert judge("Q.x", "{}", response(502, {"data": None}))[0].problem == "HTTP 502"
    assert "internal detail" in judge("Q.x", "{}", response(200, leaked))[0].problem
    assert (
        judge("Q.x", "{}", httpx.Response(200, text="<html>"))[0].problem == "the body is not JSON"
    )
    assert judge("Q.x", "{}", response(200, refused)) == []
