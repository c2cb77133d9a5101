"""Payloads of the patron mutations."""

from __future__ import annotations

import strawberry

from app.graphql.core import PAYLOAD_ERRORS, UserError
from app.graphql.patrons.types.patron import Patron


@strawberry.type(description="The patron after the change, or what went wrong.")
class PatronPayload:
    patron: Patron | None = strawberry.field(
        default=None, description="The patron as saved; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type(description="The id of the removed object, or what went wrong.")
class DeletePatronPayload:
    deleted_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Global id of the removed patron; null when `errors` is not empty.",
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )
