"""GraphiQL's files where the suite's settings look for them (CI fetches them beforehand)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.graphiql.assets import FetchError, assets_dir, fetch, load_lock
from app.settings import Settings


@pytest.fixture(scope="session")
def graphiql_assets(settings: Settings) -> Path:
    """The lock's files, fetched (from npm's cache, else the registry) if they are not there."""
    directory = assets_dir(settings)
    try:
        fetch(load_lock(), directory)
    except FetchError as error:
        pytest.fail(
            f"GraphiQL's files could not be fetched (netzone fetch-graphiql-assets):\n{error}"
        )
    return directory
