"""Fixtures of the branch-limited attribute tests; the documents, drivers and checks
they share are in tests/support/attributes.py."""

from __future__ import annotations

import pytest

from tests.support.attributes import AttributeApi
from tests.support.graphql import GraphQL


@pytest.fixture
def api(gql: GraphQL) -> AttributeApi:
    return AttributeApi(gql)
