"""The `netzone` command."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import typer
import uvicorn
from rich.console import Console
from rich.table import Column, Table

import app.linking.propagation  # noqa: F401  (linked copies follow patron changes made here)
from app import migrate
from app.cli_errors import NetzoneGroup, check_database_folder
from app.cli_options import demo_progress, graphql_id, open_url, record_id
from app.settings import Settings, get_settings
from app.sip2 import commands as sip2_commands

cli = typer.Typer(
    cls=NetzoneGroup,
    help="netzone: the network-zone API of a library consortium.\n\n"
    "A command that fails says what is wrong in a line or two and exits non-zero (1; 2 for "
    "a wrong option or argument; 130 when interrupted); --debug adds the traceback.",
    no_args_is_help=True,
    context_settings={"max_content_width": 120},
    # Plain help: flags are listed as flags (Rich's panels show them as `<bool>` options).
    rich_markup_mode=None,
    pretty_exceptions_enable=False,  # NetzoneGroup says what failed; --debug adds the trace
)
console = Console()


@cli.callback()
def options(
    debug: bool = typer.Option(
        False,
        "--debug",
        envvar="NETZONE_DEBUG",
        help="Show the traceback of a failure (also NETZONE_DEBUG=1).",
    ),
) -> None:
    """Options of every command (NetzoneGroup reads --debug)."""


def _settings() -> Settings:
    settings = get_settings()
    check_database_folder(settings.database_url)
    return settings


async def _seed(settings: Settings, patrons: int) -> list[object]:
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


def _print_logins(logins: list[object]) -> None:
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


@cli.command()
def serve(
    demo: bool = typer.Option(False, "--demo", help="Seed the demo network first (idempotent)."),
    host: str | None = typer.Option(None, help="Address to listen on (default from settings)."),
    port: int | None = typer.Option(None, help="Port to listen on (default 8000)."),
    demo_patrons: int = typer.Option(750, help="Generated patrons per demo institution."),
    workers: int = typer.Option(1, min=1, help="Worker processes serving the API."),
) -> None:
    """Migrate the database, optionally seed the demo, and serve the API."""
    from app.observability import logs, metrics

    settings = _settings()
    logs.configure_logging(settings)
    console.print(f"Database: {_safe_url(settings.database_url)}")
    migrate.upgrade(settings.database_url)
    if demo:
        logins = asyncio.run(_seed(settings, demo_patrons))
        _print_logins(logins)
    bind_host = host or settings.host
    bind_port = port or settings.port
    if settings.graphiql:
        _graphiql_files(settings)
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


@cli.command(name="migrate")
def migrate_command() -> None:
    """Bring the database schema up to date."""
    settings = _settings()
    migrate.upgrade(settings.database_url)
    console.print(f"Database {_safe_url(settings.database_url)} is up to date.")


@cli.command()
def demo(patrons: int = typer.Option(750, help="Generated patrons per institution.")) -> None:
    """Migrate and seed the demo network without serving."""
    settings = _settings()
    migrate.upgrade(settings.database_url)
    _print_logins(asyncio.run(_seed(settings, patrons)))


def _graphiql_files(settings: Settings) -> None:
    """`serve` fetches GraphiQL's files when they are missing, in development only (the
    quick start); elsewhere it says how. The API is served either way."""
    from app.graphiql.assets import FETCH_COMMAND, FetchError, assets_dir, fetch, load_lock
    from app.graphiql.assets import problems as missing

    lock, directory = load_lock(), assets_dir(settings)
    if not missing(lock.files, directory):
        return
    if settings.environment != "development":
        console.print(f"GraphiQL's files are not installed: run `{FETCH_COMMAND}`.", soft_wrap=True)
        return
    console.print(
        f"Fetching GraphiQL's files once, into {directory} ({FETCH_COMMAND}).", soft_wrap=True
    )
    try:
        fetch(lock, directory, source=settings.graphiql_assets_from)
    except FetchError as error:
        console.print(
            f"GraphiQL's files could not be fetched ({str(error).splitlines()[0]}): "
            "/graphql says how to install them; the API works without them.",
            highlight=False,
            soft_wrap=True,
        )


@cli.command(name="fetch-graphiql-assets")
def fetch_graphiql_assets(
    source: str | None = typer.Option(
        None,
        "--from",
        help="Take the tarballs only from here: a directory of them (as `npm pack` names "
        "them), an npm cache directory, or a registry mirror's URL (default "
        "NETZONE_GRAPHIQL_ASSETS_FROM; without either: npm's cache, then the npm registry).",
    ),
    directory: Path | None = typer.Option(
        None,
        "--dir",
        help="Where to keep the files (default NETZONE_GRAPHIQL_ASSETS_DIR, else "
        "~/.cache/netzone/graphiql).",
    ),
) -> None:
    """Fetch GraphiQL's browser files, pinned and checked by app/graphiql/assets.lock.json."""
    from app.graphiql.assets import FetchError, assets_dir, fetch, load_lock

    settings = _settings()
    target = directory or assets_dir(settings)
    try:
        fetch(
            load_lock(),
            target,
            source=source or settings.graphiql_assets_from,
            report=lambda line: console.print(line, highlight=False, soft_wrap=True),
        )
    except FetchError as error:
        for line in str(error).splitlines():
            typer.echo(f"Error: {line}", err=True)
        typer.echo(
            "Without internet: --from DIR, a directory with the tarballs (`npm pack "
            "NAME@VERSION` makes them, for each package of the lock), or --from URL, a mirror.",
            err=True,
        )
        raise typer.Exit(code=1) from None
    console.print(f"GraphiQL's files are in {target}.", highlight=False, soft_wrap=True)


