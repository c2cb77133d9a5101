"""Inputs of bulk username changes and merges."""

from __future__ import annotations

import strawberry

from app.graphql.lifecycle.types import UsernameRule


@strawberry.input(description="One explicit username change.")
class UsernameChangeInput:
    patron_id: strawberry.ID = strawberry.field(description="A patron of the institution.")
    new_username: str = strawberry.field(description="The new login name.")


@strawberry.input(
    description="Change usernames in bulk: give a rule or a list of changes (one of the two)."
)
class ChangeUsernamesInput:
    institution: str = strawberry.field(description="Code of the institution.")
    rule: UsernameRule | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description="Either a rule applied to every patron in scope (every HOME, non-generic "
        "account whose roles you may grant) ...",
    )
    changes: list[UsernameChangeInput] | None = strawberry.field(
        default=None, description="... or explicit changes."
    )
    dry_run: bool = strawberry.field(
        description="List the changes and conflicts without changing anything."
    )


@strawberry.input(description="Accounts to merge: the survivor and its duplicates.")
class MergePatronsInput:
    survivor: strawberry.ID = strawberry.field(description="The account that stays.")
    duplicates: list[strawberry.ID] = strawberry.field(
        description="Accounts merged into the survivor and then deleted."
    )
