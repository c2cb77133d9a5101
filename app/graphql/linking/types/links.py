"""Links between accounts: where a LINKED account was copied from (Patron.linkedFrom) and a HOME
account's copies (Patron.linkedAccounts)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.core import described_enum
from app.graphql.linking.types.rules import LinkedAccountRule
from app.graphql.network.types import Institution
from app.linking.refs import make_ref, ref_key
from app.patrons.models import Patron
from app.sql import saved_id


class LinkReason(Enum):
    WALK_IN = "WALK_IN"
    DISCOVERY_REQUEST = "DISCOVERY_REQUEST"
    MANUAL = "MANUAL"


described_enum(
    LinkReason,
    name="LinkReason",
    description="Why a linked account was made.",
    values={
        LinkReason.WALK_IN: (
            "The patron came to a desk of the target institution (also set by a walk-in checkOut)."
        ),
        LinkReason.DISCOVERY_REQUEST: 'A discovery layer\'s request ("Get It") for the patron.',
        LinkReason.MANUAL: "Linked by staff for another reason.",
    },
)


@strawberry.enum(description="State of a linked account's source.")
class LinkStatus(Enum):
    ACTIVE = strawberry.enum_value(
        "ACTIVE", description="The source was available at the last link or refresh."
    )
    SOURCE_UNAVAILABLE = strawberry.enum_value(
        "SOURCE_UNAVAILABLE",
        description="The source is now restricted, disabled or expired; the copy was left "
        ""
        "as it was.",
    )
    SOURCE_DELETED = strawberry.enum_value(
        "SOURCE_DELETED", description="The source account was removed."
    )


@strawberry.type(description="Where a LINKED account was copied from.")
class LinkSource:
    institution: Institution = strawberry.field(description="The source institution.")
    ref: strawberry.ID = strawberry.field(description="Opaque reference to the source account.")
    rule: LinkedAccountRule | None = strawberry.field(
        description="The rule applied at the last link or refresh; null if that rule was "
        "deleted since."
    )
    linked_at: datetime = strawberry.field(description="When the account was first linked.")
    refreshed_at: datetime | None = strawberry.field(
        description="When the account was last refreshed from its source."
    )
    status: LinkStatus = strawberry.field(
        description="Whether the source was still available at the last refresh."
    )


@strawberry.type(description="A copy of a HOME account in another institution.")
class LinkedAccountSummary:
    institution: Institution = strawberry.field(description="The institution holding the copy.")
    linked_at: datetime = strawberry.field(description="When the copy was made.")


async def link_source(info: Info[Context, None], patron: Patron) -> LinkSource | None:
    if patron.account_type != "LINKED" or patron.link_source_institution_id is None:
        return None
    loaders = info.context.loaders
    institution = await loaders.patron_reference(patron, "link_source_institution")
    rule = await loaders.patron_reference(patron, "link_rule")
    async with info.context.db.use() as session:
        key = await ref_key(session, info.context.settings)
    ref = make_ref(key, patron.institution_id, patron.link_source_patron_id or 0)
    return LinkSource(
        institution=Institution.of(institution),
        ref=ref,  # type: ignore[arg-type]
        rule=LinkedAccountRule.of(rule) if rule is not None else None,
        linked_at=patron.linked_at,  # type: ignore[arg-type]
        refreshed_at=patron.refreshed_at,
        status=LinkStatus(patron.link_status or "ACTIVE"),
    )


async def linked_accounts(info: Info[Context, None], patron: Patron) -> list[LinkedAccountSummary]:
    if patron.account_type != "HOME":
        return []
    loaders = info.context.loaders
    rows = await loaders.copies_by_patron_id.load(saved_id(patron))
    institutions = await loaders.institution_by_id.load_many([r[1] for r in rows])
    return [
        LinkedAccountSummary(institution=Institution.of(institution), linked_at=linked_at)
        for (_source, _institution, linked_at), institution in zip(rows, institutions, strict=True)
    ]
