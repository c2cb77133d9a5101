"""Loading a patron's full state (collections included) and turning it into audit snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes.models import AttributeType
from app.attributes.types import patron_values as attribute_values
from app.network.models import IdentifierType, Library, LibraryGroup, UserGroup
from app.patrons.models import (
    Patron,
    PatronContactEmail,
    PatronIdentifier,
    PatronLibraryAccess,
    PatronLibraryGroup,
    PatronSystemGroup,
)
from app.sql import InKeys, pk

SCALAR_FIELDS = (
    "home_library_id",
    "user_group_id",
    "username",
    "given_name",
    "middle_name",
    "preferred_name",
    "surname",
    "primary_email",
    "phone",
    "enabled",
    "is_staff",
    "is_generic",
    "public_search_for",
    "until",
    "expiry_date",
    "purge_date",
    "cohort",
    "form_class",
)


@dataclass
class PatronState:
    """Everything of a patron that an edit can change, in comparable form."""

    scalars: dict[str, Any] = field(default_factory=dict)
    # identifier type code -> value
    identifiers: dict[str, str] = field(default_factory=dict)
    contact_emails: list[tuple[str, str | None]] = field(default_factory=list)
    library_groups: set[int] = field(default_factory=set)
    system_groups: set[str] = field(default_factory=set)
    libraries: set[int] = field(default_factory=set)
    has_password: bool = False
    # attribute type id -> values (hidden ones included; readers filter the audit trail)
    attributes: dict[int, list[str]] = field(default_factory=dict)

    def snapshot(self, names: dict[str, dict[int, str]]) -> dict[str, Any]:
        """A JSON-able view for the audit trail (ids turned into codes and names)."""
        out: dict[str, Any] = {}
        for key, value in self.scalars.items():
            if key == "home_library_id":
                out["homeLibrary"] = names["library"].get(value) if value else None
            elif key == "user_group_id":
                out["userGroup"] = names["user_group"].get(value) if value else None
            elif key == "public_search_for":
                out["isPublicSearch"] = value is not None
            else:
                out[_camel(key)] = value.isoformat() if hasattr(value, "isoformat") else value
        for code, value in self.identifiers.items():
            out[f"identifier:{code}"] = value
        out["contactEmails"] = [
            {"address": address, "label": label} for address, label in self.contact_emails
        ]
        out["libraryGroups"] = sorted(
            names["library_group"].get(i, str(i)) for i in self.library_groups
        )
        out["systemGroups"] = sorted(self.system_groups)
        out["libraries"] = sorted(names["library"].get(i, str(i)) for i in self.libraries)
        out["password"] = "(set)" if self.has_password else None
        for type_id, values in self.attributes.items():
            if values:
                out[f"attribute:{names['attribute_type'].get(type_id, type_id)}"] = sorted(values)
        return out


@cache  # a handful of field names, asked for once per field of every snapshot
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


async def load_state(session: AsyncSession, patron: Patron) -> PatronState:
    """The current state of a stored patron."""
    assert patron.id is not None
    state = PatronState(
        scalars={name: getattr(patron, name) for name in SCALAR_FIELDS},
        has_password=patron.password_hash is not None,
        attributes=await attribute_values(session, patron.id),
    )
    rows = await session.execute(
        select(col(IdentifierType.code), col(PatronIdentifier.value))
        .join(IdentifierType, col(IdentifierType.id) == col(PatronIdentifier.identifier_type_id))
        .where(col(PatronIdentifier.patron_id) == patron.id)
    )
    state.identifiers = dict(rows.all())
    contacts = await session.execute(
        select(col(PatronContactEmail.address), col(PatronContactEmail.label))
        .where(col(PatronContactEmail.patron_id) == patron.id)
        .order_by(col(PatronContactEmail.position), col(PatronContactEmail.id))
    )
    state.contact_emails = [(address, label) for address, label in contacts.all()]
    state.library_groups = set(
        (
            await session.execute(
                select(col(PatronLibraryGroup.library_group_id)).where(
                    col(PatronLibraryGroup.patron_id) == patron.id
                )
            )
        ).scalars()
    )
    state.system_groups = set(
        (
            await session.execute(
                select(col(PatronSystemGroup.system_group)).where(
                    col(PatronSystemGroup.patron_id) == patron.id
                )
            )
        ).scalars()
    )
    state.libraries = set(
        (
            await session.execute(
                select(col(PatronLibraryAccess.library_id)).where(
                    col(PatronLibraryAccess.patron_id) == patron.id
                )
            )
        ).scalars()
    )
    return state


async def name_maps(session: AsyncSession, institution_id: int) -> dict[str, dict[int, str]]:
    """Codes and names of an institution's libraries and groups, for readable audit entries."""

    libraries = await session.execute(select(pk(Library.id), col(Library.code)))
    groups = await session.execute(
        select(pk(UserGroup.id), col(UserGroup.code)).where(
            col(UserGroup.institution_id) == institution_id
        )
    )
    library_groups = await session.execute(
        select(pk(LibraryGroup.id), col(LibraryGroup.name)).where(
            col(LibraryGroup.institution_id) == institution_id
        )
    )
    attribute_types = await session.execute(
        select(pk(AttributeType.id), col(AttributeType.code)).where(
            col(AttributeType.institution_id) == institution_id
        )
    )
    return {
        "attribute_type": dict(attribute_types.all()),
        "library": dict(libraries.all()),
        "user_group": dict(groups.all()),
        "library_group": dict(library_groups.all()),
    }


