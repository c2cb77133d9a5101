"""`netzone bootstrap`: the first institution, library and administrator of a real network."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.auth import logins
from app.cli import cli
from app.db import Database, create_engine
from app.settings import Settings, get_settings


def _run(args: list[str]) -> object:
    return CliRunner().invoke(cli, args)


def test_bootstrap_creates_a_working_administrator_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("NETZONE_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("NETZONE_ARGON2_MEMORY_COST_KIB", "1024")
    monkeypatch.setenv("NETZONE_ARGON2_PARALLELISM", "1")
    get_settings.cache_clear()
    args = [
        "bootstrap",
        "--institution",
        "kls",
        "--institution-name",
        "Kansas Library System",
        "--library",
        "central",
        "--library-name",
        "Central Library",
        "--admin",
        "root.admin",
        "--password",
        "a-long-password",
    ]
    try:
        result = _run(args)
        assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
        assert "Created KLS with library CENTRAL" in " ".join(result.output.split())  # type: ignore[attr-defined]

        async def login() -> object:
            settings = Settings(
                DATABASE_URL=url,
                argon2_time_cost=1,
                argon2_memory_cost_kib=1024,
                argon2_parallelism=1,
            )  # type: ignore[call-arg]
            db = Database(create_engine(settings))
            try:
                async with db.session() as session:
                    return await logins.login(
                        session=session,
                        settings=settings,
                        username="root.admin",
                        password="a-long-password",
                        library_code="CENTRAL",
                        address="test",
                    )
            finally:
                await db.engine.dispose()

        logged_in = asyncio.run(login())
        assert {g.value for g in logged_in.actor.groups} == {  # type: ignore[attr-defined]
            "LIBRARY_USERS",
            "SYSTEM_ADMIN",
            "NETWORK_ADMIN",
        }
        again = _run(args)
        assert again.exit_code == 1  # type: ignore[attr-defined]
        assert "already has institutions" in " ".join(again.output.split())  # type: ignore[attr-defined]
    finally:
        get_settings.cache_clear()
