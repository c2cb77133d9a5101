"""Who holds an attribute type: patrons with values, API clients with its `attribute:<CODE>`
scope, SIP accounts whose field policy sends it. Scopes and field policies name the type by
code in JSON columns, so no foreign key finds them: changes and removals ask here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes.models import PatronAttribute
from app.auth.models import ApiClient
from app.network.models import Library
from app.sip2.models import SipAccount


@dataclass(frozen=True)
class Holder:
    """An API client or SIP account that carries the type, and the library it acts for."""

    name: str
    library_id: int | None
    library_code: str | None
    enabled: bool

    def describe(self) -> str:
        """'Kanopy vendor (BASEHOR)', 'Old vendor (no library, switched off)'."""
        where = self.library_code or "no library"
        return f"{self.name} ({where}{'' if self.enabled else ', switched off'})"


async def clients_with_scope(session: AsyncSession, institution_id: int, code: str) -> list[Holder]:
    """The institution's API clients holding `attribute:<code>`, revoked ones included (a
    new secret switches a client on again with its scopes)."""
    scope = f"attribute:{code}"
    rows = await session.execute(
        select(ApiClient, col(Library.code))
        .outerjoin(Library, col(Library.id) == col(ApiClient.library_id))
        .where(col(ApiClient.institution_id) == institution_id)
        .order_by(col(ApiClient.name), col(ApiClient.id))
    )
    return [
        Holder(client.name, client.library_id, library, client.enabled)
        for client, library in rows.all()
        if scope in (client.scopes or [])
    ]


async def sip_accounts_sending(
    session: AsyncSession, institution_id: int, code: str
) -> list[Holder]:
    """The institution's SIP accounts whose field policy sends the type, disabled ones too."""
    rows = await session.execute(
        select(SipAccount, col(Library.code))
        .outerjoin(Library, col(Library.id) == col(SipAccount.library_id))
        .where(col(SipAccount.institution_id) == institution_id)
        .order_by(col(SipAccount.login_id))
    )
    return [
        Holder(account.login_id, account.library_id, library, account.enabled)
        for account, library in rows.all()
        if any(item.get("type") == code for item in account.attribute_fields or [])
    ]


@dataclass(frozen=True)
class Carriers:
    """API clients or SIP accounts that carry a type, and what to say of them."""

    kind: str  # "API clients"
    carry: str  # "hold the scope attribute:KANOPY_LANSING"
    remedy: str
    holders: list[Holder]

    def outside(self, limits: frozenset[int]) -> Carriers:
        """Those whose library is not one of the limits (an institution-wide one never is)."""
        kept = [h for h in self.holders if h.library_id not in limits]
        return Carriers(self.kind, self.carry, self.remedy, kept)

    def refusal(self, where: str = "") -> str:
        """'API clients hold the scope attribute:X: A (LANSING). It must leave ...'"""
        listing = ", ".join(h.describe() for h in self.holders)
        return f"{self.kind}{where} {self.carry}: {listing}. {self.remedy}"


async def carriers(session: AsyncSession, institution_id: int, code: str) -> list[Carriers]:
    """The API clients and the SIP accounts that carry the type (lists may be empty)."""
    return [
        Carriers(
            "API clients",
            f"hold the scope attribute:{code}",
            "It must leave their scopes first.",
            await clients_with_scope(session, institution_id, code),
        ),
        Carriers(
            "SIP accounts",
            f"send {code}",
            "Change their attribute fields first.",
            await sip_accounts_sending(session, institution_id, code),
        ),
    ]


async def patrons_with_values(session: AsyncSession, type_id: int) -> int:
    return int(
        (
            await session.execute(
                select(func.count(func.distinct(col(PatronAttribute.patron_id)))).where(
                    col(PatronAttribute.attribute_type_id) == type_id
                )
            )
        ).scalar_one()
    )
