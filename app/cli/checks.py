"""Checks that list what to review: grants that break the delegation rule and linked
accounts that duplicate a HOME account."""

from __future__ import annotations

import typer
from rich.table import Column, Table

from app.cli.common import console, in_session
from app.cli_options import graphql_id


def check_grants_command() -> None:
    """List accounts, API clients, SIP accounts and institutions whose grants break the
    delegation rule (made before it was enforced): exit code 1 when there is any."""
    from app.lifecycle.grants import check_grants

    findings = in_session(check_grants)
    if not findings:
        console.print("No grants to review: every grant is one its grantor could make.")
        return
    table = Table("kind", "institution", "who", "problem", title="Grants to review")
    for finding in findings:
        table.add_row(finding.kind, finding.institution, finding.subject, finding.problem)
    console.print(table)
    console.print(f"{len(findings)} grant(s) to review.")
    raise typer.Exit(code=1)


def check_consortial_command() -> None:
    """List linked accounts that duplicate a HOME account of the same person (a shared
    consortial id), to merge into it with mergePatrons: exit code 1 when there is any."""
    from app.lifecycle.consortial import duplicate_copies

    found = in_session(duplicate_copies)
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
