"""What the commands share: the console they print to, their settings, and a session to
run their work in."""

from __future__ import annotations

import asyncio
from typing import Any

from rich.console import Console

from app.cli_errors import check_database_folder
from app.settings import Settings, get_settings

console = Console()


def load_settings() -> Settings:
    settings = get_settings()
    check_database_folder(settings.database_url)
    return settings


def in_session(work: Any) -> Any:
    """Run an API-client operation as the CLI (a system actor); errors end the command."""
    from app.db import Database, create_engine

    settings = load_settings()

    async def run() -> Any:
        db = Database(create_engine(settings))
        try:
            async with db.session() as session:
                return await work(session)
        finally:
            await db.engine.dispose()

    return asyncio.run(run())  # a DomainError is said by NetzoneGroup


def safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
