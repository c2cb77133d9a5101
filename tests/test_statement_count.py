"""Listing patrons with all their relations costs a constant number of SQL statements.

quality.md: listing 100 patrons with identifiers, library groups, blocks, attributes,
user group, home library and linked-account source issues at most 10 statements, the
same number for 10 and 100 rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.attributes.models import AttributeType, PatronAttribute
from app.linking.models import LinkedAccountRule
from app.network.models import (
    BlockType,
    IdentifierType,
    Institution,
    Library,
    LibraryGroup,
    UserGroup,
)
from app.patrons.models import Patron, PatronBlock, PatronIdentifier, PatronLibraryGroup
from tests.conftest import GraphQL

# quality.md's listing: identifiers, library groups, blocks, attributes, user group,
# home library and linked-account source (with the page's totalCount).
LIST = """query($first: Int!) {
  patrons(institution: "NORTHFIELD", first: $first) {
    totalCount
    edges { node {
      id surname givenName barcode adminSystemId accountType
      identifiers { type { code networkUnique } value }
      libraryGroups { id name }
      blocks { id type { code } origin }
      attributes { type { code label } values }
      userGroup { code }
      homeLibrary { code institution { code } }
      linkedFrom { institution { code } ref rule { name } linkedAt status }
    } }
  }
}"""

# Every other relation of a patron as well.
FULL_LIST = LIST.replace(
    "linkedFrom {",
    "contactEmails { address label } systemGroups institution { code } libraries { code } "
    "photo { contentType } linkedFrom {",
)


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


async def _id(connection: AsyncConnection, query: Any, values: Any = None) -> int:
    return int((await connection.execute(query, values)).scalar_one())


async def _add_patrons(connection: AsyncConnection, count: int) -> None:
    """More NORTHFIELD patrons, each with identifiers, a library group, a block and an
    attribute; every third is a linked account copied from WESTERN by one of two rules."""
    from app.db import utcnow

    now = utcnow()
    institution = await _id(
        connection, select(Institution.id).where(Institution.code == "NORTHFIELD")
    )
    western = await _id(connection, select(Institution.id).where(Institution.code == "WESTERN"))
    library = await _id(connection, select(Library.id).where(Library.code == "NORTHFIELD-MAIN"))
    group = await _id(
        connection, select(LibraryGroup.id).where(LibraryGroup.institution_id == institution)
    )
    block_type = await _id(
        connection,
        select(BlockType.id).where(
            BlockType.institution_id == institution, BlockType.code == "LOST"
        ),
    )
    barcode = await _id(
        connection, select(IdentifierType.id).where(IdentifierType.code == "BARCODE")
    )
    user_group = await _id(
        connection,
        select(UserGroup.id).where(
            UserGroup.institution_id == institution, UserGroup.code == "STUDENT"
        ),
    )
    sources = list(
        (
            await connection.execute(
                select(Patron.id).where(Patron.institution_id == western).limit(count)
            )
        ).scalars()
    )
    rules = [
        await _id(
            connection,
            insert(LinkedAccountRule).returning(LinkedAccountRule.id),
            {
                "institution_id": institution,
                "name": f"Counted rule {n}",
                "position": 90 + n,
                "is_default": False,
                "conditions": [],
                "user_group_id": user_group,
                "expiry_mode": "NONE",
                "purge_mode": "NONE",
                "refresh_expiry_date": False,
                "refresh_purge_date": False,
                "copy_network_blocks": False,
            },
        )
        for n in range(2)
    ]
    house = await _id(
        connection,
        insert(AttributeType).returning(AttributeType.id),
        {
            "institution_id": institution,
            "code": "HOUSE",
            "label": "House",
            "repeatable": False,
            "unique": False,
            "mandatory": False,
            "apply_rule_for_all_sessions": False,
            "created_at": now,
        },
    )
    for n in range(count):
        linked = n % 3 == 0 and n // 3 < len(sources)
        patron_id = await _id(
            connection,
            insert(Patron).returning(Patron.id),
            {
                "institution_id": institution,
                "home_library_id": library,
                "user_group_id": user_group,
                "account_type": "LINKED" if linked else "HOME",
                "surname": f"Aardvark{n:03d}",
                "surname_key": f"aardvark{n:03d}",
                "given_key": "",
                "enabled": True,
                "is_staff": False,
                "is_generic": False,
                "version": 1,
                "failed_logins": 0,
                "created_at": now,
                "updated_at": now,
                **(
                    {
                        "link_source_patron_id": sources[n // 3],
                        "link_source_institution_id": western,
                        "link_rule_id": rules[n % 2],
                        "linked_at": now,
                        "link_status": "ACTIVE",
                        "link_reason": "WALK_IN",
                    }
                    if linked
                    else {}
                ),
            },
        )
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
        await connection.execute(
            insert(PatronAttribute),
            {"patron_id": patron_id, "attribute_type_id": house, "value": f"House {n % 4}"},
        )


async def _statements_for(
    gql: GraphQL, engine: AsyncEngine, query: str, token: str
) -> dict[int, list[str]]:
    counts = {}
    # Once per process (the deployment's key, which seals cursors): not per request.
    await gql.ok(query, {"first": 1}, token=token)
    for first in (10, 100):
        with count_statements(engine) as statements:
            data = await gql.ok(query, {"first": first}, token=token)
        nodes = [e["node"] for e in data["patrons"]["edges"]]
        assert len(nodes) == first
        # The relations the spec lists are there, not just asked for.
        assert all(n["blocks"] and n["identifiers"] and n["libraryGroups"] for n in nodes)
        assert all(n["userGroup"] and n["homeLibrary"]["institution"] for n in nodes)
        assert all(n["attributes"][0]["values"] for n in nodes)
        linked = [n for n in nodes if n["accountType"] == "LINKED"]
        assert linked
        assert all(n["linkedFrom"]["institution"]["code"] == "WESTERN" for n in linked)
        rules = {n["linkedFrom"]["rule"]["name"] for n in linked}
        assert rules == {"Counted rule 0", "Counted rule 1"}
        counts[first] = statements
    return counts


async def test_listing_10_or_100_patrons_costs_the_same_few_statements(
    gql: GraphQL, connection: AsyncConnection, engine: AsyncEngine
) -> None:
    await _add_patrons(connection, 100)
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    counts = await _statements_for(gql, engine, LIST, token)
    assert len(counts[10]) == len(counts[100]), counts
    # The token check (account, institution code and roles in one statement), the page,
    # the count, identifiers (with their types), library groups, blocks (with their
    # types), attribute types (two: the types, then their settings), attribute values,
    # and the patrons' to-one references (user group, home library with its
    # institution, link rule and source institution) in one.
    assert len(counts[100]) <= 10, "\n".join(counts[100])


async def test_listing_every_relation_costs_the_same_for_10_or_100_patrons(
    gql: GraphQL, connection: AsyncConnection, engine: AsyncEngine
) -> None:
    await _add_patrons(connection, 100)
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    counts = await _statements_for(gql, engine, FULL_LIST, token)
    assert len(counts[10]) == len(counts[100]), counts
    # The ten above, and contact e-mails, roles, login libraries and photos.
    assert len(counts[100]) <= 14, "\n".join(counts[100])


# The relations computed for each patron (issue: 30 aliases x 100 patrons x these took
# 8-17 s, statements growing with every patron).
PER_PATRON = """query($first: Int!) {
  %s
}"""
PAGE = """%s: patrons(institution: "WESTERN", first: $first) { edges { node {
  id accountType
  consortialAccounts { institution { code } ref userGroup { code } }
  linkedAccounts { institution { code } linkedAt }
  alerts { code }
  linkedFrom { institution { code } ref }
  borrowing { allowed reasons { code } }
} } }"""


def _per_patron(aliases: int) -> str:
    return PER_PATRON % " ".join(PAGE % f"a{n}" for n in range(aliases))


async def test_per_patron_relations_cost_the_same_for_10_or_40_patrons_and_any_aliases(
    gql: GraphQL, connection: AsyncConnection, engine: AsyncEngine
) -> None:
    # NORTHFIELD copies of WESTERN's first patrons give them linked accounts; WESTERN's
    # 42 patrons share consortial ids with EASTERN's (the seed).
    await _add_patrons(connection, 100)
    token = await gql.login("western.admin", "WESTERN-MAIN")
    await gql.ok(_per_patron(1), {"first": 1}, token=token)
    counts = {}
    for aliases, first in ((1, 10), (1, 40), (3, 40)):
        with count_statements(engine) as statements:
            data = await gql.ok(_per_patron(aliases), {"first": first}, token=token)
        counts[aliases, first] = statements
        nodes = [e["node"] for n in range(aliases) for e in data[f"a{n}"]["edges"]]
        assert len(nodes) == aliases * first
        if first == 40:
            # The relations answer, not just cost: some of each kind is there.
            assert any(n["consortialAccounts"] for n in nodes)
            assert any(
                a["institution"]["code"] == "NORTHFIELD"
                for n in nodes
                for a in n["linkedAccounts"]
            )
            assert all(n["borrowing"]["allowed"] is not None for n in nodes)
            # Each alias answers the same as the first.
            assert data["a0"] == data[f"a{aliases - 1}"]
    assert len(counts[1, 10]) == len(counts[1, 40]), counts
    # Each alias is a page of its own (one statement each); the relations of its
    # patrons, already in hand for the first alias's, cost nothing more.
    assert len(counts[3, 40]) == len(counts[1, 40]) + 2, counts
    # The token check, the page; consortial ids, the other members' policies (five),
    # lookup types, the matching identifiers and their accounts, the viewer's copies;
    # the linked copies and their institutions; e-mail flags; library groups in use,
    # members, blocks.
    assert len(counts[1, 40]) <= 20, "\n".join(counts[1, 40])
