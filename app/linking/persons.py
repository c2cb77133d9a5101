"""Consortial ids: accounts of one person in several institutions.

Accounts sharing a value of a network-unique identifier type belong to the same
person. Neither is primary: nothing is copied or refreshed between them. Staff who
may search the network see the other accounts as network search shows them (shared
fields only, never restricted, disabled or expired ones).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import clock
from app.auth.policy import Actor
from app.linking.policies import lookup_types, source_policies
from app.linking.refs import can_link, make_ref, ref_key
from app.linking.search import NetworkMatch, identifier_matches_many
from app.network.models import IdentifierType, Institution
from app.patrons.models import Patron, PatronIdentifier
from app.settings import Settings
from app.sql import in_chunks, pk, saved_id


async def other_accounts(
    *, session: AsyncSession, settings: Settings, actor: Actor, patron: Patron
) -> list[NetworkMatch]:
    """The person's HOME accounts in other institutions, as the actor may see them."""
    found = await other_accounts_many(
        session=session, settings=settings, actor=actor, patrons=[patron]
    )
    return found[saved_id(patron)]


async def other_accounts_many(
    *, session: AsyncSession, settings: Settings, actor: Actor, patrons: Sequence[Patron]
) -> dict[int, list[NetworkMatch]]:
    """other_accounts of several patrons, in a fixed number of statements however many
    patrons: a page of patrons asking for theirs costs what one does."""
    answers: dict[int, list[NetworkMatch]] = {saved_id(p): [] for p in patrons}
    home = actor.institution_id
    if home is None or not can_link(actor, home):
        return answers
    own = sorted(
        saved_id(p) for p in patrons if p.account_type == "HOME" and p.institution_id == home
    )
    # The values of network-unique identifier types (consortial ids) of the actor's own
    # HOME accounts among these patrons ...
    values: dict[int, list[tuple[str, int]]] = {}
    for chunk in in_chunks(own):
        rows = await session.execute(
            select(
                col(PatronIdentifier.patron_id),
                col(PatronIdentifier.value_key),
                col(PatronIdentifier.identifier_type_id),
            )
            .join(IdentifierType, col(IdentifierType.id) == PatronIdentifier.identifier_type_id)
            .where(
                col(PatronIdentifier.patron_id).in_(chunk),
                col(IdentifierType.network_unique).is_(True),
            )
        )
        for patron_id, value, type_id in rows.all():
            values.setdefault(patron_id, []).append((value, type_id))
    if not values:
        return answers
    # ... found exactly as network search finds them: each source institution's policy
    # (searchable identifier types, restricted user groups, what it shares) applies, and
    # a value that matches several accounts of one institution reveals none of them.
    others = list(
        (await session.execute(select(pk(Institution.id)).where(col(Institution.id) != home)))
        .scalars()
        .all()
    )
    policies = await source_policies(session, others)
    lookup = await lookup_types(session, home)
    pairs = sorted({pair for found in values.values() for pair in found})
    matches = await identifier_matches_many(
        session, [(v, t) for v, t in pairs], policies, clock.today(), lookup
    )
    sources: dict[int, dict[int, Patron]] = {}
    for patron_id, found in values.items():
        person = sources.setdefault(patron_id, {})
        for pair in found:
            for accounts in matches[pair].values():
                if len(accounts) == 1:
                    person.setdefault(saved_id(accounts[0]), accounts[0])
    wanted = sorted({source for person in sources.values() for source in person})
    if not wanted:
        return answers
    # The viewer's existing linked accounts of these patrons, as network search shows.
    copies: dict[int | None, Patron] = {}
    for chunk in in_chunks(wanted):
        linked = await session.execute(
            select(Patron).where(
                col(Patron.institution_id) == home,
                col(Patron.link_source_patron_id).in_(chunk),
            )
        )
        copies.update((c.link_source_patron_id, c) for c in linked.scalars())
    key = await ref_key(session, settings)
    for patron_id, found_sources in sources.items():
        answers[patron_id] = [
            NetworkMatch(
                source=p,
                policy=policies[p.institution_id],
                ref=make_ref(key, home, saved_id(p)),
                linked_account=copies.get(p.id),
            )
            for p in sorted(found_sources.values(), key=lambda p: (p.institution_id, p.id))
        ]
    return answers
