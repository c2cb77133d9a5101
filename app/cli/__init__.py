"""The `netzone` command: the application and its options here, the commands in one module
a topic. A command is registered with one line below (`cli.command(name=...)(function)`),
in the order `netzone --help` lists them."""

from __future__ import annotations

import typer

import app.linking.propagation  # noqa: F401  (linked copies follow patron changes made here)
from app.cli import api, checks, clients, imports, jobs, network, server
from app.cli_errors import NetzoneGroup
from app.sip2 import commands as sip2_commands
from app.worker import command as worker_command

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


cli.command(name="serve")(server.serve)
cli.command(name="migrate")(server.migrate_command)
cli.command(name="demo")(server.demo)
cli.command(name="fetch-graphiql-assets")(api.fetch_graphiql_assets)
cli.add_typer(jobs.jobs, name="jobs")
cli.command(name="import")(imports.import_command)
cli.command(name="import-choices")(imports.import_choices_command)
cli.command(name="bootstrap")(network.bootstrap)
cli.command(name="propagation")(network.propagation_command)
cli.command(name="export-schema")(api.export_schema)
cli.command(name="create-api-client")(clients.create_api_client)
cli.command(name="api-clients")(clients.api_clients)
cli.command(name="revoke-api-client")(clients.revoke_api_client)
cli.command(name="rotate-api-client-secret")(clients.rotate_api_client_secret)
cli.command(name="update-api-client")(clients.update_api_client)
cli.command(name="worker")(worker_command.worker)
# SIP2 for vendors: the server and its accounts (app/sip2/commands.py).
cli.command(name="sip2")(sip2_commands.serve_sip2)
cli.add_typer(sip2_commands.sip_accounts, name="sip-account")
cli.command(name="check-grants")(checks.check_grants_command)
cli.command(name="check-consortial")(checks.check_consortial_command)


def main() -> None:
    cli()
