"""GraphQL types of bulk username changes and merges."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.core import PAYLOAD_ERRORS, UserError, described_enum
from app.graphql.patrons.types import Patron
from app.lifecycle import usernames

UsernameRule = described_enum(
    usernames.UsernameRule,
    name="UsernameRule",
    description="Where a rule takes each patron's new username from.",
    values={
        usernames.UsernameRule.FROM_PRIMARY_EMAIL: "The patron's primary email address, whole.",
        usernames.UsernameRule.FROM_ADMIN_SYSTEM_ID: "The patron's admin system id.",
        usernames.UsernameRule.FROM_BARCODE: "The patron's library barcode.",
    },
)


async def _changed_patron(root: UsernameChange, info: Info[Context, None]) -> Patron:
    row = await info.context.loaders.patron_by_id.load(root.patron_id)
    return Patron.of(row)


@strawberry.type(description="One patron's username before and after.")
class UsernameChange:
    patron_id: strawberry.Private[int]
    patron: Patron = strawberry.field(
        resolver=_changed_patron, description="The patron whose username changes."
    )
    old_username: str | None = strawberry.field(description="The username before, if any.")
    new_username: str = strawberry.field(description="The username after.")


@strawberry.type(
    description="The changes (planned in a dry run, made otherwise) and every conflict; "
    "when there is any conflict nothing is changed."
)
class ChangeUsernamesPayload:
    changes: list[UsernameChange] = strawberry.field(
        default_factory=list, description="Every change, in patron order (or input order)."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description="Every conflict; those of a rule end their field path with the patron's id.",
    )


@strawberry.type(description="The survivor after the merge, or what went wrong.")
class MergePatronsPayload:
    patron: Patron | None = strawberry.field(default=None, description="The survivor.")
    loans_moved: int | None = strawberry.field(
        default=None, description="Loans (current and past) moved to the survivor."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )
