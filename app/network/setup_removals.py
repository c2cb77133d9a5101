"""Removing an institution's user groups, library groups and block types (SYSTEM_ADMIN):
nothing in use disappears; with a replacement, what uses them moves to it."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth.policy import Actor
from app.db import metadata
from app.errors import DomainError, ErrorCode
from app.linking.models import (
    LinkedAccountRule,
    RestrictedUserGroup,
)
from app.network.changes import (
    administered_library_group,
    existing_block_type,
    existing_user_group,
)
from app.network.models import (
    BlockType,
    Institution,
    LibraryGroup,
    UserGroup,
)
from app.network.service import (
    CONSORTIAL_BLOCK,
    administered_institution,
)
from app.network.uses import (
    CODE,
    REPLACE,
    Removal,
    bump_patrons,
    bump_patrons_in,
    move_pairs,
    record,
    references,
)
from app.patrons.models import (
    Patron,
    PatronBlock,
)
from app.sql import saved_id

USER_GROUP_USES = {
    "patron.user_group_id": "{n} patrons have {what}",
    "linked_account_rule.user_group_id": "{n} linked account rules give {what} to the accounts "
    "they link",
}


async def remove_user_group(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    code: str,
    replace_with: str | None,
) -> str:
    """Remove a user group (SYSTEM_ADMIN); with a replacement, its patrons and the linked
    account rules that give it move to that group. A restricted group's patrons move only
    to a restricted group: otherwise other members could suddenly find them."""
    institution_id = saved_id(
        await administered_institution(session, actor, institution_code, "change its user groups")
    )
    group = await existing_user_group(session, institution_id, code)
    group_id = saved_id(group)
    removal = Removal(
        f"the user group {group.code}", await references(session, "user_group", group_id)
    )
    restricted = removal.take("restricted_user_group.user_group_id") > 0
    for rule, institution in await _rules_naming_group(session, group, institution_id):
        removal.refuse(
            f"The linked account rule {rule!r} of {institution} matches source user group "
            f"{group.code}, and no other institution it matches has that group: change its "
            "conditions first."
        )
    replacement: UserGroup | None = None
    if replace_with is not None:
        replacement = await existing_user_group(session, institution_id, replace_with, REPLACE)
        if replacement.id == group_id:
            raise DomainError.of(
                ErrorCode.INVALID_INPUT, "The replacement must be another user group.", REPLACE
            )
        if (
            restricted
            and await session.get(RestrictedUserGroup, (institution_id, replacement.id)) is None
            and removal.uses.get("patron.user_group_id")
        ):
            removal.refuse(
                f"{group.code} is hidden from other members and {replacement.code} is not: "
                f"moving its patrons there would let other members find them. Restrict "
                f"{replacement.code} first, or choose a restricted group.",
                REPLACE,
            )
            removal.take("patron.user_group_id")  # said above, with what to do
    moved = 0
    if replacement is not None:  # (a refusal below rolls the moves back)
        moved = removal.take("patron.user_group_id")
        await bump_patrons(session, col(Patron.user_group_id) == group_id)
        await session.execute(
            update(Patron)
            .where(col(Patron.user_group_id) == group_id)
            .values(user_group_id=replacement.id)
        )
        if removal.take("linked_account_rule.user_group_id"):
            await session.execute(
                update(LinkedAccountRule)
                .where(col(LinkedAccountRule.user_group_id) == group_id)
                .values(user_group_id=replacement.id)
            )
    removal.finish(USER_GROUP_USES, cascades=["attribute_type_excluded_group.user_group_id"])
    await session.delete(group)
    await record(
        session,
        actor,
        "remove_user_group",
        "UserGroup",
        group_id,
        institution_id,
        {
            "code": {"before": group.code, "after": None},
            **({"replacedBy": replacement.code, "patronsMoved": moved} if replacement else {}),
        },
    )
    await session.commit()
    return group.code


async def _rules_naming_group(
    session: AsyncSession, group: UserGroup, institution_id: int
) -> list[tuple[str, str]]:
    """Rules whose SOURCE_USER_GROUP condition names the group's code and would match no
    group of that code once this one is gone (a rule that can never match)."""
    found: list[tuple[str, str]] = []
    rules = await session.execute(
        select(LinkedAccountRule, col(Institution.code)).join(
            Institution, col(Institution.id) == col(LinkedAccountRule.institution_id)
        )
    )
    for rule, owner in rules.all():
        conditions = rule.conditions or []
        if not any(
            c["parameter"] == "SOURCE_USER_GROUP" and group.code in c["values"] for c in conditions
        ):
            continue
        named: set[str] | None = None
        for c in conditions:
            if c["parameter"] == "SOURCE_INSTITUTION" and c["operator"] in ("EQUALS", "IN_LIST"):
                values = set(c["values"])
                named = values if named is None else named & values
        others = (
            select(func.count())
            .select_from(UserGroup)
            .join(Institution, col(Institution.id) == col(UserGroup.institution_id))
            .where(col(UserGroup.code) == group.code, col(UserGroup.id) != group.id)
        )
        if named is not None:
            others = others.where(col(Institution.code).in_(sorted(named)))
        if not (await session.execute(others)).scalar_one():
            found.append((rule.name, owner))
    return found


LIBRARY_GROUP_USES = {
    "patron_library_group.library_group_id": "{n} patrons are members of {what}",
}


async def remove_library_group(
    *,
    session: AsyncSession,
    actor: Actor,
    group_id: int | None,
    replace_with: int | None,
    replace_given: bool,
) -> int:
    """Remove a library group (SYSTEM_ADMIN); with a replacement, members move to it."""
    group = await administered_library_group(session, actor, group_id, ["id"])
    row_id = saved_id(group)
    replacement: LibraryGroup | None = None
    if replace_given:
        replacement = (
            None if replace_with is None else await session.get(LibraryGroup, replace_with)
        )
        if (
            replacement is None
            or replacement.id == row_id
            or replacement.institution_id != group.institution_id
        ):
            raise DomainError.of(
                ErrorCode.INVALID_INPUT,
                "The replacement must be another library group of the same institution.",
                REPLACE,
            )
    removal = Removal(
        f"the library group {group.name!r}", await references(session, "library_group", row_id)
    )
    moved = 0
    if replacement is not None:
        moved = removal.take("patron_library_group.library_group_id")
        table = metadata.tables["patron_library_group"]
        await bump_patrons_in(session, table, table.c.library_group_id, row_id)
        await move_pairs(
            session,
            metadata.tables["patron_library_group"],
            "patron_id",
            "library_group_id",
            row_id,
            saved_id(replacement),
        )
    removal.finish(LIBRARY_GROUP_USES)
    await session.delete(group)
    await record(
        session,
        actor,
        "remove_library_group",
        "LibraryGroup",
        row_id,
        group.institution_id,
        {
            "name": {"before": group.name, "after": None},
            **({"replacedBy": replacement.name, "patronsMoved": moved} if replacement else {}),
        },
    )
    await session.commit()
    return row_id


BLOCK_TYPE_USES = {"patron_block.block_type_id": "{n} blocks are of {what}"}


async def remove_block_type(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    code: str,
    replace_with: str | None,
) -> str:
    """Remove a block type (SYSTEM_ADMIN); with a replacement of the same kind (network or
    local), the blocks of this type become blocks of that one."""
    institution_id = saved_id(
        await administered_institution(session, actor, institution_code, "change its block types")
    )
    block_type = await existing_block_type(session, institution_id, code)
    type_id = saved_id(block_type)
    if block_type.code == CONSORTIAL_BLOCK:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            f"{CONSORTIAL_BLOCK} carries blocks copied between members: every institution "
            "keeps it.",
            CODE,
        )
    replacement: BlockType | None = None
    if replace_with is not None:
        replacement = await existing_block_type(session, institution_id, replace_with, REPLACE)
        if replacement.id == type_id or replacement.network != block_type.network:
            raise DomainError.of(
                ErrorCode.INVALID_INPUT,
                "The replacement must be another block type that is "
                f"{'a network' if block_type.network else 'a local'} block, as {block_type.code} "
                "is (otherwise blocks would start or stop reaching linked copies).",
                REPLACE,
            )
    removal = Removal(
        f"the block type {block_type.code}", await references(session, "block_type", type_id)
    )
    moved = 0
    if replacement is not None:
        moved = removal.take("patron_block.block_type_id")
        table = metadata.tables["patron_block"]
        await bump_patrons_in(session, table, table.c.block_type_id, type_id)
        await session.execute(
            update(PatronBlock)
            .where(col(PatronBlock.block_type_id) == type_id)
            .values(block_type_id=replacement.id)
        )
    removal.finish(BLOCK_TYPE_USES)
    await session.delete(block_type)
    await record(
        session,
        actor,
        "remove_block_type",
        "BlockType",
        type_id,
        institution_id,
        {
            "code": {"before": block_type.code, "after": None},
            **({"replacedBy": replacement.code, "blocksMoved": moved} if replacement else {}),
        },
    )
    await session.commit()
    return block_type.code
