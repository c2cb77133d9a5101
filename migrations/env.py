"""Alembic environment: async engine, batch mode (SQLite), metadata from app.tables."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel.sql.sqltypes import AutoString

from app.db import UTCDateTime, create_engine
from app.settings import Settings, normalize_database_url
from app.tables import metadata

config = context.config
target_metadata = metadata


def _settings() -> Settings:
    url = config.attributes.get("database_url")
    if not url and config.file_config.has_section(config.config_ini_section):
        url = config.get_main_option("sqlalchemy.url")
    if url:
        return Settings(DATABASE_URL=normalize_database_url(url))  # type: ignore[call-arg]
    return Settings()


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render our column types so migrations do not depend on SQLModel internals."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("import app.db")
        return "app.db.UTCDateTime()"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


# The advisory lock key migrations hold on PostgreSQL ("nzmg").
MIGRATION_LOCK = 0x6E7A6D67


def _include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """The job queue's tables are pgqueuer's (migrations/versions/*_job_queue.py), not
    the models': the drift check leaves them alone."""
    return not (type_ == "table" and (name or "").startswith("pgqueuer"))


def _configure(connection: Connection | None = None, **kwargs: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
        include_name=_include_name,
        **kwargs,
    )


def _run(connection: Connection) -> None:
    _configure(connection)
    with warnings.catch_warnings(), context.begin_transaction():
        # SQLite cannot reflect expression indexes (ix_patron_preferred_prefix), so the
        # drift check skips them there and says so; PostgreSQL compares them.
        for message in (
            "Skipped unsupported reflection of expression-based index",
            "autogenerate skipping metadata-specified expression-based index",
        ):
            warnings.filterwarnings("ignore", message=message)
        if connection.dialect.name == "postgresql":
            # Two `netzone migrate` (or `serve`) started together: the second waits here
            # until the first has committed, then finds the schema up to date.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_settings())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    _configure(url=_settings().database_url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
    else:
        asyncio.run(_run_async())
