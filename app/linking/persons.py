"""Consortial ids: accounts of one person in several institutions.

Accounts sharing a value of a network-unique identifier type belong to the same
person. Neither is primary: nothing is copied or refreshed between them. Staff who
may search the network see the other accounts as network search shows them (shared
fields only, never restricted, disabled or expired ones).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import clock
from app.auth.policy import Actor
from app.linking.policies import lookup_types, source_policies
from app.linking.refs import can_link, make_ref, ref_key
from app.linking.search import NetworkMatch, identifier_matches
from app.network.models import IdentifierType, Institution
from app.patrons.models import Patron, PatronIdentifier
from app.settings import Settings
from app.sql import pk, saved_id


async def other_accounts(
    *, session: AsyncSession, settings: Settings, actor: Actor, patron: Patron
) -> list[NetworkMatch]:
    """The person's HOME accounts in other institutions, as the actor may see them."""
    if patron.account_type != "HOME" or actor.institution_id != patron.institution_id:
        return []
    if not can_link(actor, patron.institution_id):
        return []
    # The person's values of network-unique identifier types (consortial ids) ...
    values = (
        await session.execute(
            select(col(PatronIdentifier.value_key), col(PatronIdentifier.identifier_type_id))
            .join(IdentifierType, col(IdentifierType.id) == PatronIdentifier.identifier_type_id)
            .where(
                col(PatronIdentifier.patron_id) == patron.id,
                col(IdentifierType.network_unique).is_(True),
            )
        )
    ).all()
    if not values:
        return []
    # ... found exactly as network search finds them: each source institution's policy
    # (searchable identifier types, restricted user groups, what it shares) applies, and
    # a value that matches several accounts of one institution reveals none of them.
    others = list(
        (
            await session.execute(
                select(pk(Institution.id)).where(col(Institution.id) != patron.institution_id)
            )
        ).scalars()
    )
    policies = await source_policies(session, others)
    lookup = await lookup_types(session, patron.institution_id)
    today = clock.today()
    rows: dict[int, Patron] = {}
    for value, type_id in values:
        found = await identifier_matches(session, value, type_id, policies, today, lookup)
        for accounts in found.values():
            if len(accounts) == 1:
                rows.setdefault(saved_id(accounts[0]), accounts[0])
    if not rows:
        return []
    # The viewer's existing linked accounts of these patrons, as network search shows.
    copies = {
        c.link_source_patron_id: c
        for c in (
            await session.execute(
                select(Patron).where(
                    col(Patron.institution_id) == patron.institution_id,
                    col(Patron.link_source_patron_id).in_(list(rows)),
                )
            )
        ).scalars()
    }
    key = await ref_key(session, settings)
    return [
        NetworkMatch(
            source=p,
            policy=policies[p.institution_id],
            ref=make_ref(key, patron.institution_id, p.id),  # type: ignore[arg-type]
            linked_account=copies.get(p.id),
        )
        for p in sorted(rows.values(), key=lambda p: (p.institution_id, p.id))
    ]
