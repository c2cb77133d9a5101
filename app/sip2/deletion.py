"""Deleting a SIP account: by whoever may change it, audited.

The authority is the one a change needs (spec: Delegation): a SYSTEM_ADMIN of its
institution whose session may hand out every attribute type the account is sent. Nothing
else refers to an account: SIP2 logins are throttled by address, and a connection still
logged in with it reads the account again on its next patron message, finds it gone and
is logged out (a new login with its id fails).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.attributes.types import load_types
from app.audit import service as audit
from app.auth.policy import (
    Actor,
    can_administer_institution,
    may_grant_attribute,
    require_authenticated,
)
from app.errors import DomainError, ErrorCode
from app.network.models import Library
from app.sip2.models import SipAccount
from app.sip2.service import _snapshot, account_by_login, attribute_fields


async def delete_sip_account(
    *,
    session: AsyncSession,
    actor: Actor,
    by_id: bool = False,
    account_id: int | None = None,
    login_id: str | None = None,
) -> SipAccount:
    """Delete a SIP account named by id (`by_id`; None: an id that names no account) or by
    login id; returns the deleted row."""
    require_authenticated(actor)
    if by_id == (login_id is not None):
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            "Name the SIP account by its id or by its login id.",
            [],
        )
    if login_id is not None:
        account = await account_by_login(session, login_id.strip())
        not_found = f"There is no SIP account {login_id!r}."
        where = ["login_id"]
    else:
        account = await session.get(SipAccount, account_id) if account_id else None
        not_found, where = "There is no such SIP account.", ["id"]
    if account is None or not can_administer_institution(actor, account.institution_id):
        # An account of another institution does not exist for this session.
        raise DomainError.of(ErrorCode.NOT_FOUND, not_found, where)
    types = {t.code: t for t in (await load_types(session, [account.institution_id])).values()}
    for item in attribute_fields(account):
        info = types.get(item.attribute_type)
        if info is not None and not may_grant_attribute(actor, account.institution_id, info.limits):
            raise DomainError.of(
                ErrorCode.ATTRIBUTE_FORBIDDEN,
                f"The SIP account {account.login_id!r} is sent {info.row.label}: only staff "
                f"logged in at {', '.join(info.limit_codes)} may delete it.",
                where,
            )
    library = (
        await session.get(Library, account.library_id) if account.library_id is not None else None
    )
    before = {"loginId": account.login_id, **_snapshot(account, library)}
    await session.delete(account)
    await audit.record(
        session=session,
        actor=actor,
        action="delete_sip_account",
        entity_type="SipAccount",
        entity_id=account.id,
        institution_id=account.institution_id,
        changes=audit.diff(before, {}),
    )
    await session.commit()
    return account