jobs = typer.Typer(help="Maintenance jobs (also run on a schedule inside `serve`).")
cli.add_typer(jobs, name="jobs")


@jobs.command(name="purge")
def purge_job() -> None:
    """Delete linked accounts past their purge date."""
    from app.jobs import run_purge

    settings = _settings()
    count = asyncio.run(run_purge(settings))
    console.print(f"Purged {count} linked account(s) past their purge date.")


@jobs.command(name="check-emails")
def check_emails_job() -> None:
    """Flag invalid or blacklisted primary emails; alert their institutions."""
    from app.jobs import run_check_emails

    result = asyncio.run(run_check_emails(_settings()))
    console.print(
        f"Checked {result.checked} primary email(s): {result.flagged} flagged "
        f"({result.newly_flagged} new, {result.cleared} cleared)."
    )
    if result.disabled:
        console.print(f"Email service disabled for: {', '.join(result.disabled)}.")
    if result.alerted:
        console.print(f"Institutions with flagged addresses: {', '.join(result.alerted)}.")
    if result.resolved:
        console.print(f"Alerts cleared for: {', '.join(result.resolved)}.")


@cli.command(name="import")
def import_command(
    path: Path | None = typer.Argument(None, help="CSV file to import (or use --watch DIR)."),
    institution: str = typer.Option(..., help="Institution code, e.g. NORTHFIELD."),
    match: str = typer.Option("ADMIN_SYSTEM_ID", help="ADMIN_SYSTEM_ID, BARCODE or USERNAME."),
    mode: str = typer.Option("UPSERT", help="CREATE_ONLY, UPDATE_ONLY or UPSERT."),
    commit: bool = typer.Option(False, "--commit", help="Write the changes (default: dry run)."),
    watch: Path | None = typer.Option(
        None, "--watch", help="Import each new CSV dropped in this folder once, then exit."
    ),
    settle: float = typer.Option(
        30.0,
        "--settle",
        help="With --watch: leave files changed less than this many seconds ago (still "
        "being copied in) for the next run.",
    ),
    who: str | None = typer.Option(
        None,
        "--as",
        help="USERNAME@LIBRARY: import as this staff account, with exactly its rights "
        "(required with --watch; without it a one-off import runs as the operator).",
    ),
) -> None:
    """Import patrons from CSV: a dry run unless --commit; exits 1 when rows fail."""
    from app.imports.cli_runs import import_folder, import_one

    settings = _settings()
    if path is not None:
        path.open("rb").close()  # missing, a folder or unreadable: said before anything runs
    options_kwargs = {"match_on": match.upper(), "mode": mode.upper(), "dry_run": not commit}
    if watch is not None and who is None:
        console.print(
            "[red]--watch needs --as USERNAME@LIBRARY[/red]: whoever can drop a file in the "
            "folder acts with that account's rights, never the operator's."
        )
        raise typer.Exit(code=2)
    migrate.upgrade(settings.database_url)
    if watch is not None:
        assert who is not None
        ok = asyncio.run(
            import_folder(
                settings, watch, institution, options_kwargs, console, who=who, settle=settle
            )
        )
    elif path is not None:
        ok = asyncio.run(import_one(settings, path, institution, options_kwargs, console, who))
    else:
        console.print("[red]Give a FILE or --watch DIR.[/red]")
        raise typer.Exit(code=2)
    if not ok:
        raise typer.Exit(code=1)


@cli.command(name="import-choices")
def import_choices_command(
    path: Path = typer.Argument(..., help="CSV with the columns kind, value[, description]."),
    institution: str = typer.Option(..., help="Institution code, e.g. NORTHFIELD."),
    commit: bool = typer.Option(False, "--commit", help="Write the changes (default: dry run)."),
) -> None:
    """Add cohorts and form classes to an institution's lists from CSV: a dry run unless
    --commit; exits 1 when a row fails (then nothing is written)."""
    from app.auth.policy import system_actor
    from app.imports.choices import import_choices

    migrate.upgrade(_settings().database_url)
    content = path.read_bytes()
    result = _client_admin(
        lambda session: import_choices(
            session=session,
            actor=system_actor("cli"),
            institution_code=institution,
            content=content,
            dry_run=not commit,
        )
    )
    for where, code, message in result.problems:
        console.print(f"[red]{code}[/red] {where}: {message}", highlight=False)
    verb = "Wrote" if result.written else "Would write" if not result.problems else "Refused"
    console.print(
        f"{verb}: {result.added} added, {result.updated} updated, {result.unchanged} unchanged."
    )
    if result.problems:
        raise typer.Exit(code=1)


