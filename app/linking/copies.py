"""Linked copies: what a copy takes from its source, and refreshing it."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import clock
from app.audit import service as audit
from app.auth.policy import (
    Actor,
)
from app.db import utcnow
from app.emails.service import clear_flag_of_changed_address
from app.linking import evaluation as rule_evaluation
from app.linking.models import LinkedAccountRule
from app.linking.policies import FIELD_COLUMNS, SourcePolicy, source_policies
from app.linking.search import unavailable_reason
from app.network import service as network
from app.network.models import BlockType, IdentifierType, Institution, UserGroup
from app.patrons.models import (
    Patron,
    PatronBlock,
    PatronContactEmail,
    PatronIdentifier,
    PatronPhoto,
)
from app.patrons.versions import bump_version
from app.sql import pk

# ---------------------------------------------------------------- copying


async def copy_data(
    session: AsyncSession, copy: Patron, source: Patron, policy: SourcePolicy
) -> None:
    """Shared fields copied, the rest blanked; contact emails and consortial ids follow policy."""
    assert copy.id is not None
    assert source.id is not None
    address_before = copy.primary_email
    for shared_field, column in FIELD_COLUMNS.items():
        setattr(copy, column, getattr(source, column) if shared_field in policy.shared else None)
    if copy.primary_email != address_before:
        await session.flush()
        await clear_flag_of_changed_address(session=session, patron=copy)
    copy.surname_key = (copy.surname or "").lower()
    copy.given_key = (copy.given_name or "").lower()
    await session.execute(
        delete(PatronContactEmail).where(col(PatronContactEmail.patron_id) == copy.id)
    )
    if "CONTACT_EMAILS" in policy.shared:
        for contact in (
            await session.execute(
                select(PatronContactEmail)
                .where(col(PatronContactEmail.patron_id) == source.id)
                .order_by(col(PatronContactEmail.position))
            )
        ).scalars():
            session.add(
                PatronContactEmail(
                    patron_id=copy.id,
                    position=contact.position,
                    address=contact.address,
                    label=contact.label,
                )
            )
    await _copy_photo(session, copy, source, "PHOTO" in policy.shared)
    # Only network-unique identifiers (consortial ids) travel: the copy is the same person.
    await session.execute(
        delete(PatronIdentifier).where(col(PatronIdentifier.patron_id) == copy.id)
    )
    for identifier in (
        await session.execute(
            select(PatronIdentifier)
            .join(
                IdentifierType, col(IdentifierType.id) == col(PatronIdentifier.identifier_type_id)
            )
            .where(
                col(PatronIdentifier.patron_id) == source.id,
                col(IdentifierType.network_unique).is_(True),
            )
        )
    ).scalars():
        clash = await session.scalar(
            select(pk(PatronIdentifier.id)).where(
                col(PatronIdentifier.institution_id) == copy.institution_id,
                col(PatronIdentifier.identifier_type_id) == identifier.identifier_type_id,
                col(PatronIdentifier.value_key) == identifier.value_key,
            )
        )
        if clash is None:
            session.add(
                PatronIdentifier(
                    patron_id=copy.id,
                    institution_id=copy.institution_id,
                    identifier_type_id=identifier.identifier_type_id,
                    value=identifier.value,
                    value_key=identifier.value_key,
                )
            )


async def _copy_photo(session: AsyncSession, copy: Patron, source: Patron, shared: bool) -> None:
    """The source's photo when it shares photos; otherwise the copy has none."""
    photo = await session.get(PatronPhoto, source.id) if shared else None
    existing = await session.get(PatronPhoto, copy.id)
    if photo is None:
        if existing is not None:
            await session.delete(existing)
        return
    if existing is None:
        session.add(
            PatronPhoto(
                patron_id=copy.id,  # type: ignore[arg-type]
                content_type=photo.content_type,
                width=photo.width,
                height=photo.height,
                byte_size=photo.byte_size,
                data=photo.data,
                updated_at=photo.updated_at,
            )
        )
        return
    existing.content_type = photo.content_type
    existing.width, existing.height = photo.width, photo.height
    existing.byte_size = photo.byte_size
    existing.data = photo.data
    existing.updated_at = photo.updated_at


async def _remove_copied_blocks(session: AsyncSession, copy: Patron) -> None:
    await session.execute(
        delete(PatronBlock).where(
            col(PatronBlock.patron_id) == copy.id, col(PatronBlock.origin) == "COPIED"
        )
    )


