"""An import cannot be used to guess a password: a row that touches an account the
importer may not change is refused the same way whether its password cell is right."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.demo.seed import DEMO_PASSWORD
from tests.support.graphql import GraphQL
from tests.support.imports import Importer, counts, table_counts, to_csv


async def _hash_of(connection: AsyncConnection, username: str) -> str:
    row = await connection.execute(
        text("SELECT password_hash FROM patron WHERE username_key = :u"), {"u": username}
    )
    return str(row.scalar_one())


async def test_a_librarian_learns_nothing_about_an_administrators_password(
    importer: Importer, gql: GraphQL, connection: AsyncConnection
) -> None:
    # Given a LIBRARIAN of NEKLS, and nekls.admin (SYSTEM_ADMIN), whose password is
    # the demo password
    librarian = await gql.login("lansing.librarian", "LANSING")
    stored = await _hash_of(connection, "nekls.admin")
    before = await table_counts(connection)
    jobs = []
    # When it dry-runs, then commits, rows for that account with a wrong and a right guess
    for guess in ("wrong-guess-123", DEMO_PASSWORD):
        for dry_run in (True, False):
            content = to_csv(
                ["username", "password"], [{"username": "nekls.admin", "password": guess}]
            )
            jobs.append(
                await importer.job(
                    librarian, content, institution="NEKLS", match_on="USERNAME", dry_run=dry_run
                )
            )
    # Then every row is refused alike, before its password is looked at
    answers = {
        (counts(job)[1:], tuple((e["line"], e["code"], e["message"]) for e in job["rowErrors"]))
        for job in jobs
    }
    assert len(answers) == 1, answers
    (_, errors) = answers.pop()
    assert [code for _, code, _ in errors] == ["FORBIDDEN"]
    assert "can change this account" in errors[0][2]
    # And nothing was written: the administrator's password is as it was
    assert await _hash_of(connection, "nekls.admin") == stored
    after = await table_counts(connection)
    assert {k: v for k, v in after.items() if k != "audit_entry"} == {
        k: v for k, v in before.items() if k != "audit_entry"
    }


async def test_rows_the_importer_may_change_still_skip_an_unchanged_password(
    importer: Importer, gql: GraphQL, connection: AsyncConnection
) -> None:
    # Given a NEKLS librarian's own patron with a password
    librarian = await gql.login("lansing.librarian", "LANSING")
    create = await gql.ok(
        """mutation($input: CreatePatronInput!) { createPatron(input: $input) {
             patron { id } errors { code message } } }""",
        {
            "input": {
                "institution": "NEKLS",
                "surname": "Reader",
                "username": "nightly.reader",
                "password": "reading-all-night",
            }
        },
        librarian,
    )
    assert create["createPatron"]["errors"] == []
    stored = await _hash_of(connection, "nightly.reader")
    # When the nightly import repeats the same password
    content = to_csv(
        ["username", "password"], [{"username": "nightly.reader", "password": "reading-all-night"}]
    )
    job = await importer.job(librarian, content, institution="NEKLS", match_on="USERNAME")
    # Then the row is unchanged, and nothing is written
    assert counts(job) == ("SUCCEEDED", 1, 1, 0, 0, 1, 0), job
    assert await _hash_of(connection, "nightly.reader") == stored
