"""`netzone` run as an operator runs it (tests/support/cli.py): settings read from an
environment of the test's own, and a SQLite file of its own found through DATABASE_URL."""

from __future__ import annotations

from typing import Any

import pytest

from app.settings import get_settings
from tests.support.cli import cheap_environment


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
