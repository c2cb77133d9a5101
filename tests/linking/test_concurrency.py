"""Concurrent linkAccount calls for one source: the database keeps exactly one linked account.

This cannot run inside the per-test rolled-back transaction (the requests need their own
connections and must see each other's commits): the fixture builds an app on the real
engine, commits its own data and deletes everything it created afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.policy import system_actor
from app.db import Database
from app.main import create_app
from app.patrons import service as patrons
from app.settings import Settings
from tests.support.graphql import GraphQL
from tests.support.linking import COPY_FIELDS, SEARCH, today

DISCOVERY = "nzc_demo-western-discovery"  # WESTERN's discovery layer: scopes linking, patron_read
CALLS = 50

LINK = (
    """mutation($ref: ID!) {
  linkAccount(input: {sourcePatron: $ref, reason: DISCOVERY_REQUEST}) {
    linkedAccount { ...CopyFields } created errors { code message field }
  }
}"""
    + COPY_FIELDS
)


@dataclass
class Committed:
    gql: GraphQL
    engine: AsyncEngine
    source_id: int
    first_audit: int


async def _max_id(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int(
            (await conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}"))).scalar_one()
        )


@pytest.fixture
async def committed(engine: AsyncEngine, settings: Settings) -> AsyncIterator[Committed]:
    """An app on the real engine and a committed EASTERN source; all removed afterwards."""
    first_patron = await _max_id(engine, "patron")
    first_audit = await _max_id(engine, "audit_entry")
    database = Database(engine)
    try:
        async with database.session() as session:
            source = await patrons.create_patron(
                session=session,
                settings=settings,
                actor=system_actor("concurrency test"),
                institution_code="EASTERN",
                fields={
                    "home_library": "EASTERN-MAIN",
                    "user_group": "GRAD",
                    "surname": "Concurrent",
                    "given_name": "Connie",
                    "identifiers": [("UNIV_ID", "TEST-CONCURRENT-1")],
                    "expiry_date": today() + timedelta(days=100),
                },
            )
            assert source.id is not None
        app = create_app(settings, database)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://netzone.test", timeout=120
        ) as http:
            yield Committed(GraphQL(http), engine, source.id, first_audit)
    finally:
        async with engine.begin() as conn:
            # Linked accounts first (they point at their source), then the source.
            await conn.execute(
                text("DELETE FROM patron WHERE id > :id AND account_type = 'LINKED'"),
                {"id": first_patron},
            )
            await conn.execute(text("DELETE FROM patron WHERE id > :id"), {"id": first_patron})
            await conn.execute(text("DELETE FROM audit_entry WHERE id > :id"), {"id": first_audit})
        assert await _max_id(engine, "patron") == first_patron


async def test_concurrent_links_give_exactly_one_linked_account(committed: Committed) -> None:
    gql = committed.gql
    # Given WESTERN's discovery layer found the EASTERN patron
    found = await gql.ok(SEARCH, {"input": {"identifier": "TEST-CONCURRENT-1"}}, DISCOVERY)
    [match] = found["networkPatronSearch"]["matches"]

    # When it links the patron 50 times at once
    async def link() -> dict[str, Any]:
        data = await gql.ok(LINK, {"ref": match["ref"]}, DISCOVERY)
        payload: dict[str, Any] = data["linkAccount"]
        return payload

    payloads = await asyncio.gather(*(link() for _ in range(CALLS)))

    # Then every call succeeded, exactly one created the account, all return the same one
    assert [p["errors"] for p in payloads] == [[]] * CALLS
    assert sorted(p["created"] for p in payloads) == [False] * (CALLS - 1) + [True]
    assert len({p["linkedAccount"]["id"] for p in payloads}) == 1
    # And the database holds one linked account of the source, at WESTERN
    async with committed.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT i.code, p.account_type, p.surname, p.link_reason FROM patron p "
                    "JOIN institution i ON i.id = p.institution_id "
                    "WHERE p.link_source_patron_id = :id"
                ),
                {"id": committed.source_id},
            )
        ).all()
        actions = (
            await conn.execute(
                text(
                    "SELECT action, count(*) FROM audit_entry WHERE id > :id "
                    "AND action IN ('link_account', 'relink_account') GROUP BY action "
                    "ORDER BY action"
                ),
                {"id": committed.first_audit},
            )
        ).all()
    assert [tuple(r) for r in rows] == [("WESTERN", "LINKED", "Concurrent", "DISCOVERY_REQUEST")]
    assert [tuple(a) for a in actions] == [("link_account", 1), ("relink_account", CALLS - 1)]
