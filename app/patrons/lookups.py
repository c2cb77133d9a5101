"""What validating and writing a patron needs to look up: reference data and uniqueness.

`Lookups` answers each question with a query, which is right for one edit. A bulk
operation (the CSV importer) installs `CachedLookups` on its session: reference data
is read once, uniqueness questions for a whole batch of rows are answered by a few
set-based queries, and keys claimed by rows not yet written are remembered, so rows
later in the batch see them as taken.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Subquery, Text, bindparam, exists, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes.models import PatronAttribute
from app.attributes.types import load_types
from app.network import service as network
from app.network.choice_lists import ChoiceKind, choices_of
from app.network.models import IdentifierType, Institution, Library, LibraryGroup, UserGroup
from app.patrons.models import Patron, PatronIdentifier
from app.patrons.state import name_maps
from app.sql import pk

SESSION_KEY = "netzone.registry_lookups"


# Looking up a batch of keys (an import's 1,000 match keys, usernames or identifiers) with
# one statement whose plan does not depend on the tables' statistics.
#
# `column IN (1,000 values)` is planned from the statistics: once a table holds a few
# hundred thousand rows, PostgreSQL estimates the index probes (random page reads at the
# default costs) dearer than reading the whole table, and scans every patron of the
# institution for each batch (15-45 ms a lookup at 100,000 patrons, growing with the table:
# the import slows down as it goes). On PostgreSQL the keys are therefore sent as one array
# and each is looked up on its own (`unnest` joined LATERAL to a subquery fenced with
# `OFFSET 0`, which the planner cannot flatten into a hash join): one index probe per key,
# whatever the statistics say (3-4 ms for 1,000 keys at 100,000 patrons). Elsewhere
# (SQLite) an IN list, which SQLite answers from the index.
def probed(
    dialect: str,
    key_column: Any,  # a column (a model attribute)
    keys: Sequence[str],
    columns: Sequence[Any],
    *where: ColumnElement[bool],
) -> Subquery:
    """The rows whose `key_column` is one of `keys` and which meet `where`, as a subquery
    of `columns` (by their names); on PostgreSQL one index probe per key (see above)."""
    if dialect != "postgresql":
        return select(*columns).where(key_column.in_(list(keys)), *where).subquery("probed")
    wanted = (
        func.unnest(bindparam("probe_keys", list(keys), type_=ARRAY(Text)))
        .table_valued("key")
        .render_derived(name="wanted")
    )
    found = (
        select(*columns)
        .where(key_column == wanted.c.key, *where)
        .offset(0)  # a fence: planned once per key, from the index
        .lateral("found")
    )
    return select(found).select_from(wanted).join(found, true()).subquery("probed")


class Lookups:
    """One query per question (the default)."""

    async def institution_by_code(self, session: AsyncSession, code: str) -> Institution | None:
        return await network.institution_by_code(session, code)

    async def institution_by_id(self, session: AsyncSession, institution_id: int) -> Institution:
        found = await session.get(Institution, institution_id)
        assert found is not None
        return found

    async def library_by_code(self, session: AsyncSession, code: str) -> Library | None:
        return await network.library_by_code(session, code)

    async def user_group_by_code(
        self, session: AsyncSession, institution_id: int, code: str
    ) -> UserGroup | None:
        return await network.user_group_by_code(session, institution_id, code)

    async def identifier_type_by_code(
        self, session: AsyncSession, code: str
    ) -> IdentifierType | None:
        return await network.identifier_type_by_code(session, code)

    async def library_group_ids(self, session: AsyncSession, institution_id: int) -> set[int]:
        rows = await session.execute(
            select(pk(LibraryGroup.id)).where(col(LibraryGroup.institution_id) == institution_id)
        )
        return set(rows.scalars())

    async def username_taken(
        self, session: AsyncSession, institution_id: int, key: str, patron_id: int | None
    ) -> bool:
        return bool(
            await session.scalar(
                select(
                    exists().where(
                        col(Patron.institution_id) == institution_id,
                        col(Patron.username_key) == key,
                        col(Patron.id) != (patron_id or -1),
                    )
                )
            )
        )

    async def identifier_taken(
        self,
        session: AsyncSession,
        institution_id: int,
        type_id: int,
        key: str,
        patron_id: int | None,
    ) -> bool:
        clash = select(col(PatronIdentifier.patron_id)).where(
            col(PatronIdentifier.identifier_type_id) == type_id,
            col(PatronIdentifier.patron_id) != (patron_id or -1),
            col(PatronIdentifier.institution_id) == institution_id,
            col(PatronIdentifier.value_key) == key,
        )
        return await session.scalar(clash.limit(1)) is not None

    async def attribute_types(self, session: AsyncSession, institution_id: int) -> dict[int, Any]:
        return await load_types(session, [institution_id])

    async def attribute_value_taken(
        self, session: AsyncSession, type_id: int, key: str, patron_id: int | None
    ) -> bool:
        return bool(
            await session.scalar(
                select(
                    exists().where(
                        col(PatronAttribute.attribute_type_id) == type_id,
                        col(PatronAttribute.unique_key) == key,
                        col(PatronAttribute.patron_id) != (patron_id or -1),
                    )
                )
            )
        )

    async def name_maps(self, session: AsyncSession, institution_id: int) -> dict[str, Any]:
        return await name_maps(session, institution_id)

    async def value_choices(
        self, session: AsyncSession, institution_id: int, kind: ChoiceKind
    ) -> list[str]:
        """The listed cohorts or form classes of the institution (empty: free text)."""
        return [c.value for c in await choices_of(session, institution_id, kind)]


DEFAULT = Lookups()


def lookups_of(session: AsyncSession) -> Lookups:
    found = session.info.get(SESSION_KEY)
    return found if isinstance(found, Lookups) else DEFAULT


# A key claimed by a row that is not written yet: (kind, key) -> the claiming row's mark.
Claim = tuple[str, Any]


class CachedLookups(Lookups):
    """Reference data read once; uniqueness answered from batch prefetches and claims.

    Correct even for a key that was not prefetched (it falls back to a query). Claims
    are keys that rows accepted earlier in this batch will write; `release` forgets them
    once those rows are written (then the database answers).
    """

    def __init__(self) -> None:
        self._institutions: dict[str, Institution | None] = {}
        self._institutions_by_id: dict[int, Institution] = {}
        self._libraries: dict[str, Library | None] = {}
        self._user_groups: dict[tuple[int, str], UserGroup | None] = {}
        self._identifier_types: dict[str, IdentifierType | None] = {}
        self._library_groups: dict[int, set[int]] = {}
        self._attribute_types: dict[int, dict[int, Any]] = {}
        self._names: dict[int, dict[str, Any]] = {}
        self._library_group_names: dict[int, dict[str, int]] = {}
        self._value_choices: dict[tuple[int, ChoiceKind], list[str]] = {}
        # Prefetched owners: ("username", institution_id, key) / ("identifier", institution_id,
        # type_id, key) -> owning patron id, or None when nobody holds it.
        self._owners: dict[tuple[Any, ...], int | None] = {}
        # Keys claimed by accepted rows not yet written -> a mark of the claiming row
        # (an existing patron's id, or a negative number for a new patron).
        self._claims: dict[tuple[Any, ...], int] = {}

    # -- reference data, read once per operation
    async def institution_by_code(self, session: AsyncSession, code: str) -> Institution | None:
        key = network.normalize_code(code)
        if key not in self._institutions:
            self._institutions[key] = await super().institution_by_code(session, code)
        return self._institutions[key]

    async def institution_by_id(self, session: AsyncSession, institution_id: int) -> Institution:
        if institution_id not in self._institutions_by_id:
            self._institutions_by_id[institution_id] = await super().institution_by_id(
                session, institution_id
            )
        return self._institutions_by_id[institution_id]

    async def library_by_code(self, session: AsyncSession, code: str) -> Library | None:
        key = network.normalize_code(code)
        if key not in self._libraries:
            self._libraries[key] = await super().library_by_code(session, code)
        return self._libraries[key]

    async def user_group_by_code(
        self, session: AsyncSession, institution_id: int, code: str
    ) -> UserGroup | None:
        key = (institution_id, network.normalize_code(code))
        if key not in self._user_groups:
            self._user_groups[key] = await super().user_group_by_code(session, institution_id, code)
        return self._user_groups[key]

    async def identifier_type_by_code(
        self, session: AsyncSession, code: str
    ) -> IdentifierType | None:
        key = network.normalize_code(code)
        if key not in self._identifier_types:
            self._identifier_types[key] = await super().identifier_type_by_code(session, code)
        return self._identifier_types[key]

    async def library_group_ids(self, session: AsyncSession, institution_id: int) -> set[int]:
        if institution_id not in self._library_groups:
            self._library_groups[institution_id] = await super().library_group_ids(
                session, institution_id
            )
        return self._library_groups[institution_id]

    async def attribute_types(self, session: AsyncSession, institution_id: int) -> dict[int, Any]:
        if institution_id not in self._attribute_types:
            self._attribute_types[institution_id] = await super().attribute_types(
                session, institution_id
            )
        return self._attribute_types[institution_id]

    async def name_maps(self, session: AsyncSession, institution_id: int) -> dict[str, Any]:
        if institution_id not in self._names:
            self._names[institution_id] = await super().name_maps(session, institution_id)
        return self._names[institution_id]

    async def value_choices(
        self, session: AsyncSession, institution_id: int, kind: ChoiceKind
    ) -> list[str]:
        key = (institution_id, kind)
        if key not in self._value_choices:
            self._value_choices[key] = await super().value_choices(session, institution_id, kind)
        return self._value_choices[key]

    def cached_identifier_type(self, code: str) -> IdentifierType | None:
        return self._identifier_types.get(network.normalize_code(code))

    def library_group_names(self, institution_id: int) -> dict[str, int] | None:
        return self._library_group_names.get(institution_id)

    def remember_library_group_names(self, institution_id: int, names: dict[str, int]) -> None:
        self._library_group_names[institution_id] = names

    # -- uniqueness
    async def prefetch(
        self,
        session: AsyncSession,
        institution_id: int,
        usernames: Iterable[str],
        identifiers: Iterable[tuple[int, str]],
    ) -> None:
        """Owners of these username keys and (identifier type id, value key) pairs, in two
        queries (earlier prefetches are dropped: they may be out of date)."""
        self._owners = {}
        dialect = (await session.connection()).dialect.name
        names = sorted(set(usernames))
        for start in range(0, len(names), 1000):
            part = names[start : start + 1000]
            for key in part:
                self._owners[("username", institution_id, key)] = None
            found = probed(
                dialect,
                col(Patron.username_key),
                part,
                [col(Patron.username_key), pk(Patron.id)],
                col(Patron.institution_id) == institution_id,
            )
            for username_key, owner in (await session.execute(select(found))).all():
                self._owners[("username", institution_id, username_key)] = owner
        pairs = sorted(set(identifiers))
        values = sorted({key for _, key in pairs})
        for type_id, key in pairs:
            self._owners[("identifier", institution_id, type_id, key)] = None
        for start in range(0, len(values), 1000):
            part = values[start : start + 1000]
            found = probed(
                dialect,
                col(PatronIdentifier.value_key),
                part,
                [
                    col(PatronIdentifier.identifier_type_id),
                    col(PatronIdentifier.value_key),
                    col(PatronIdentifier.patron_id),
                ],
                col(PatronIdentifier.institution_id) == institution_id,
            )
            for type_id, key, owner in (await session.execute(select(found))).all():
                self._owners[("identifier", institution_id, type_id, key)] = owner

    def claim(self, kind_and_key: tuple[Any, ...], mark: int) -> None:
        self._claims[kind_and_key] = mark

    def moved(self, kind_and_key: tuple[Any, ...], owner: int | None) -> None:
        """A written change gave this key a new owner (None: nobody holds it now)."""
        if kind_and_key in self._owners:
            self._owners[kind_and_key] = owner

    def hold(self, kind_and_key: tuple[Any, ...], owner: int | None) -> None:
        """A change not yet written gives this key to `owner` (None: frees it)."""
        self._owners[kind_and_key] = owner

    def claimant(self, kind_and_key: tuple[Any, ...]) -> int | None:
        return self._claims.get(kind_and_key)

    def release(self) -> None:
        """The claimed rows are written: the database answers for them from now on."""
        self._claims = {}
        self._owners = {}

    async def _taken(
        self, session: AsyncSession, key: tuple[Any, ...], patron_id: int | None, query: Any
    ) -> bool:
        mark = self._claims.get(key)
        if mark is not None and mark != patron_id:
            return True
        if key in self._owners:
            owner = self._owners[key]
            return owner is not None and owner != patron_id
        return bool(await query())

    async def username_taken(
        self, session: AsyncSession, institution_id: int, key: str, patron_id: int | None
    ) -> bool:
        return await self._taken(
            session,
            ("username", institution_id, key),
            patron_id,
            lambda: super(CachedLookups, self).username_taken(
                session, institution_id, key, patron_id
            ),
        )

    async def identifier_taken(
        self,
        session: AsyncSession,
        institution_id: int,
        type_id: int,
        key: str,
        patron_id: int | None,
    ) -> bool:
        return await self._taken(
            session,
            ("identifier", institution_id, type_id, key),
            patron_id,
            lambda: super(CachedLookups, self).identifier_taken(
                session, institution_id, type_id, key, patron_id
            ),
        )

    async def attribute_value_taken(
        self, session: AsyncSession, type_id: int, key: str, patron_id: int | None
    ) -> bool:
        return await self._taken(
            session,
            ("attribute", type_id, key),
            patron_id,
            lambda: super(CachedLookups, self).attribute_value_taken(
                session, type_id, key, patron_id
            ),
        )
