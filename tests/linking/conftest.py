"""Fixtures of the collaborative network tests; the documents, drivers and checks they share are in
tests/support/linking.py."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.graphql import GraphQL
from tests.support.linking import Net


@pytest.fixture
def net(gql: GraphQL, connection: AsyncConnection) -> Net:
    return Net(gql, connection)
