"""Every institution with a user group has a default linked account rule: it applies when
no other rule matches, so a walk-in can always be linked. It belongs to the network's
set-up (a user group's creation makes it), below the linking use cases that edit rules."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.linking.models import LinkedAccountRule
from app.network.models import UserGroup


async def rules_of(session: AsyncSession, institution_id: int) -> list[LinkedAccountRule]:
    """The rules in evaluation order; the default rule is last."""
    return list(
        (
            await session.execute(
                select(LinkedAccountRule)
                .where(col(LinkedAccountRule.institution_id) == institution_id)
                .order_by(
                    col(LinkedAccountRule.is_default),
                    col(LinkedAccountRule.position),
                    col(LinkedAccountRule.id),
                )
            )
        ).scalars()
    )


async def ensure_default_rule(
    session: AsyncSession, institution_id: int
) -> LinkedAccountRule | None:
    """Every institution with a user group has exactly one default rule (WALKIN if it exists)."""
    rules = await rules_of(session, institution_id)
    default = next((r for r in rules if r.is_default), None)
    if default is not None:
        return default
    groups = list(
        (
            await session.execute(
                select(UserGroup)
                .where(col(UserGroup.institution_id) == institution_id)
                .order_by(col(UserGroup.id))
            )
        ).scalars()
    )
    if not groups:
        return None
    group = next((g for g in groups if g.code == "WALKIN"), groups[0])
    default = LinkedAccountRule(
        institution_id=institution_id,
        name="Default rule",
        description="Applies when no other rule matches.",
        position=len(rules),
        is_default=True,
        conditions=[],
        user_group_id=group.id,  # type: ignore[arg-type]
    )
    session.add(default)
    await session.flush()
    return default
