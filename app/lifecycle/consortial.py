"""Linked accounts that duplicate a HOME account (`netzone check-consortial`).

Accounts sharing a consortial id (a value of a network-unique identifier type) are one
person: where an institution holds the person's HOME account, linking answers with it
and makes no copy. Copies made before that rule, or before the HOME account got the
consortial id, are listed here so that staff can merge each into the HOME account
(`mergePatrons`, the HOME account surviving). Nothing is changed here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.linking.search import local_accounts
from app.network.models import Institution
from app.patrons.models import Patron
from app.sql import saved_id

BATCH = 1000


@dataclass(frozen=True)
class DuplicateCopy:
    institution: str  # where both accounts are
    copy_id: int  # the LINKED account to merge away
    home_id: int  # the HOME account of the same person, which survives
    source_institution: str
    source_id: int


async def duplicate_copies(session: AsyncSession) -> list[DuplicateCopy]:
    """Every LINKED account whose institution holds the same person's HOME account."""
    codes = dict((await session.execute(select(col(Institution.id), col(Institution.code)))).all())
    copies: dict[int, dict[int, int]] = defaultdict(dict)  # target -> source -> copy
    rows = await session.execute(
        select(col(Patron.id), col(Patron.institution_id), col(Patron.link_source_patron_id)).where(
            col(Patron.account_type) == "LINKED", col(Patron.link_source_patron_id).isnot(None)
        )
    )
    for copy_id, target, source_id in rows.all():
        if copy_id is not None and source_id is not None:
            copies[target][source_id] = copy_id
    found: list[DuplicateCopy] = []
    for target, by_source in sorted(copies.items()):
        ids = sorted(by_source)
        for start in range(0, len(ids), BATCH):
            local = await local_accounts(session, target, ids[start : start + BATCH])
            for source_id, home in sorted(local.items()):
                source = await session.get(Patron, source_id)
                found.append(
                    DuplicateCopy(
                        institution=codes[target],
                        copy_id=by_source[source_id],
                        home_id=saved_id(home),
                        source_institution=codes.get(source.institution_id, "?")
                        if source is not None
                        else "?",
                        source_id=source_id,
                    )
                )
    return found
