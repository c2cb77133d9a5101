"""`netzone jobs`: the maintenance jobs, run once."""

from __future__ import annotations

import asyncio

import typer

from app.cli.common import console, load_settings

jobs = typer.Typer(help="Maintenance jobs (also run on a schedule inside `serve`).")


@jobs.command(name="purge")
def purge_job() -> None:
    """Delete linked accounts past their purge date."""
    from app.jobs import run_purge

    settings = load_settings()
    count = asyncio.run(run_purge(settings))
    console.print(f"Purged {count} linked account(s) past their purge date.")


@jobs.command(name="check-emails")
def check_emails_job() -> None:
    """Flag invalid or blacklisted primary emails; alert their institutions."""
    from app.jobs import run_check_emails

    result = asyncio.run(run_check_emails(load_settings()))
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
