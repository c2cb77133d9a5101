"""Patron.linkedFrom and Patron.linkedAccounts."""

from __future__ import annotations

from strawberry.types import Info

from app.graphql.context import Context
from app.graphql.linking.types import (
    LinkedAccountRule,
    LinkedAccountSummary,
    LinkSource,
    LinkStatus,
)
from app.graphql.network.types import Institution
from app.linking.refs import make_ref, ref_key
from app.patrons.models import Patron
from app.sql import saved_id


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
