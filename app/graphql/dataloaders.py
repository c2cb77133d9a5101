"""All DataLoaders of one request, created on first use."""

from __future__ import annotations

import asyncio
from functools import cached_property
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from app.auth.policy import Actor, can_read_patron
from app.circulation import borrowing
from app.db import SerialSession
from app.graphql.attributes import dataloaders as att
from app.graphql.emails import dataloaders as eml
from app.graphql.loading import per_row
from app.graphql.network import dataloaders as net
from app.graphql.patrons import dataloaders as pat
from app.linking import persons
from app.settings import Settings

# kind -> (position in a references_by_patron_id row, patron column, loader by id)
_REFERENCES = {
    "user_group": (1, "user_group_id", "user_group_by_id"),
    "home_library": (2, "home_library_id", "library_by_id"),
    "institution": (3, "institution_id", "institution_by_id"),
    "link_rule": (4, "link_rule_id", "link_rule_by_id"),
    "link_source_institution": (5, "link_source_institution_id", "institution_by_id"),
}


MISSING: Any = object()  # see Loaders.peek


class Loaders:
    def __init__(self, db: SerialSession, actor: Actor, settings: Settings) -> None:
        self.db = db
        self.actor = actor
        self.settings = settings

    # network
    @cached_property
    def institution_by_id(self) -> DataLoader[int, Any]:
        return net.institution_by_id(self.db)

    @cached_property
    def library_by_id(self) -> DataLoader[int, Any]:
        return net.library_by_id(self.db)

    @cached_property
    def user_group_by_id(self) -> DataLoader[int, Any]:
        return net.user_group_by_id(self.db)

    @cached_property
    def library_group_by_id(self) -> DataLoader[int, Any]:
        return net.library_group_by_id(self.db)

    @cached_property
    def block_type_by_id(self) -> DataLoader[int, Any]:
        return net.block_type_by_id(self.db)

    @cached_property
    def identifier_type_by_id(self) -> DataLoader[int, Any]:
        return net.identifier_type_by_id(self.db)

    @cached_property
    def link_rule_by_id(self) -> DataLoader[int, Any]:
        return net.link_rule_by_id(self.db)

    @cached_property
    def libraries_by_institution_id(self) -> DataLoader[int, list[Any]]:
        return net.libraries_by_institution_id(self.db)

    @cached_property
    def user_groups_by_institution_id(self) -> DataLoader[int, list[Any]]:
        return net.user_groups_by_institution_id(self.db)

    @cached_property
    def library_groups_by_institution_id(self) -> DataLoader[int, list[Any]]:
        return net.library_groups_by_institution_id(self.db)

    @cached_property
    def block_types_by_institution_id(self) -> DataLoader[int, list[Any]]:
        return net.block_types_by_institution_id(self.db)

    @cached_property
    def value_choices_by_institution_id(self) -> DataLoader[int, list[Any]]:
        return net.value_choices_by_institution_id(self.db)

    # patrons
    @cached_property
    def patron_by_id(self) -> DataLoader[int, Any]:
        return pat.patron_by_id(self.db)

    @cached_property
    def references_by_patron_id(self) -> DataLoader[int, Any]:
        return pat.references_by_patron_id(self.db)

    @cached_property
    def identifiers_by_patron_id(self) -> DataLoader[int, list[Any]]:
        return pat.identifiers_by_patron_id(self.db)

    @cached_property
    def contact_emails_by_patron_id(self) -> DataLoader[int, list[Any]]:
        return pat.contact_emails_by_patron_id(self.db)

    @cached_property
    def library_groups_by_patron_id(self) -> DataLoader[int, list[Any]]:
        return pat.library_groups_by_patron_id(self.db)

    @cached_property
    def system_groups_by_patron_id(self) -> DataLoader[int, list[Any]]:
        return pat.system_groups_by_patron_id(self.db)

    @cached_property
    def libraries_by_patron_id(self) -> DataLoader[int, list[Any]]:
        return pat.libraries_by_patron_id(self.db)

    @cached_property
    def blocks_by_patron_id(self) -> DataLoader[int, list[Any]]:
        return pat.blocks_by_patron_id(self.db)

    @cached_property
    def photo_by_patron_id(self) -> DataLoader[int, Any]:
        return pat.photo_by_patron_id(self.db)

    @cached_property
    def photo_data_by_patron_id(self) -> DataLoader[int, Any]:
        return pat.photo_data_by_patron_id(self.db)

    # attributes
    @cached_property
    def attribute_types_by_institution_id(self) -> DataLoader[int, list[Any]]:
        return att.attribute_types_by_institution_id(self.db)

    @cached_property
    def attribute_values_by_patron_id(self) -> DataLoader[int, list[Any]]:
        return att.attribute_values_by_patron_id(self.db)

    # emails
    @cached_property
    def email_flag_by_patron_id(self) -> DataLoader[int, Any]:
        return eml.email_flag_by_patron_id(self.db)

    @cached_property
    def email_alert_by_institution_id(self) -> DataLoader[int, Any]:
        return eml.email_alert_by_institution_id(self.db)

    # relations whose domain read needs the rows in hand: one batch per page
    @cached_property
    def borrowing_by_patron(self) -> DataLoader[Any, list[Any]]:
        return per_row(self.db, borrowing.borrowing_reasons_many, list)

    @cached_property
    def consortial_accounts_by_patron(self) -> DataLoader[Any, list[Any]]:
        async def fetch(session: AsyncSession, patrons: list[Any]) -> dict[int, Any]:
            return await persons.other_accounts_many(
                session=session, settings=self.settings, actor=self.actor, patrons=patrons
            )

        return per_row(self.db, fetch, list)

    @cached_property
    def copies_by_patron_id(self) -> DataLoader[int, list[Any]]:
        return pat.copies_by_patron_id(self.db)

    async def visible_patron(self, patron_id: int) -> Any:
        """The patron row if this request's actor may see it, else None."""
        row = await self.patron_by_id.load(patron_id)
        if row is None or not can_read_patron(self.actor, row.institution_id, patron_id):
            return None
        return row

    async def patron_reference(self, patron: Any, kind: str) -> Any:
        """One of a patron's to-one references, or None when the patron has none.

        `kind`: user_group, home_library, institution, link_rule or
        link_source_institution. All of them, for every patron of a page, come from one
        statement (references_by_patron_id), which also primes the loaders by id (a
        home library's institution is then no statement more). Each is checked against
        the patron row in hand, which a mutation of this request may have changed: on a
        mismatch the loader by id answers.
        """
        index, column, by_id = _REFERENCES[kind]
        wanted = getattr(patron, column)
        if wanted is None:
            return None
        row = await self.references_by_patron_id.load(patron.id)
        if row is not None:
            self._prime(row)
            value = row[index]
            if value is not None and value.id == wanted:
                return value
        return await getattr(self, by_id).load(wanted)

    def peek(self, name: str, key: Any) -> Any:
        """The loader's answer for a key if it is already in hand, else MISSING: a field
        whose data a page prefetched resolves without awaiting (no coroutine, no task)."""
        loader = self.__dict__.get(name)
        if loader is None or not loader.cache:
            return MISSING
        future = loader.cache_map.get(key)
        if future is None or not future.done() or future.cancelled() or future.exception():
            return MISSING
        return future.result()

    def reference_now(self, patron: Any, kind: str) -> Any:
        """patron_reference when its answer is already in hand (loaded by id for a page,
        or with the page's references), else MISSING."""
        index, column, by_id = _REFERENCES[kind]
        wanted = getattr(patron, column)
        if wanted is None:
            return None
        found = self.peek(by_id, wanted)
        if found is not MISSING and found is not None:
            return found
        row = self.peek("references_by_patron_id", patron.id)
        if row is MISSING or row is None:
            return MISSING
        self._prime(row)
        value = row[index]
        return value if value is not None and value.id == wanted else MISSING

    async def prefetch(self, names: set[str], patron_ids: list[int]) -> None:
        """Load these relations of a page of patrons now, one statement each: the page's
        fields then resolve from what is in hand."""
        await asyncio.gather(*(getattr(self, name).load_many(patron_ids) for name in sorted(names)))

    async def prefetch_references(self, kinds: set[str], patrons: list[Any]) -> None:
        """Load these to-one references of a page of patrons by their ids, one statement
        each (user_group, home_library, institution): the reference fields then resolve
        from what is in hand."""
        loads = []
        for kind in sorted(kinds):
            _, column, by_id = _REFERENCES[kind]
            ids = sorted({i for p in patrons if (i := getattr(p, column)) is not None})
            if ids:
                loads.append(getattr(self, by_id).load_many(ids))
        await asyncio.gather(*loads)

    def _prime(self, row: Any) -> None:
        _, group, library, institution, rule, source = row
        for loader, value in (
            ("user_group_by_id", group),
            ("library_by_id", library),
            ("institution_by_id", institution),
            ("link_rule_by_id", rule),
            ("institution_by_id", source),
        ):
            if value is not None:
                getattr(self, loader).prime(value.id, value)

    def forget_patron(self, patron_id: int) -> None:
        """Drop cached rows of a patron a mutation just changed."""
        for loader in (
            "patron_by_id",
            "references_by_patron_id",
            "identifiers_by_patron_id",
            "contact_emails_by_patron_id",
            "library_groups_by_patron_id",
            "system_groups_by_patron_id",
            "libraries_by_patron_id",
            "blocks_by_patron_id",
            "attribute_values_by_patron_id",
            "photo_by_patron_id",
            "photo_data_by_patron_id",
            "email_flag_by_patron_id",
        ):
            if loader in self.__dict__:
                self.__dict__[loader].clear(patron_id)
