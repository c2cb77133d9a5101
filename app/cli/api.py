"""The API's published files: its GraphQL SDL and GraphiQL's browser files."""

from __future__ import annotations

from pathlib import Path

import typer

from app.cli.common import console, load_settings
from app.settings import Settings


def ensure_graphiql_files(settings: Settings) -> None:
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

    settings = load_settings()
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
