"""Fixtures of the SIP2 tests; the documents, drivers and checks they share are in
tests/support/sip2.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.db import Database
from app.settings import Settings
from app.sip2.server import SipServer
from tests.support.graphql import GraphQL
from tests.support.sip2 import (
    Patrons,
    SipClient,
    running_server,
)


@pytest.fixture
def sip_settings(settings: Settings) -> Settings:
    """A short read timeout, so tests can watch it fire; an idle timeout longer than the
    GraphQL work a test does between two messages on a loaded machine (the tests of the
    idle timeout set their own)."""
    return settings.model_copy(
        update={"sip2_read_timeout_seconds": 0.5, "sip2_idle_timeout_seconds": 30.0}
    )


@pytest.fixture
async def sip_server(sip_settings: Settings, database: Database) -> AsyncIterator[SipServer]:
    async with running_server(database, sip_settings) as server:
        yield server


@pytest.fixture
async def sip(sip_server: SipServer) -> AsyncIterator[SipClient]:
    client = SipClient.on_first_use(sip_server.port)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def patrons(gql: GraphQL) -> Patrons:
    return Patrons(gql)
