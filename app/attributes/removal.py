"""Removing an attribute type (its institution's SYSTEM_ADMIN, from a session that may see
it). Nothing that names the type is left behind: patrons' values go only on request
(`delete_values`, each patron's trail records what it had), and API clients with its
`attribute:<CODE>` scope or SIP accounts sending it refuse the removal until changed, so no
scope or field policy names a type that is gone (nor one created later with its code)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes import definitions, holders
from app.attributes.admin import TypeTarget, administered_type
from app.attributes.models import AttributeType, PatronAttribute
from app.audit import service as audit
from app.auth.policy import Actor
from app.db import utcnow
from app.network.uses import Removal, bump_patrons, many, record, references
from app.patrons.models import Patron
from app.sql import saved_id

DELETE_VALUES = ["delete_values"]


@dataclass(frozen=True)
class RemovedType:
    type_id: int
    code: str
    values_deleted: int


async def remove_attribute_type(
    *, session: AsyncSession, actor: Actor, target: TypeTarget, delete_values: bool
) -> RemovedType:
    """Remove a type nothing depends on; its patrons' values too with `delete_values`."""
    found = await administered_type(session, actor, target, "remove attribute types")
    info, institution_id = found.info, saved_id(found.institution)
    removal = Removal(
        f"the attribute type {info.code}", await references(session, "attribute_type", info.id)
    )
    values = removal.take("patron_attribute.attribute_type_id")
    patrons = await holders.patrons_with_values(session, info.id) if values else 0
    if patrons and not delete_values:
        removal.refuse(
            f"{many(patrons, 'patron has', 'patrons have')} a value for {info.code}: give "
            "deleteValues: true to delete the values with the type (each patron's audit "
            "trail keeps them).",
            DELETE_VALUES,
        )
    for carrying in await holders.carriers(session, institution_id, info.code):
        if carrying.holders:
            removal.refuse(carrying.refusal(), found.where)
    removal.finish(
        {},
        cascades=[
            f"{model.__tablename__}.attribute_type_id" for model in definitions.SETTINGS_TABLES
        ],
    )
    if values:
        await _delete_values(session, actor, info.id, info.code, institution_id)
    for model in definitions.SETTINGS_TABLES:
        await session.execute(delete(model).where(col(model.attribute_type_id) == info.id))
    await session.execute(delete(AttributeType).where(col(AttributeType.id) == info.id))
    changes: dict[str, Any] = {
        "code": {"before": info.code, "after": None},
        "label": {"before": info.row.label, "after": None},
    }
    if values:
        changes["valuesDeleted"] = {"before": None, "after": values}
        changes["patrons"] = {"before": None, "after": patrons}
    await record(
        session, actor, "remove_attribute_type", "AttributeType", info.id, institution_id, changes
    )
    await session.commit()
    return RemovedType(info.id, info.code, values)


async def _delete_values(
    session: AsyncSession, actor: Actor, type_id: int, code: str, institution_id: int
) -> None:
    """Delete every value of the type; each patron's trail gets what it had, and a new
    version (an edit based on the old one fails instead of bringing the values back)."""
    held: dict[int, list[str]] = defaultdict(list)
    rows = await session.execute(
        select(col(PatronAttribute.patron_id), col(PatronAttribute.value))
        .where(col(PatronAttribute.attribute_type_id) == type_id)
        .order_by(col(PatronAttribute.patron_id), col(PatronAttribute.value))
    )
    for patron_id, value in rows.all():
        held[patron_id].append(value)
    at = utcnow()
    await audit.insert_rows(
        session,
        [
            audit.entry_row(
                actor=actor,
                action="remove_attribute_type",
                entity_type="Patron",
                entity_id=patron_id,
                institution_id=institution_id,
                changes={f"attribute:{code}": {"before": values, "after": None}},
                at=at,
            )
            for patron_id, values in held.items()
        ],
    )
    await bump_patrons(
        session,
        col(Patron.id).in_(
            select(col(PatronAttribute.patron_id)).where(
                col(PatronAttribute.attribute_type_id) == type_id
            )
        ),
    )
    await session.execute(
        delete(PatronAttribute).where(col(PatronAttribute.attribute_type_id) == type_id)
    )
