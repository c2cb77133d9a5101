"""Fixtures of the email check tests; the documents, drivers and checks they share are in
tests/support/emails.py."""

from __future__ import annotations

from typing import Any

import pytest

from app.db import Database
from app.emails.check import EmailCheckResult
from app.jobs import check_emails_once
from tests.support.emails import EmailApi
from tests.support.graphql import GraphQL


@pytest.fixture
def api(gql: GraphQL) -> EmailApi:
    return EmailApi(gql)


@pytest.fixture
async def mailer(api: EmailApi, nekls_admin: str) -> str:
    """The mail provider's webhook: an API client of NEKLS with scope email."""
    return await api.client(nekls_admin, "email")


@pytest.fixture
def run_check(database: Database) -> Any:
    """Runs the email check in the test's transaction (as the scheduled job does)."""

    async def run() -> EmailCheckResult:
        return await check_emails_once(database)

    return run
