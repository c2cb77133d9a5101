"""Refs of network search are signed with this deployment's own key: one random secret
per database (made when it is migrated), or NETZONE_SECRET_KEY when an operator sets it.
Nothing in the source can forge one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from app import migrate
from app.db import Database, create_engine
from app.keys import NETWORK_REF, deployment_key, forget_cached_keys
from app.linking.refs import make_ref, ref_key
from app.settings import Settings
from tests.support.graphql import error
from tests.support.ids import pk_of
from tests.support.linking import Net

NOT_FOUND_SOURCE = error(
    "SOURCE_NOT_FOUND", "The patron was not found; search again.", "input", "sourcePatron"
)

# The development value earlier versions signed with, and docker-compose.yml's placeholder.
OLD_CONSTANT = "netzone-development-secret-change-me"
COMPOSE_PLACEHOLDER = "PLACEHOLDER-replace-with-a-random-value-of-32-characters-or-more"


async def _migrated_key(path: Path) -> tuple[str, bytes]:
    """A freshly migrated SQLite database's stored secret and its key for refs."""
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(migrate.upgrade, url)
    settings = Settings(DATABASE_URL=url)  # type: ignore[call-arg]
    database = Database(create_engine(settings))
    try:
        async with database.session() as session:
            stored = await session.scalar(
                text("SELECT value FROM deployment_secret WHERE name = 'root'")
            )
            key = await deployment_key(session, settings, NETWORK_REF)
            forget_cached_keys()
            again = await deployment_key(session, settings, NETWORK_REF)
    finally:
        await database.engine.dispose()
    assert isinstance(stored, str)
    assert len(stored) >= 48
    assert again == key  # kept with the database, not made up per process
    return stored, key


async def test_every_deployment_gets_its_own_random_secret(tmp_path: Path) -> None:
    first_secret, first_key = await _migrated_key(tmp_path / "one.db")
    second_secret, second_key = await _migrated_key(tmp_path / "two.db")
    assert first_secret != second_secret
    assert first_key != second_key
    assert OLD_CONSTANT.encode() not in (first_key, second_key)


async def test_forged_and_foreign_refs_link_nothing(
    net: Net, settings: Settings, tmp_path: Path
) -> None:
    # Given an EASTERN patron NEKLS could find, and nothing linked yet
    await net.eastern_source(1)
    nekls = await net.institution_id("NEKLS")
    source = await net.scalar("SELECT id FROM patron WHERE surname = 'Sourcefield1'")
    # When a ref is forged with the constant earlier versions shipped in the source
    forged = make_ref(OLD_CONSTANT.encode(), nekls, source)
    # Or taken from another deployment (another database's key)
    _, other_key = await _migrated_key(tmp_path / "other.db")
    foreign = make_ref(other_key, nekls, source)
    # Then neither links anything
    for ref in (forged, foreign):
        assert (await net.link_payload("lansing.librarian", ref))["errors"] == [NOT_FOUND_SOURCE]
    assert await net.linked_accounts() == []
    # While the ref network search hands out links the patron
    found = await net.find("lansing.librarian", "TEST-EU0001")
    linked = await net.link("lansing.librarian", found["ref"])
    assert linked["created"] is True
    assert pk_of(linked["linkedAccount"]["id"]) != source


async def test_an_operator_key_takes_the_place_of_the_stored_one(
    database: Database, settings: Settings
) -> None:
    operator = settings.model_copy(
        update={"secret_key": "k" * 8 + "-an-operator-chosen-random-value"}
    )
    async with database.session() as session:
        stored = await ref_key(session, settings)
        chosen = await ref_key(session, operator)
    assert stored != chosen
    assert make_ref(stored, 1, 2) != make_ref(chosen, 1, 2)


@pytest.mark.parametrize("environment", ["development", "test", "production"])
@pytest.mark.parametrize(
    "value", [OLD_CONSTANT, COMPOSE_PLACEHOLDER, "too-short-for-a-key", "change-me" * 5]
)
def test_placeholder_keys_are_refused_in_every_environment(environment: str, value: str) -> None:
    url = "postgresql://netzone@db/netzone" if environment == "production" else "sqlite:///x.db"
    with pytest.raises(ValidationError) as refused:
        Settings(  # type: ignore[call-arg]
            DATABASE_URL=url,
            environment=environment,
            secret_key=value,
            argon2_time_cost=3,
            argon2_memory_cost_kib=65536,
        )
    assert "NETZONE_SECRET_KEY is a placeholder or shorter than 32 characters" in str(refused.value)


def test_an_empty_key_means_the_stored_one() -> None:
    settings = Settings(DATABASE_URL="sqlite:///x.db", secret_key="  ")  # type: ignore[call-arg]
    assert settings.secret_key is None