async def replace_copied_blocks(session: AsyncSession, copy: Patron, source: Patron) -> None:
    """All COPIED blocks deleted; the source's current network blocks copied (local ones stay)."""
    await _remove_copied_blocks(session, copy)
    consortial = await network.block_type_by_code(
        session, copy.institution_id, network.CONSORTIAL_BLOCK
    )
    if consortial is None:
        return
    assert copy.id is not None
    assert consortial.id is not None
    source_institution = await session.get(Institution, source.institution_id)
    now = utcnow()
    for block, block_type in (
        await session.execute(
            select(PatronBlock, BlockType)
            .join(BlockType, col(BlockType.id) == col(PatronBlock.block_type_id))
            .where(col(PatronBlock.patron_id) == source.id, col(BlockType.network).is_(True))
            .order_by(col(PatronBlock.id))
        )
    ).all():
        if block.expires_at is not None and block.expires_at <= now:
            continue
        note = f"{block_type.description} ({source_institution.code if source_institution else 'home institution'})"
        if block.note:
            note = f"{note}: {block.note}"
        session.add(
            PatronBlock(
                patron_id=copy.id,
                block_type_id=consortial.id,
                note=note[:1000],
                origin="COPIED",
                expires_at=block.expires_at,
            )
        )


def _snapshot(copy: Patron) -> dict[str, object]:
    return {
        column: getattr(copy, column)
        for column in (
            *FIELD_COLUMNS.values(),
            "user_group_id",
            "expiry_date",
            "purge_date",
            "link_status",
            "link_rule_id",
        )
    } | {"expiry_date": str(copy.expiry_date), "purge_date": str(copy.purge_date)}


async def refresh_copy(
    *,
    session: AsyncSession,
    actor: Actor,
    copy: Patron,
    policies: dict[int, SourcePolicy] | None = None,
    action: str = "refresh_linked_account",
) -> Patron:
    """Bring a linked account up to date with its source, by the refresh semantics."""
    assert copy.id is not None
    before = _snapshot(copy)
    now = utcnow()
    today = clock.today()
    source = (
        await session.get(Patron, copy.link_source_patron_id)
        if copy.link_source_patron_id
        else None
    )
    if source is None:
        copy.link_status = "SOURCE_DELETED"
    else:
        policy = (policies or {}).get(source.institution_id) or (
            await source_policies(session, [source.institution_id])
        )[source.institution_id]
        if unavailable_reason(source, policy, today) is not None:
            copy.link_status = "SOURCE_UNAVAILABLE"
        else:
            await copy_data(session, copy, source, policy)
            expired = copy.expiry_date is not None and copy.expiry_date < today
            rule = (
                await session.get(LinkedAccountRule, copy.link_rule_id)
                if copy.link_rule_id
                else None
            )
            if expired or rule is None:
                group_code = (
                    (await session.get(UserGroup, source.user_group_id)).code  # type: ignore[union-attr]
                    if source.user_group_id
                    else None
                )
                evaluation = await rule_evaluation.evaluate(
                    session,
                    copy.institution_id,
                    policy.institution.code,
                    group_code,
                    source.expiry_date,
                )
                if evaluation is not None:
                    rule = evaluation.rule
                    copy.link_rule_id = rule.id
                    if expired:
                        copy.user_group_id = evaluation.user_group_id
            if rule is not None:
                if expired or rule.refresh_expiry_date:
                    copy.expiry_date = rule_evaluation.expiry_for(rule, source.expiry_date)
                if (
                    expired
                    or rule.refresh_purge_date
                    # The expiry moved past the purge date (or went away): the purge
                    # date moves with it, whatever refreshPurgeDate says.
                    or (
                        copy.purge_date is not None
                        and (copy.expiry_date is None or copy.purge_date < copy.expiry_date)
                    )
                ):
                    copy.purge_date = rule_evaluation.purge_for(rule, copy.expiry_date)
                if rule.copy_network_blocks:
                    await replace_copied_blocks(session, copy, source)
                else:
                    # Copied under a rule that copied blocks (or before it stopped): nobody
                    # would ever replace them again, and only the source can lift them.
                    await _remove_copied_blocks(session, copy)
            copy.link_status = "ACTIVE"
    copy.refreshed_at = now
    copy.updated_at = now
    await session.flush()
    copy.version = await bump_version(session, copy.id)
    after = _snapshot(copy)
    await audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type="Patron",
        entity_id=copy.id,
        institution_id=copy.institution_id,
        changes=audit.diff(before, after),
    )
    return copy
