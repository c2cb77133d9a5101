"""Fixtures of the patron lifecycle tests; the documents, drivers and checks they share are in
tests/support/lifecycle.py."""

from __future__ import annotations

import pytest

from tests.support.graphql import GraphQL
from tests.support.lifecycle import LifecycleApi


@pytest.fixture
def api(gql: GraphQL) -> LifecycleApi:
    return LifecycleApi(gql)


@pytest.fixture
async def western(western_librarian: str) -> str:
    """A LIBRARIAN of WESTERN."""
    return western_librarian
