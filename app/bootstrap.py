"""First start of a real (non-demo) network: one institution, one library, one administrator."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.policy import system_actor
from app.errors import DomainError, ErrorCode
from app.network import service as network
from app.patrons import service as patrons
from app.settings import Settings


@dataclass(frozen=True)
class Bootstrap:
    network_name: str
    institution_code: str
    institution_name: str
    library_code: str
    library_name: str
    admin_username: str
    admin_password: str
    admin_surname: str


async def bootstrap(session: AsyncSession, settings: Settings, spec: Bootstrap) -> None:
    """Create the network, a first member and its administrator (NETWORK_ADMIN and
    SYSTEM_ADMIN). Refused once any institution exists: from then on, administrators
    work through the API."""
    actor = system_actor("bootstrap")
    existing = await network.get_network(session)
    if existing is not None and await network.any_institution(session):
        raise DomainError.of(
            ErrorCode.CONFLICT,
            "This network already has institutions; add more through the API as NETWORK_ADMIN.",
        )
    await network.ensure_network(session, spec.network_name)
    await session.commit()
    await network.create_institution(
        session=session, actor=actor, code=spec.institution_code, name=spec.institution_name
    )
    await network.create_library(
        session=session,
        actor=actor,
        institution_code=spec.institution_code,
        code=spec.library_code,
        name=spec.library_name,
    )
    await network.create_user_group(
        session=session,
        actor=actor,
        institution_code=spec.institution_code,
        code="STAFF",
        name="Library staff",
    )
    await patrons.create_patron(
        session=session,
        settings=settings,
        actor=actor,
        institution_code=spec.institution_code,
        fields={
            "home_library": spec.library_code,
            "surname": spec.admin_surname,
            "username": spec.admin_username,
            "password": spec.admin_password,
            "is_staff": True,
            "user_group": "STAFF",
            "system_groups": ["LIBRARY_USERS", "SYSTEM_ADMIN", "NETWORK_ADMIN"],
        },
    )
