"""API clients: created, listed, revoked and given new secrets by the operator."""

from __future__ import annotations

import asyncio

import typer

from app.cli.common import console, in_session, load_settings
from app.cli_options import graphql_id, record_id


def create_api_client(
    institution: str = typer.Option(..., help="Institution code, e.g. EASTERN."),
    name: str = typer.Option(..., help="A name you will recognise, e.g. 'Discovery layer'."),
    scope: list[str] = typer.Option(
        [], "--scope", help="patron_read, linking, patron_auth, email or attribute:<CODE>; repeat."
    ),
    library: str | None = typer.Option(None, help="Library the client acts for."),
) -> None:
    """Create an API client; its secret is printed once."""
    from app.auth import clients
    from app.auth.policy import system_actor
    from app.db import Database, create_engine

    settings = load_settings()

    async def run() -> clients.CreatedApiClient:
        db = Database(create_engine(settings))
        try:
            async with db.session() as session:
                return await clients.create_api_client(
                    session=session,
                    actor=system_actor("cli"),
                    institution_code=institution,
                    name=name,
                    scopes=scope,
                    library_code=library,
                )
        finally:
            await db.engine.dispose()

    created = asyncio.run(run())
    console.print(
        f"Created API client {created.client.name!r} of {institution.strip().upper()} "
        f"with scopes {', '.join(created.client.scopes) or '(none)'}."
    )
    console.print("Secret (shown once; send it as 'Authorization: Bearer <secret>'):")
    typer.echo(created.secret)


def api_clients(
    institution: str = typer.Option(..., help="Institution code, e.g. EASTERN."),
) -> None:
    """List an institution's API clients (never their secrets)."""
    from app.auth import clients
    from app.auth.policy import system_actor

    views = in_session(
        lambda session: clients.list_api_clients(
            session=session, actor=system_actor("cli"), institution_code=institution
        )
    )
    if not views:
        console.print(f"No API clients for {institution.strip().upper()!r}.")
        return
    # One line per client (not a table): its id whole, to copy into revoke-api-client or
    # the API, greppable, and never cut to the terminal width.
    typer.echo(f"API clients of {institution.strip().upper()}: {len(views)}")
    for view in views:
        client = view.client
        typer.echo(
            f"{graphql_id('ApiClient', client.id)}: {client.name}, scopes "
            f"{', '.join(client.scopes) or '(none)'}, "
            f"{'library ' + view.library_code if view.library_code else 'no library'}, "
            f"{'active' if client.enabled else 'REVOKED'}, created {client.created_at:%Y-%m-%d}"
        )


def revoke_api_client(
    client_id: str = typer.Argument(
        ..., metavar="ID", help="The client's id, as `netzone api-clients` or the API shows."
    ),
) -> None:
    """Revoke an API client: its secret stops working at once."""
    from app.auth import clients
    from app.auth.policy import system_actor

    pk = record_id(client_id, "ApiClient", "an API client", "`netzone api-clients`")
    view = in_session(
        lambda session: clients.revoke_api_client(
            session=session, actor=system_actor("cli"), client_id=pk
        )
    )
    console.print(
        f"API client {view.client.name!r} of {view.institution_code} is revoked: "
        "its secret no longer works."
    )


def rotate_api_client_secret(
    client_id: str = typer.Argument(
        ..., metavar="ID", help="The client's id, as `netzone api-clients` or the API shows."
    ),
) -> None:
    """Give an API client a new secret (printed once); the old one stops working."""
    from app.auth import clients
    from app.auth.policy import system_actor

    pk = record_id(client_id, "ApiClient", "an API client", "`netzone api-clients`")
    view, secret = in_session(
        lambda session: clients.rotate_api_client_secret(
            session=session, actor=system_actor("cli"), client_id=pk
        )
    )
    console.print(
        f"New secret for API client {view.client.name!r} of {view.institution_code}; "
        "the old one no longer works."
    )
    console.print("Secret (shown once; send it as 'Authorization: Bearer <secret>'):")
    typer.echo(secret)


def update_api_client(
    client_id: str = typer.Argument(
        ..., metavar="ID", help="The client's id, as `netzone api-clients` or the API shows."
    ),
    name: str | None = typer.Option(None, help="A new name."),
    scope: list[str] | None = typer.Option(
        None,
        "--scope",
        help="The client's scopes from now on (repeat; those left out are taken away).",
    ),
    no_scopes: bool = typer.Option(False, "--no-scopes", help="Take every scope away."),
) -> None:
    """Rename an API client or change its scopes; its secret stays."""
    from app.auth import clients
    from app.auth.policy import system_actor

    pk = record_id(client_id, "ApiClient", "an API client", "`netzone api-clients`")
    scopes = [] if no_scopes else scope or None
    view = in_session(
        lambda session: clients.update_api_client(
            session=session, actor=system_actor("cli"), client_id=pk, name=name, scopes=scopes
        )
    )
    console.print(
        f"API client {view.client.name!r} of {view.institution_code}: scopes "
        f"{', '.join(view.client.scopes) or '(none)'}.",
        highlight=False,
    )
