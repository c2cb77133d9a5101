"""Fixtures of the patron registry tests; the documents, drivers and checks they share are in
tests/support/patrons.py."""

from __future__ import annotations

import pytest

from tests.support.graphql import GraphQL
from tests.support.patrons import PatronApi


@pytest.fixture
def api(gql: GraphQL) -> PatronApi:
    return PatronApi(gql)
