"""Setting up the network: its first institution, and how source changes reach linked
accounts."""

from __future__ import annotations

import asyncio

import typer

from app import migrate
from app.cli.common import console, load_settings


def bootstrap(
    institution: str = typer.Option(..., help="Code of the first member, e.g. NEKLS."),
    institution_name: str = typer.Option(..., help="Its name."),
    library: str = typer.Option(..., help="Code of its first library, e.g. LANSING."),
    library_name: str = typer.Option(..., help="The library's name."),
    admin: str = typer.Option(..., help="Username of the first administrator."),
    surname: str = typer.Option("Administrator", help="The administrator's surname."),
    network_name: str | None = typer.Option(None, help="Name of the network (default: setting)."),
    password: str | None = typer.Option(
        None,
        help="The administrator's password; asked for (hidden, twice) when not given.",
    ),
) -> None:
    """Start a real network: migrate, then create the first institution, library and admin."""
    from app.bootstrap import Bootstrap
    from app.bootstrap import bootstrap as run_bootstrap
    from app.db import Database, create_engine

    settings = load_settings()
    if password is None:
        password = typer.prompt(
            "The administrator's password", hide_input=True, confirmation_prompt=True
        )
    migrate.upgrade(settings.database_url)
    spec = Bootstrap(
        network_name=network_name or settings.network_name,
        institution_code=institution,
        institution_name=institution_name,
        library_code=library,
        library_name=library_name,
        admin_username=admin,
        admin_password=password,
        admin_surname=surname,
    )

    async def run() -> None:
        db = Database(create_engine(settings))
        try:
            async with db.session() as session:
                await run_bootstrap(session, settings, spec)
        finally:
            await db.engine.dispose()

    asyncio.run(run())  # a DomainError is said by NetzoneGroup
    console.print(
        f"Created {institution.upper()} with library {library.upper()}; log in as {admin} "
        f"at {library.upper()} (SYSTEM_ADMIN and NETWORK_ADMIN)."
    )


def propagation_command(
    mode: str | None = typer.Argument(
        None, help="LIVE (source changes reach linked copies at once) or ON_INTERACTION."
    ),
) -> None:
    """Show or set how source changes reach linked accounts in other institutions."""
    from app.auth.policy import system_actor
    from app.db import Database, create_engine
    from app.linking.sharing import set_propagation_mode

    settings = load_settings()

    async def run() -> str:
        db = Database(create_engine(settings))
        try:
            async with db.session() as session:
                return await set_propagation_mode(
                    session=session, actor=system_actor("cli"), mode=mode
                )
        finally:
            await db.engine.dispose()

    current = asyncio.run(run())
    console.print(f"Propagation mode: {current}")
