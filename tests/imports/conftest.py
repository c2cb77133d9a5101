"""Fixtures of the import tests; the documents, drivers and checks they share are in
tests/support/imports.py."""

from __future__ import annotations

import httpx
import pytest

from tests.support.imports import Importer


@pytest.fixture
def importer(client: httpx.AsyncClient) -> Importer:
    return Importer(client)


@pytest.fixture
async def northfield(northfield_admin: str) -> str:
    """A SYSTEM_ADMIN (so LIBRARIAN) of NORTHFIELD at its one library."""
    return northfield_admin
