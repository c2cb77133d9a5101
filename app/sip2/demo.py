"""The demo network's SIP side: two vendor accounts of NEKLS and a few patrons with PINs.

- `kanopy-lansing`: LANSING's Kanopy account. AO is NEKLS; the Kanopy (LANSING) value
  goes as its code in field XK (PB, which the seed's product might suggest, is the birth
  date in the common SIP2 extensions, so a vendor could misread it).
- `nekls-vendor`: an account for all of NEKLS (no library, so no library-limited
  attribute) whose AO is the patron's home library code, also sent as a screen message.
Both use the demo secret; the patrons listed by `demo_sip_patrons` use it as their PIN.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import clock
from app.attributes.models import AttributeType, PatronAttribute
from app.auth.passwords import hash_password
from app.auth.policy import system_actor
from app.network import service as network
from app.network.models import IdentifierType, Library
from app.patrons.models import Patron, PatronIdentifier
from app.settings import Settings
from app.sip2 import service
from app.sip2.service import AoMode, AttributeField, SipAccountSpec

DEMO_SECRET = "netzone-demo"

DEMO_ACCOUNTS = [
    SipAccountSpec(
        institution="NEKLS",
        login_id="kanopy-lansing",
        secret=DEMO_SECRET,
        library="LANSING",
        attribute_fields=[AttributeField("KANOPY_LANSING", "XK")],
    ),
    SipAccountSpec(
        institution="NEKLS",
        login_id="nekls-vendor",
        secret=DEMO_SECRET,
        ao_mode=AoMode.HOME_LIBRARY,
        home_library_screen_message=True,
    ),
]


@dataclass(frozen=True)
class DemoSipPatron:
    barcode: str
    home_library: str
    name: str


async def seed_demo_sip(session: AsyncSession, settings: Settings) -> None:
    """Create the demo SIP accounts and demo PINs that are missing."""
    for spec in DEMO_ACCOUNTS:
        if await service.account_by_login(session, spec.login_id) is None:
            await service.create_sip_account(
                session=session, settings=settings, actor=system_actor("demo"), spec=spec
            )
    if await demo_sip_patrons(session):
        return
    pin_hash = await asyncio.to_thread(hash_password, settings, DEMO_SECRET)
    for library_code, kanopy in (("LANSING", "ALLOWED"), ("BASEHOR", None)):
        patron = await _candidate(session, library_code, kanopy)
        if patron is not None:
            # The registry wants a username beside a password.
            patron.username = patron.username_key = f"sip.demo.{library_code.lower()}"
            patron.password_hash = pin_hash
    await session.commit()


async def _candidate(session: AsyncSession, library_code: str, kanopy: str | None) -> Patron | None:
    """The first valid, non-staff patron of a library (with that Kanopy value, if given)."""
    library = await network.library_by_code(session, library_code)
    if library is None:
        return None
    query = (
        select(Patron)
        .where(
            col(Patron.home_library_id) == library.id,
            col(Patron.is_staff).is_(False),
            col(Patron.enabled).is_(True),
            col(Patron.expiry_date) > clock.today(),
            col(Patron.password_hash).is_(None),
            col(Patron.username).is_(None),
        )
        .order_by(col(Patron.id))
        .limit(1)
    )
    if kanopy is not None:
        query = query.where(
            col(Patron.id).in_(
                select(col(PatronAttribute.patron_id))
                .join(
                    AttributeType, col(AttributeType.id) == col(PatronAttribute.attribute_type_id)
                )
                .where(
                    col(AttributeType.code) == "KANOPY_LANSING",
                    col(PatronAttribute.value) == kanopy,
                )
            )
        )
    return (await session.execute(query)).scalar_one_or_none()


async def demo_sip_patrons(session: AsyncSession) -> list[DemoSipPatron]:
    """NEKLS patrons (not staff) who have a PIN: the ones to try the demo with."""
    institution = await network.institution_by_code(session, "NEKLS")
    if institution is None:
        return []
    rows = await session.execute(
        select(
            col(PatronIdentifier.value),
            col(Library.code),
            col(Patron.given_name),
            col(Patron.surname),
        )
        .join(Patron, col(Patron.id) == col(PatronIdentifier.patron_id))
        .join(IdentifierType, col(IdentifierType.id) == col(PatronIdentifier.identifier_type_id))
        .join(Library, col(Library.id) == col(Patron.home_library_id))
        .where(
            col(Patron.institution_id) == institution.id,
            col(Patron.is_staff).is_(False),
            col(Patron.password_hash).is_not(None),
            col(IdentifierType.code) == network.BARCODE,
        )
        .order_by(col(Patron.id))
        .limit(5)
    )
    return [
        DemoSipPatron(barcode, library, f"{given or ''} {surname or ''}".strip())
        for barcode, library, given, surname in rows
    ]
