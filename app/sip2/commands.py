"""`netzone sip2` (the SIP2 server) and `netzone sip-account ...` (accounts, for operators)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from app import migrate
from app.cli_options import demo_progress, open_url
from app.graphql.ids import decode_pk
from app.settings import Settings, get_settings

if TYPE_CHECKING:
    # Imported where used at run time: `netzone --help` stays quick.
    from sqlalchemy.ext.asyncio import AsyncSession

    from app.sip2.demo import DemoSipPatron
    from app.sip2.models import SipAccount
    from app.sip2.service import AttributeField

console = Console()
T = TypeVar("T")

sip_accounts = typer.Typer(help="SIP2 accounts (vendors, self-checks) of an institution.")


def _with_session(settings: Settings, action: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from app.db import Database, create_engine

    async def run() -> T:
        db = Database(create_engine(settings))
        try:
            async with db.session() as session:
                return await action(session)
        finally:
            await db.engine.dispose()

    return asyncio.run(run())


def _fail(error: Exception) -> typer.Exit:
    from app.errors import DomainError
    from app.graphql.core import input_path

    if isinstance(error, DomainError):
        for e in error.errors:
            field = input_path(e.field)
            where = f" ({'.'.join(field)})" if field else ""
            console.print(f"[red]{e.code.value}[/red]{where}: {e.message}")
    return typer.Exit(code=1)


def _attribute_fields(values: list[str]) -> list[AttributeField]:
    """TYPE:FIELD or TYPE:FIELD:LABEL, e.g. KANOPY_LANSING:XK."""
    from app.sip2.service import AttributeField, SendAs

    out: list[AttributeField] = []
    for value in values:
        parts = value.split(":")
        if len(parts) not in (2, 3) or (
            len(parts) == 3 and parts[2].upper() not in {m.value for m in SendAs}
        ):
            console.print(f"[red]--attribute {value!r}[/red]: write TYPE:FIELD[:CODE|LABEL].")
            raise typer.Exit(code=2)
        send = SendAs(parts[2].upper()) if len(parts) == 3 else SendAs.CODE
        out.append(AttributeField(parts[0], parts[1], send))
    return out


def serve_sip2(
    host: str | None = typer.Option(None, help="Address to listen on (default from settings)."),
    port: int | None = typer.Option(None, help="Port to listen on (default 6001)."),
    demo: bool = typer.Option(
        False, "--demo", help="Seed the demo network and its SIP accounts first (idempotent)."
    ),
    demo_patrons: int = typer.Option(750, help="Generated patrons per demo institution."),
) -> None:
    """Migrate the database, optionally seed the demo, and serve SIP2 2.00 over TCP."""
    from app.db import Database, create_engine
    from app.observability import metrics
    from app.observability.logs import configure_logging
    from app.sip2 import server

    settings = get_settings()
    configure_logging(settings)
    migrate.upgrade(settings.database_url)
    if demo:
        _seed_demo(settings, demo_patrons)
    bind_host = host or settings.sip2_host
    bind_port = settings.sip2_port if port is None else port

    if settings.sip2_metrics_port is not None:
        metrics.start_metrics_server(settings.metrics_host, settings.sip2_metrics_port)
        console.print(
            f"Metrics: {open_url(settings.metrics_host, settings.sip2_metrics_port, '/metrics')}",
            highlight=False,
        )

    async def run() -> None:
        db = Database(create_engine(settings))
        metrics.watch_pool(db.engine, "sip2")
        try:
            await server.run(
                db,
                settings,
                bind_host,
                bind_port,
                on_ready=lambda p: console.print(f"SIP2 listening on {bind_host}:{p}"),
            )
        finally:
            await db.engine.dispose()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        console.print("SIP2 server stopped.")


def _seed_demo(settings: Settings, patrons: int) -> None:
    from app.demo.seed import DemoRefused, seed_demo
    from app.sip2.demo import DEMO_ACCOUNTS, DEMO_SECRET, demo_sip_patrons

    async def seed(session: AsyncSession) -> list[DemoSipPatron]:
        with demo_progress(console) as progress:
            await seed_demo(session, settings, patrons_per_institution=patrons, progress=progress)
        return await demo_sip_patrons(session)

    try:
        demo_patrons = _with_session(settings, seed)
    except DemoRefused as refused:
        console.print(f"[red]Refused[/red]: {refused}", highlight=False)
        raise typer.Exit(code=1) from None
    table = Table(title=f"Demo SIP accounts (secret: {DEMO_SECRET})")
    table.add_column("login id (CN)")
    table.add_column("institution")
    table.add_column("library")
    table.add_column("AO")
    table.add_column("attribute fields")
    for spec in DEMO_ACCOUNTS:
        table.add_row(
            spec.login_id,
            spec.institution,
            spec.library or "(all)",
            spec.ao_mode.value,
            ", ".join(f"{f.attribute_type} in {f.field_code}" for f in spec.attribute_fields),
        )
    console.print(table)
    patrons_table = Table(title=f"Demo patrons with a PIN (PIN: {DEMO_SECRET})")
    patrons_table.add_column("barcode (AA)")
    patrons_table.add_column("home library")
    patrons_table.add_column("name")
    for patron in demo_patrons:
        patrons_table.add_row(patron.barcode, patron.home_library, patron.name)
    console.print(patrons_table)


@sip_accounts.command(name="create")
def create_account(
    institution: str = typer.Option(..., help="Institution code, e.g. NEKLS."),
    login_id: str = typer.Option(..., "--login-id", help="The SIP2 login (CN)."),
    secret: str | None = typer.Option(
        None, help="The SIP2 password (CO); a random one is made and printed once if omitted."
    ),
    library: str | None = typer.Option(None, help="Library the account acts for."),
    encoding: str = typer.Option("UTF-8", help="UTF-8 or CP850."),
    ao_mode: str = typer.Option("INSTITUTION", help="AO carries INSTITUTION or HOME_LIBRARY."),
    home_library_message: bool = typer.Option(
        False, "--home-library-message", help="Send the home library code as AF."
    ),
    attribute: list[str] = typer.Option(
        [], "--attribute", help="TYPE:FIELD[:CODE|LABEL], e.g. KANOPY_LANSING:XK; repeat."
    ),
    allow_empty_pin: bool = typer.Option(
        False, "--allow-empty-pin", help="A verification without PIN counts as valid."
    ),
) -> None:
    """Create a SIP account."""
    from app.auth.policy import system_actor
    from app.errors import DomainError
    from app.sip2 import service

    settings = get_settings()
    if ao_mode.upper() not in {m.value for m in service.AoMode}:
        console.print("[red]--ao-mode[/red]: INSTITUTION or HOME_LIBRARY.")
        raise typer.Exit(code=2)
    chosen = secret or secrets.token_urlsafe(18)
    spec = service.SipAccountSpec(
        institution=institution,
        login_id=login_id,
        secret=chosen,
        library=library,
        encoding=encoding,
        ao_mode=service.AoMode(ao_mode.upper()),
        home_library_screen_message=home_library_message,
        attribute_fields=_attribute_fields(attribute),
        allow_empty_pin=allow_empty_pin,
    )
    try:
        _with_session(
            settings,
            lambda session: service.create_sip_account(
                session=session, settings=settings, actor=system_actor("cli"), spec=spec
            ),
        )
    except DomainError as error:
        raise _fail(error) from None
    console.print(f"Created SIP account {login_id!r} of {institution.strip().upper()}.")
    if secret is None:
        console.print("Secret (shown once; the vendor sends it as CO in the login message):")
        typer.echo(chosen)


# SIP accounts are named by their login id (CN) or by the id the GraphQL API gives them.
ACCOUNT_HELP = "The SIP2 login (CN), or the account's id as the API gives it."


async def _login_of(session: AsyncSession, named: str) -> str:
    """The login id of the account `named` by login id or by its GraphQL id."""
    from app.sip2.models import SipAccount

    pk = decode_pk(named.strip(), "SipAccount")
    account = await session.get(SipAccount, pk) if pk is not None else None
    return account.login_id if account is not None else named


@sip_accounts.command(name="update")
def update_account(
    login_id: str = typer.Argument(..., metavar="ACCOUNT", help=ACCOUNT_HELP),
    secret: str | None = typer.Option(None, help="A new secret."),
    library: str | None = typer.Option(None, help='Library code, or "" for the institution.'),
    encoding: str | None = typer.Option(None, help="UTF-8 or CP850."),
    ao_mode: str | None = typer.Option(None, help="INSTITUTION or HOME_LIBRARY."),
    attribute: list[str] | None = typer.Option(
        None, "--attribute", help="Replaces the attribute fields: TYPE:FIELD[:CODE|LABEL]."
    ),
    enabled: bool | None = typer.Option(None, "--enable/--disable", help="Allow logins or not."),
) -> None:
    """Change a SIP account."""
    from app.auth.policy import system_actor
    from app.errors import DomainError
    from app.sip2 import service

    settings = get_settings()
    if ao_mode is not None and ao_mode.upper() not in {m.value for m in service.AoMode}:
        console.print("[red]--ao-mode[/red]: INSTITUTION or HOME_LIBRARY.")
        raise typer.Exit(code=2)
    update = service.SipAccountUpdate(
        secret=secret,
        library=library,
        encoding=encoding,
        ao_mode=service.AoMode(ao_mode.upper()) if ao_mode is not None else None,
        attribute_fields=_attribute_fields(attribute) if attribute else None,
        enabled=enabled,
    )

    async def change(session: AsyncSession) -> SipAccount:
        return await service.update_sip_account(
            session=session,
            settings=settings,
            actor=system_actor("cli"),
            login_id=await _login_of(session, login_id),
            update=update,
        )

    try:
        account = _with_session(settings, change)
    except DomainError as error:
        raise _fail(error) from None
    console.print(f"Updated SIP account {account.login_id!r}.")


@sip_accounts.command(name="delete")
def delete_account(
    login_id: str = typer.Argument(..., metavar="ACCOUNT", help=ACCOUNT_HELP),
) -> None:
    """Delete a SIP account (audited); its open connections are logged out at their next
    message."""
    from app.auth.policy import system_actor
    from app.errors import DomainError
    from app.sip2 import deletion

    settings = get_settings()
    pk = decode_pk(login_id.strip(), "SipAccount")
    try:
        account = _with_session(
            settings,
            lambda session: deletion.delete_sip_account(
                session=session,
                actor=system_actor("cli"),
                by_id=pk is not None,
                account_id=pk,
                login_id=None if pk is not None else login_id,
            ),
        )
    except DomainError as error:
        raise _fail(error) from None
    console.print(f"Deleted SIP account {account.login_id!r}.")


@sip_accounts.command(name="list")
def list_accounts(
    institution: str = typer.Option(..., help="Institution code, e.g. NEKLS."),
) -> None:
    """List the SIP accounts of an institution (secrets are never shown)."""
    from app.auth.policy import system_actor
    from app.network.models import Library
    from app.sip2 import service

    settings = get_settings()

    async def load(session: AsyncSession) -> list[tuple[SipAccount, str]]:
        rows = await service.list_sip_accounts(
            session=session, actor=system_actor("cli"), institution_code=institution
        )
        out = []
        for row in rows:
            library = (
                await session.get(Library, row.library_id) if row.library_id is not None else None
            )
            out.append((row, library.code if library is not None else "(all)"))
        return out

    # One line per account (not a table): greppable, and never cut to the terminal width.
    rows = _with_session(settings, load)
    typer.echo(f"SIP accounts of {institution.strip().upper()}: {len(rows)}")
    for row, library_code in rows:
        fields = ", ".join(
            f"{f.attribute_type} in {f.field_code} ({f.send.value})"
            for f in service.attribute_fields(row)
        )
        typer.echo(
            f"{row.login_id}: library {library_code}, {row.encoding}, AO {row.ao_mode}, "
            f"home library as AF {'yes' if row.home_library_screen_message else 'no'}, "
            f"attribute fields [{fields}], empty PIN {'yes' if row.allow_empty_pin else 'no'}, "
            f"{'enabled' if row.enabled else 'disabled'}"
        )
