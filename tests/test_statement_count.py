"""Listing patrons with all their relations costs a constant number of SQL statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.network.models import BlockType, IdentifierType, Institution, Library, LibraryGroup
from app.patrons.models import Patron, PatronBlock, PatronIdentifier, PatronLibraryGroup
from tests.conftest import GraphQL

LIST = """query($first: Int!) {
  patrons(institution: "NORTHFIELD", first: $first) {
    totalCount
    edges { node {
      id surname givenName barcode adminSystemId
      identifiers { type { code networkUnique } value }
      contactEmails { address label }
      libraryGroups { id name }
      systemGroups
      blocks { id type { code } origin }
      userGroup { code }
      homeLibrary { code institution { code } }
      institution { code }
      libraries { code }
      photo { contentType }
    } }
  }
}"""


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


async def _add_patrons(connection: AsyncConnection, count: int) -> None:
    """More NORTHFIELD patrons, each with identifiers, a library group and a block."""
    institution = (
        await connection.execute(select(Institution.id).where(Institution.code == "NORTHFIELD"))
    ).scalar_one()
    library = (
        await connection.execute(select(Library.id).where(Library.code == "NORTHFIELD-MAIN"))
    ).scalar_one()
    group = (
        await connection.execute(
            select(LibraryGroup.id).where(LibraryGroup.institution_id == institution)
        )
    ).scalar_one()
    block_type = (
        await connection.execute(
            select(BlockType.id).where(
                BlockType.institution_id == institution, BlockType.code == "LOST"
            )
        )
    ).scalar_one()
    barcode = (
        await connection.execute(select(IdentifierType.id).where(IdentifierType.code == "BARCODE"))
    ).scalar_one()
    from app.db import utcnow

    now = utcnow()
    for n in range(count):
        patron_id = (
            await connection.execute(
                insert(Patron).returning(Patron.id),
                {
                    "institution_id": institution,
                    "home_library_id": library,
                    "account_type": "HOME",
                    "surname": f"Aardvark{n:03d}",
                    "surname_key": f"aardvark{n:03d}",
                    "enabled": True,
                    "is_staff": False,
                    "is_generic": False,
                    "version": 1,
                    "failed_logins": 0,
                    "created_at": now,
                    "updated_at": now,
                },
            )
        ).scalar_one()
        await connection.execute(
            insert(PatronIdentifier),
            {
                "patron_id": patron_id,
                "institution_id": institution,
                "identifier_type_id": barcode,
                "value": f"CNT{n:05d}",
                "value_key": f"cnt{n:05d}",
            },
        )
        await connection.execute(
            insert(PatronLibraryGroup), {"patron_id": patron_id, "library_group_id": group}
        )
        await connection.execute(
            insert(PatronBlock),
            {
                "patron_id": patron_id,
                "block_type_id": block_type,
                "origin": "LOCAL",
                "created_at": now,
            },
        )


async def test_listing_10_or_100_patrons_costs_the_same_few_statements(
    gql: GraphQL, connection: AsyncConnection, engine: AsyncEngine
) -> None:
    await _add_patrons(connection, 100)
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    counts = {}
    for first in (10, 100):
        with count_statements(engine) as statements:
            data = await gql.ok(LIST, {"first": first}, token=token)
        assert len(data["patrons"]["edges"]) == first
        assert all(e["node"]["blocks"] for e in data["patrons"]["edges"][:5])
        counts[first] = len(statements)
    assert counts[10] == counts[100], counts
    # token + roles, institution (twice: page and count), page, count, and one query
    # per relation loader (identifiers, contacts, groups, roles, blocks, library,
    # institution, libraries, photo).
    assert counts[100] <= 15, counts