async def load_states(session: AsyncSession, patrons: list[Patron]) -> dict[int, PatronState]:
    """The current states of many stored patrons, with one query per collection."""
    from app.attributes.models import PatronAttribute

    states: dict[int, PatronState] = {}
    for patron in patrons:
        assert patron.id is not None
        states[patron.id] = PatronState(
            scalars={name: getattr(patron, name) for name in SCALAR_FIELDS},
            has_password=patron.password_hash is not None,
        )
    ids = sorted(states)
    for start in range(0, len(ids), 1000):
        keys = {"ids": ids[start : start + 1000]}  # one array on PostgreSQL (app.sql.InKeys)
        for patron_id, type_id, value in (
            await session.execute(
                select(
                    col(PatronAttribute.patron_id),
                    col(PatronAttribute.attribute_type_id),
                    col(PatronAttribute.value),
                )
                .where(InKeys(col(PatronAttribute.patron_id)))
                .order_by(col(PatronAttribute.id)),
                keys,
            )
        ).all():
            states[patron_id].attributes.setdefault(type_id, []).append(value)
        for patron_id, code, value in (
            await session.execute(
                select(
                    col(PatronIdentifier.patron_id),
                    col(IdentifierType.code),
                    col(PatronIdentifier.value),
                )
                .join(
                    IdentifierType,
                    col(IdentifierType.id) == col(PatronIdentifier.identifier_type_id),
                )
                .where(InKeys(col(PatronIdentifier.patron_id))),
                keys,
            )
        ).all():
            states[patron_id].identifiers[code] = value
        for patron_id, address, label in (
            await session.execute(
                select(
                    col(PatronContactEmail.patron_id),
                    col(PatronContactEmail.address),
                    col(PatronContactEmail.label),
                )
                .where(InKeys(col(PatronContactEmail.patron_id)))
                .order_by(
                    col(PatronContactEmail.patron_id),
                    col(PatronContactEmail.position),
                    col(PatronContactEmail.id),
                ),
                keys,
            )
        ).all():
            states[patron_id].contact_emails.append((address, label))
        for table, column, attribute in (
            (PatronLibraryGroup, col(PatronLibraryGroup.library_group_id), "library_groups"),
            (PatronSystemGroup, col(PatronSystemGroup.system_group), "system_groups"),
            (PatronLibraryAccess, col(PatronLibraryAccess.library_id), "libraries"),
        ):
            for patron_id, member in (
                await session.execute(
                    select(col(table.patron_id), column).where(InKeys(col(table.patron_id))),
                    keys,
                )
            ).all():
                getattr(states[patron_id], attribute).add(member)
    return states
