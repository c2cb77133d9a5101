"""Serving the API, migrating the database and seeding the demo network."""

from __future__ import annotations

import asyncio

import typer
import uvicorn
from rich.table import Table

from app import migrate
from app.cli.api import ensure_graphiql_files
from app.cli.common import console, load_settings, safe_url
from app.cli_options import demo_progress, open_url
from app.settings import Settings


async def seed(settings: Settings, patrons: int) -> list[object]:
    from app.db import Database, create_engine
    from app.demo.seed import DemoRefused, seed_demo

    db = Database(create_engine(settings))
    try:
        async with db.session() as session:
            with demo_progress(console) as progress:
                seeded = await seed_demo(
                    session, settings, patrons_per_institution=patrons, progress=progress
                )
            return list(seeded)
    except DemoRefused as refused:
        console.print(f"[red]Refused[/red]: {refused}", highlight=False)
        raise typer.Exit(code=1) from None
    finally:
        await db.engine.dispose()


def print_logins(logins: list[object]) -> None:
    from app.demo.seed import DEMO_PASSWORD

    table = Table(title=f"Demo logins (password: {DEMO_PASSWORD})")
    table.add_column("username")
    table.add_column("institution")
    table.add_column("roles")
    table.add_column("may log in at")
    for login in logins:
        table.add_row(
            login.username,  # type: ignore[attr-defined]
            login.institution,  # type: ignore[attr-defined]
            ", ".join(login.groups),  # type: ignore[attr-defined]
            ", ".join(login.libraries),  # type: ignore[attr-defined]
        )
    console.print(table)


def serve(
    demo: bool = typer.Option(False, "--demo", help="Seed the demo network first (idempotent)."),
    host: str | None = typer.Option(None, help="Address to listen on (default from settings)."),
    port: int | None = typer.Option(None, help="Port to listen on (default 8000)."),
    demo_patrons: int = typer.Option(750, help="Generated patrons per demo institution."),
    workers: int = typer.Option(
        1,
        min=1,
        envvar="NETZONE_WORKERS",
        help="Worker processes serving the API.",
    ),
) -> None:
    """Migrate the database, optionally seed the demo, and serve the API."""
    from app.observability import logs, metrics

    settings = load_settings()
    logs.configure_logging(settings)
    console.print(f"Database: {safe_url(settings.database_url)}")
    migrate.upgrade(settings.database_url)
    if demo:
        logins = asyncio.run(seed(settings, demo_patrons))
        print_logins(logins)
    bind_host = host or settings.host
    bind_port = port or settings.port
    if settings.graphiql:
        ensure_graphiql_files(settings)
    console.print(f"GraphiQL: {open_url(bind_host, bind_port, '/graphql')}", highlight=False)
    # Before the workers start: where they write their metrics, and the metrics port.
    metrics.prepare_processes(workers)
    if settings.metrics_port is not None:
        metrics.start_metrics_server(settings.metrics_host, settings.metrics_port)
        console.print(
            f"Metrics: {open_url(settings.metrics_host, settings.metrics_port, '/metrics')}",
            highlight=False,
        )
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=workers,
        log_level=settings.log_level.lower(),
        log_config=logs.dict_config(settings),
        access_log=False,  # netzone's own (netzone.access) leaves out query strings
        # Forwarded headers are read by the app, from NETZONE_TRUSTED_PROXIES only
        # (app.main): otherwise anyone could send X-Forwarded-For and get a fresh login
        # budget with each value.
        proxy_headers=False,
    )


def migrate_command() -> None:
    """Bring the database schema up to date."""
    settings = load_settings()
    migrate.upgrade(settings.database_url)
    console.print(f"Database {safe_url(settings.database_url)} is up to date.")


def demo(patrons: int = typer.Option(750, help="Generated patrons per institution.")) -> None:
    """Migrate and seed the demo network without serving."""
    settings = load_settings()
    migrate.upgrade(settings.database_url)
    print_logins(asyncio.run(seed(settings, patrons)))
