"""Importing from CSV: patrons, and the choice lists of an institution."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from app import migrate
from app.cli.common import console, in_session, load_settings


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

    settings = load_settings()
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


def import_choices_command(
    path: Path = typer.Argument(..., help="CSV with the columns kind, value[, description]."),
    institution: str = typer.Option(..., help="Institution code, e.g. NORTHFIELD."),
    commit: bool = typer.Option(False, "--commit", help="Write the changes (default: dry run)."),
) -> None:
    """Add cohorts and form classes to an institution's lists from CSV: a dry run unless
    --commit; exits 1 when a row fails (then nothing is written)."""
    from app.auth.policy import system_actor
    from app.imports.choices import import_choices

    migrate.upgrade(load_settings().database_url)
    content = path.read_bytes()
    result = in_session(
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
