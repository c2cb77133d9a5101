"""`netzone` run as an operator runs it (tests/support/cli.py): settings read from an
environment of the test's own, and a SQLite file of its own found through DATABASE_URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.db import Database
from app.settings import get_settings
from tests.support.cli import cheap_environment, seeded_database


@pytest.fixture(autouse=True)
def operator_environment(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Settings read afresh from an environment of the test's own (cheap hashing, no
    NETZONE_DEBUG of the caller's)."""
    monkeypatch.delenv("NETZONE_DEBUG", raising=False)
    monkeypatch.delenv("NETZONE_SECRET_KEY", raising=False)
    monkeypatch.delenv("NETZONE_ENVIRONMENT", raising=False)
    cheap_environment(monkeypatch)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
async def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Database]:
    async with seeded_database(tmp_path / "cli.db", monkeypatch) as (_, database):
        yield database