@cli.command()
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

    settings = _settings()
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


@cli.command(name="propagation")
def propagation_command(
    mode: str | None = typer.Argument(
        None, help="LIVE (source changes reach linked copies at once) or ON_INTERACTION."
    ),
) -> None:
    """Show or set how source changes reach linked accounts in other institutions."""
    from app.auth.policy import system_actor
    from app.db import Database, create_engine
    from app.linking.sharing import set_propagation_mode

    settings = _settings()

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


@cli.command(name="export-schema")
def export_schema(
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file instead of stdout."
    ),
) -> None:
    """Print the GraphQL SDL (as committed in schema/schema.graphql)."""
    from app.graphql.schema import export_sdl

    sdl = export_sdl(Settings())
    if output is None:
        typer.echo(sdl, nl=False)
    else:
        output.write_text(sdl, encoding="utf-8")
        console.print(f"Wrote {output}")


@cli.command(name="create-api-client")
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

    settings = _settings()

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


def _client_admin(work: Any) -> Any:
    """Run an API-client operation as the CLI (a system actor); errors end the command."""
    from app.db import Database, create_engine

    settings = _settings()

    async def run() -> Any:
        db = Database(create_engine(settings))
        try:
            async with db.session() as session:
                return await work(session)
        finally:
            await db.engine.dispose()

    return asyncio.run(run())  # a DomainError is said by NetzoneGroup


@cli.command(name="api-clients")
def api_clients(
    institution: str = typer.Option(..., help="Institution code, e.g. EASTERN."),
) -> None:
    """List an institution's API clients (never their secrets)."""
    from app.auth import clients
    from app.auth.policy import system_actor

    views = _client_admin(
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


@cli.command(name="revoke-api-client")
def revoke_api_client(
    client_id: str = typer.Argument(
        ..., metavar="ID", help="The client's id, as `netzone api-clients` or the API shows."
    ),
) -> None:
    """Revoke an API client: its secret stops working at once."""
    from app.auth import clients
    from app.auth.policy import system_actor

    pk = record_id(client_id, "ApiClient", "an API client", "`netzone api-clients`")
    view = _client_admin(
        lambda session: clients.revoke_api_client(
            session=session, actor=system_actor("cli"), client_id=pk
        )
    )
    console.print(
        f"API client {view.client.name!r} of {view.institution_code} is revoked: "
        "its secret no longer works."
    )


@cli.command(name="rotate-api-client-secret")
def rotate_api_client_secret(
    client_id: str = typer.Argument(
        ..., metavar="ID", help="The client's id, as `netzone api-clients` or the API shows."
    ),
) -> None:
    """Give an API client a new secret (printed once); the old one stops working."""
    from app.auth import clients
    from app.auth.policy import system_actor

    pk = record_id(client_id, "ApiClient", "an API client", "`netzone api-clients`")
    view, secret = _client_admin(
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


# SIP2 for vendors: the server and its accounts (app/sip2/commands.py).
cli.command(name="sip2")(sip2_commands.serve_sip2)
cli.add_typer(sip2_commands.sip_accounts, name="sip-account")


@cli.command(name="check-grants")
def check_grants_command() -> None:
    """List accounts, API clients, SIP accounts and institutions whose grants break the
    delegation rule (made before it was enforced): exit code 1 when there is any."""
    from app.lifecycle.grants import check_grants

    findings = _client_admin(check_grants)
    if not findings:
        console.print("No grants to review: every grant is one its grantor could make.")
        return
    table = Table("kind", "institution", "who", "problem", title="Grants to review")
    for finding in findings:
        table.add_row(finding.kind, finding.institution, finding.subject, finding.problem)
    console.print(table)
    console.print(f"{len(findings)} grant(s) to review.")
    raise typer.Exit(code=1)


@cli.command(name="check-consortial")
def check_consortial_command() -> None:
    """List linked accounts that duplicate a HOME account of the same person (a shared
    consortial id), to merge into it with mergePatrons: exit code 1 when there is any."""
    from app.lifecycle.consortial import duplicate_copies

    found = _client_admin(duplicate_copies)
    if not found:
        console.print("No duplicates: no institution holds a copy of a person it has at home.")
        return
    table = Table(
        "institution",
        Column("linked account", no_wrap=True),
        Column("HOME account", no_wrap=True),
        "copy of",
        title="Copies to merge",
    )
    for item in found:
        table.add_row(
            item.institution,
            graphql_id("Patron", item.copy_id),
            graphql_id("Patron", item.home_id),
            f"{item.source_institution} patron {graphql_id('Patron', item.source_id)}",
        )
    console.print(table)
    console.print(
        f"{len(found)} linked account(s) to merge into the HOME account "
        "(mergePatrons, the HOME account surviving)."
    )
    raise typer.Exit(code=1)


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def main() -> None:
    cli()
