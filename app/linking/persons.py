"""Consortial ids: accounts of one person in several institutions.

Accounts sharing a value of a network-unique identifier type belong to the same
person. Neither is primary: nothing is copied or refreshed between them. Staff who
may search the network see the other accounts as network search shows them (shared
fields only, never restricted, disabled or expired ones).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app import clock
from app.auth.policy import Actor
from app.linking.service import NetworkMatch, can_link, make_ref, unavailable_reason
from app.linking.sharing import source_policies
from app.network.models import IdentifierType
from app.patrons.models import Patron, PatronIdentifier
from app.settings import Settings


async def other_accounts(
    *, session: AsyncSession, settings: Settings, actor: Actor, patron: Patron
) -> list[NetworkMatch]:
    """The person's HOME accounts in other institutions, as the actor may see them."""
    if patron.account_type != "HOME" or actor.institution_id != patron.institution_id:
        return []
    if not can_link(actor, patron.institution_id):
        return []
    mine = aliased(PatronIdentifier)
    theirs = aliased(PatronIdentifier)
    rows = list(
        (
            await session.execute(
                select(Patron)
                .join(theirs, col(theirs.patron_id) == col(Patron.id))
                .join(
                    mine,
                    (col(mine.identifier_type_id) == theirs.identifier_type_id)
                    & (col(mine.value_key) == theirs.value_key),
                )
                .join(IdentifierType, col(IdentifierType.id) == mine.identifier_type_id)
                .where(
                    col(mine.patron_id) == patron.id,
                    col(IdentifierType.network_unique).is_(True),
                    col(Patron.institution_id) != patron.institution_id,
                    col(Patron.account_type) == "HOME",
                )
                .order_by(col(Patron.institution_id), col(Patron.id))
            )
        )
        .scalars()
        .unique()
    )
    if not rows:
        return []
    policies = await source_policies(session, sorted({p.institution_id for p in rows}))
    today = clock.today()
    # The viewer's existing linked accounts of these patrons, as network search shows.
    copies = {
        c.link_source_patron_id: c
        for c in (
            await session.execute(
                select(Patron).where(
                    col(Patron.institution_id) == patron.institution_id,
                    col(Patron.link_source_patron_id).in_([p.id for p in rows]),
                )
            )
        ).scalars()
    }
    return [
        NetworkMatch(
            source=p,
            policy=policies[p.institution_id],
            ref=make_ref(settings, patron.institution_id, p.id),  # type: ignore[arg-type]
            linked_account=copies.get(p.id),
        )
        for p in rows
        if unavailable_reason(p, policies[p.institution_id], today) is None
    ]
