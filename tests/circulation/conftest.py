"""Fixtures of the circulation tests; the documents, drivers and checks they share are in
tests/support/circulation.py."""

from __future__ import annotations

import pytest

from tests.support.circulation import CirculationApi
from tests.support.graphql import GraphQL
from tests.support.patrons import PatronApi


@pytest.fixture
def api(gql: GraphQL) -> PatronApi:
    return PatronApi(gql)


@pytest.fixture
def circ(gql: GraphQL, api: PatronApi) -> CirculationApi:
    return CirculationApi(gql, api)
