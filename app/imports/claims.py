"""The unique keys an import's rows claim, hold and give up while their batch is not yet
written (app.imports.rows), and which changes cannot wait for the batch write."""

from __future__ import annotations

from typing import Any

from app.patrons.lookups import CachedLookups
from app.patrons.state import PatronState
from app.patrons.validation import PatronPlan


def claims(institution_id: int, plan: PatronPlan) -> list[tuple[Any, ...]]:
    state = plan.state
    keys: list[tuple[Any, ...]] = []
    username = state.scalars.get("username")
    if username:
        keys.append(("username", institution_id, username.lower()))
    for identifier_type, value in plan.new_identifiers.values():
        keys.append(("identifier", institution_id, identifier_type.id, value.lower()))
    if plan.attributes is not None:
        for type_id, values in plan.attributes.changes.items():
            if plan.attributes.types[type_id].row.unique:
                keys += [("attribute", type_id, v.lower()) for v in values]
    return keys


def held_keys(
    institution_id: int, state: PatronState, lookups: CachedLookups, plan: PatronPlan
) -> list[tuple[Any, ...]]:
    """The unique keys a patron in this state holds (its unique attribute values: of the
    types the plan changes)."""
    keys: list[tuple[Any, ...]] = []
    username = state.scalars.get("username")
    if username:
        keys.append(("username", institution_id, username.lower()))
    for code, value in state.identifiers.items():
        found = lookups.cached_identifier_type(code)
        if found is not None:
            keys.append(("identifier", institution_id, found.id, value.lower()))
    if plan.attributes is not None:
        for type_id in plan.attributes.changes:
            if plan.attributes.types[type_id].row.unique:
                keys += [
                    ("attribute", type_id, v.lower()) for v in state.attributes.get(type_id, [])
                ]
    return keys


def in_order(before: PatronState, after: PatronState | None = None) -> bool:
    """A change the checks of other rows read back from the database (the institution's
    last system administrator, its one public search account): written in file order,
    not held for the batch write."""
    return any(
        state is not None
        and ("SYSTEM_ADMIN" in state.system_groups or state.scalars.get("public_search_for"))
        for state in (before, after)
    )
