"""What each source institution lets the other members see and search: read by network
search, linking and propagation (changed in app.linking.sharing)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.linking.models import (
    LookupIdentifierType,
    RestrictedUserGroup,
    SearchableIdentifierType,
    SharedFieldSetting,
)
from app.network.models import IdentifierType, Institution

SHARED_FIELDS = (
    "GIVEN_NAME",
    "MIDDLE_NAME",
    "PREFERRED_NAME",
    "SURNAME",
    "PRIMARY_EMAIL",
    "CONTACT_EMAILS",
    "PHONE",
    "COHORT",
    "FORM_CLASS",
    "PHOTO",
)
# A new institution shares names, primary email and phone; nothing else.
SHARED_BY_DEFAULT = frozenset(
    {"GIVEN_NAME", "MIDDLE_NAME", "PREFERRED_NAME", "SURNAME", "PRIMARY_EMAIL", "PHONE"}
)
# Shared field -> patron column copied into linked accounts.
FIELD_COLUMNS = {
    "GIVEN_NAME": "given_name",
    "MIDDLE_NAME": "middle_name",
    "PREFERRED_NAME": "preferred_name",
    "SURNAME": "surname",
    "PRIMARY_EMAIL": "primary_email",
    "PHONE": "phone",
    "COHORT": "cohort",
    "FORM_CLASS": "form_class",
}


@dataclass(frozen=True)
class SourcePolicy:
    """Everything a source institution decides about its patrons' visibility."""

    institution: Institution
    shared: frozenset[str]
    restricted_groups: frozenset[int]
    searchable_types: frozenset[int]  # empty: every type is searchable


async def shared_fields(session: AsyncSession, institution_id: int) -> frozenset[str]:
    rows = (
        await session.execute(
            select(col(SharedFieldSetting.field), col(SharedFieldSetting.shared)).where(
                col(SharedFieldSetting.institution_id) == institution_id
            )
        )
    ).all()
    return _shared(dict(rows))


def _shared(settings: dict[str, bool]) -> frozenset[str]:
    """The shared fields, from an institution's settings (unset fields: the default)."""
    return frozenset(f for f in SHARED_FIELDS if settings.get(f, f in SHARED_BY_DEFAULT))


async def source_policies(
    session: AsyncSession, institution_ids: list[int]
) -> dict[int, SourcePolicy]:
    """The sharing policy of each of these institutions (four statements, however many)."""
    institutions = list(
        (
            await session.execute(
                select(Institution).where(col(Institution.id).in_(institution_ids))
            )
        ).scalars()
    )
    ids = [i.id for i in institutions]
    restricted: dict[int, set[int]] = defaultdict(set)
    for institution_id, group_id in (
        await session.execute(
            select(
                col(RestrictedUserGroup.institution_id), col(RestrictedUserGroup.user_group_id)
            ).where(col(RestrictedUserGroup.institution_id).in_(ids))
        )
    ).all():
        restricted[institution_id].add(group_id)
    searchable: dict[int, set[int]] = defaultdict(set)
    for institution_id, type_id in (
        await session.execute(
            select(
                col(SearchableIdentifierType.institution_id),
                col(SearchableIdentifierType.identifier_type_id),
            ).where(col(SearchableIdentifierType.institution_id).in_(ids))
        )
    ).all():
        searchable[institution_id].add(type_id)
    settings: dict[int, dict[str, bool]] = defaultdict(dict)
    for institution_id, name, shared in (
        await session.execute(
            select(
                col(SharedFieldSetting.institution_id),
                col(SharedFieldSetting.field),
                col(SharedFieldSetting.shared),
            ).where(col(SharedFieldSetting.institution_id).in_(ids))
        )
    ).all():
        settings[institution_id][name] = shared
    result: dict[int, SourcePolicy] = {}
    for institution in institutions:
        assert institution.id is not None
        result[institution.id] = SourcePolicy(
            institution=institution,
            shared=_shared(settings[institution.id]),
            restricted_groups=frozenset(restricted[institution.id]),
            searchable_types=frozenset(searchable[institution.id]),
        )
    return result


async def lookup_types(session: AsyncSession, institution_id: int) -> frozenset[int]:
    """The identifier types an institution looks others' patrons up by (empty: any)."""
    rows = await session.execute(
        select(col(LookupIdentifierType.identifier_type_id)).where(
            col(LookupIdentifierType.institution_id) == institution_id
        )
    )
    return frozenset(rows.scalars())


async def restricted_groups(
    session: AsyncSession, institution_id: int
) -> list[tuple[int, str | None]]:
    """The institution's user groups hidden from other members: (user group id, why)."""
    rows = await session.execute(
        select(col(RestrictedUserGroup.user_group_id), col(RestrictedUserGroup.description)).where(
            col(RestrictedUserGroup.institution_id) == institution_id
        )
    )
    return [(group_id, description) for group_id, description in rows.all()]


async def listed_types(
    session: AsyncSession,
    institution_id: int,
    model: type[SearchableIdentifierType] | type[LookupIdentifierType],
) -> list[IdentifierType]:
    """The identifier types on one of the institution's lists, by code (empty: any)."""
    return list(
        (
            await session.execute(
                select(IdentifierType)
                .join(model, col(model.identifier_type_id) == col(IdentifierType.id))
                .where(col(model.institution_id) == institution_id)
                .order_by(col(IdentifierType.code))
            )
        ).scalars()
    )
