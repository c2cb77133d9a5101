"""Use-cases of the network structure (NETWORK_ADMIN) and institution set-up (SYSTEM_ADMIN)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import service as audit
from app.auth.policy import (
    Actor,
    can_administer_network,
    require,
    require_authenticated,
    require_institution_admin,
)
from app.errors import DomainError, ErrorCode, FieldError
from app.network.default_rule import ensure_default_rule
from app.network.models import (
    BlockType,
    IdentifierType,
    Institution,
    Library,
    LibraryGroup,
    Network,
    UserGroup,
)
from app.sql import pk, saved_id

# Identifier types every network has: the patron fields barcode and adminSystemId.
BARCODE = "BARCODE"
ADMIN_SYSTEM_ID = "ADMIN_SYSTEM_ID"
BUILTIN_IDENTIFIER_TYPES = {BARCODE: "Library barcode", ADMIN_SYSTEM_ID: "Administration system ID"}
# The block type copied blocks arrive with; every institution has it.
CONSORTIAL_BLOCK = "CONSORTIAL"


def normalize_code(code: str) -> str:
    return code.strip().upper()


async def _insert(session: AsyncSession, row: object, conflict: str, field: list[str]) -> None:
    """Add and flush a new row; a concurrent twin that won the race is a CONFLICT, not a crash."""
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise DomainError.of(ErrorCode.CONFLICT, conflict, field) from exc


async def get_network(session: AsyncSession) -> Network | None:
    return (
        await session.execute(select(Network).order_by(col(Network.id)).limit(1))
    ).scalar_one_or_none()


async def any_institution(session: AsyncSession) -> bool:
    return (await session.execute(select(pk(Institution.id)).limit(1))).first() is not None


async def ensure_network(session: AsyncSession, name: str) -> Network:
    """The network row and the built-in identifier types exist (idempotent)."""
    network = await get_network(session)
    if network is None:
        network = Network(name=name)
        session.add(network)
    for code, label in BUILTIN_IDENTIFIER_TYPES.items():
        if await identifier_type_by_code(session, code) is None:
            session.add(IdentifierType(code=code, name=label, network_unique=False))
    await session.flush()
    return network


async def institution_by_code(session: AsyncSession, code: str) -> Institution | None:
    return (
        await session.execute(
            select(Institution).where(col(Institution.code) == normalize_code(code))
        )
    ).scalar_one_or_none()


async def library_by_code(session: AsyncSession, code: str) -> Library | None:
    return (
        await session.execute(select(Library).where(col(Library.code) == normalize_code(code)))
    ).scalar_one_or_none()


async def user_group_by_code(
    session: AsyncSession, institution_id: int, code: str
) -> UserGroup | None:
    return (
        await session.execute(
            select(UserGroup).where(
                col(UserGroup.institution_id) == institution_id,
                col(UserGroup.code) == normalize_code(code),
            )
        )
    ).scalar_one_or_none()


async def identifier_type_by_code(session: AsyncSession, code: str) -> IdentifierType | None:
    return (
        await session.execute(
            select(IdentifierType).where(col(IdentifierType.code) == normalize_code(code))
        )
    ).scalar_one_or_none()


async def block_type_by_code(
    session: AsyncSession, institution_id: int, code: str
) -> BlockType | None:
    return (
        await session.execute(
            select(BlockType).where(
                col(BlockType.institution_id) == institution_id,
                col(BlockType.code) == normalize_code(code),
            )
        )
    ).scalar_one_or_none()


async def require_institution(session: AsyncSession, code: str, field: list[str]) -> Institution:
    institution = await institution_by_code(session, code)
    if institution is None:
        raise DomainError.of(
            ErrorCode.NOT_FOUND, f"There is no institution with the code {code!r}.", field
        )
    return institution


async def administered_institution(
    session: AsyncSession, actor: Actor, code: str, what: str
) -> Institution:
    """The institution named in the input, if the session administers it (else FORBIDDEN
    saying who may <what>); NOT_FOUND when there is none."""
    require_authenticated(actor)
    institution = await require_institution(session, code, ["institution"])
    require_institution_admin(actor, saved_id(institution), what, institution.code)
    return institution


CODE_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _check_code(code: str, field: list[str], errors: list[FieldError]) -> str:
    value = normalize_code(code)
    # ASCII only: str.isalnum() would also let through "Å", "é" or "²".
    if not value or len(value) > 40 or not set(value) <= CODE_CHARACTERS:
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT,
                "Codes are 1 to 40 letters, digits, '-' or '_'.",
                field,
            )
        )
    return value


def _check_name(name: str, field: list[str], errors: list[FieldError]) -> str:
    value = name.strip()
    if not value:
        errors.append(FieldError(ErrorCode.MANDATORY_FIELD, "A name is required.", field))
    elif len(value) > 200:
        errors.append(
            FieldError(ErrorCode.INVALID_INPUT, "Names are at most 200 characters.", field)
        )
    return value


def _check_description(
    description: str | None,
    limit: int,
    field: list[str],
    errors: list[FieldError],
    *,
    required: bool,
) -> str | None:
    """A trimmed description that fits its column (PostgreSQL refuses longer ones)."""
    value = (description or "").strip() or None
    if value is None:
        if required:
            errors.append(
                FieldError(ErrorCode.MANDATORY_FIELD, "A description is required.", field)
            )
    elif len(value) > limit:
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT, f"Descriptions are at most {limit} characters.", field
            )
        )
    return value


async def create_institution(
    *, session: AsyncSession, actor: Actor, code: str, name: str
) -> Institution:
    """Add a member institution, with its CONSORTIAL block type."""
    require(
        can_administer_network(actor), actor, "Only a network administrator may add institutions."
    )
    errors: list[FieldError] = []
    code = _check_code(code, ["code"], errors)
    name = _check_name(name, ["name"], errors)
    if not errors and await institution_by_code(session, code) is not None:
        errors.append(
            FieldError(
                ErrorCode.CONFLICT,
                f"An institution with the code {code} exists.",
                ["code"],
            )
        )
    if errors:
        raise DomainError(errors)
    institution = Institution(code=code, name=name)
    await _insert(session, institution, f"An institution with the code {code} exists.", ["code"])
    session.add(
        BlockType(
            institution_id=institution.id,  # type: ignore[arg-type]
            code=CONSORTIAL_BLOCK,
            description="Block copied from the patron's home institution",
            network=True,
        )
    )
    await audit.record(
        session=session,
        actor=actor,
        action="create_institution",
        entity_type="Institution",
        entity_id=institution.id,
        institution_id=institution.id,
        changes={"code": {"before": None, "after": code}, "name": {"before": None, "after": name}},
    )
    await session.commit()
    return institution


async def create_library(
    *, session: AsyncSession, actor: Actor, institution_code: str, code: str, name: str
) -> Library:
    """Add a library to an institution; library codes are unique in the network."""
    require(can_administer_network(actor), actor, "Only a network administrator may add libraries.")
    institution = await require_institution(session, institution_code, ["institution"])
    errors: list[FieldError] = []
    code = _check_code(code, ["code"], errors)
    name = _check_name(name, ["name"], errors)
    if not errors and await library_by_code(session, code) is not None:
        errors.append(
            FieldError(ErrorCode.CONFLICT, f"A library with the code {code} exists.", ["code"])
        )
    if errors:
        raise DomainError(errors)
    library = Library(institution_id=institution.id, code=code, name=name)  # type: ignore[arg-type]
    await _insert(session, library, f"A library with the code {code} exists.", ["code"])
    await audit.record(
        session=session,
        actor=actor,
        action="create_library",
        entity_type="Library",
        entity_id=library.id,
        institution_id=institution.id,
        changes={"code": {"before": None, "after": code}, "name": {"before": None, "after": name}},
    )
    await session.commit()
    return library


async def create_identifier_type(
    *, session: AsyncSession, actor: Actor, code: str, name: str, network_unique: bool
) -> IdentifierType:
    """Add a network-wide identifier type (e.g. UNIV_ID, CONSORTIAL_ID)."""
    require(
        can_administer_network(actor),
        actor,
        "Only a network administrator may add identifier types.",
    )
    errors: list[FieldError] = []
    code = _check_code(code, ["code"], errors)
    name = _check_name(name, ["name"], errors)
    if not errors and await identifier_type_by_code(session, code) is not None:
        errors.append(
            FieldError(ErrorCode.CONFLICT, f"An identifier type {code} exists.", ["code"])
        )
    if errors:
        raise DomainError(errors)
    identifier_type = IdentifierType(code=code, name=name, network_unique=network_unique)
    await _insert(session, identifier_type, f"An identifier type {code} exists.", ["code"])
    await audit.record(
        session=session,
        actor=actor,
        action="create_identifier_type",
        entity_type="IdentifierType",
        entity_id=identifier_type.id,
        institution_id=None,
        changes={
            "code": {"before": None, "after": code},
            "networkUnique": {"before": None, "after": network_unique},
        },
    )
    await session.commit()
    return identifier_type


async def create_user_group(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    code: str,
    name: str,
    loan_period_days: int = 14,
) -> UserGroup:
    """Add a patron category to an institution."""
    institution = await administered_institution(
        session, actor, institution_code, "add user groups"
    )
    errors: list[FieldError] = []
    code = _check_code(code, ["code"], errors)
    name = _check_name(name, ["name"], errors)
    if loan_period_days < 1 or loan_period_days > 3650:
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT,
                "The loan period is 1 to 3650 days.",
                ["loan_period_days"],
            )
        )
    if not errors and await user_group_by_code(session, institution.id, code) is not None:  # type: ignore[arg-type]
        errors.append(
            FieldError(
                ErrorCode.CONFLICT,
                f"{institution.code} already has a user group {code}.",
                ["code"],
            )
        )
    if errors:
        raise DomainError(errors)
    group = UserGroup(
        institution_id=institution.id,  # type: ignore[arg-type]
        code=code,
        name=name,
        loan_period_days=loan_period_days,
    )
    await _insert(session, group, f"{institution.code} already has a user group {code}.", ["code"])
    await audit.record(
        session=session,
        actor=actor,
        action="create_user_group",
        entity_type="UserGroup",
        entity_id=group.id,
        institution_id=institution.id,
        changes={"code": {"before": None, "after": code}, "name": {"before": None, "after": name}},
    )
    await ensure_default_rule(session, institution.id)  # type: ignore[arg-type]
    await session.commit()
    return group


async def create_library_group(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    name: str,
    description: str | None,
) -> LibraryGroup:
    """Add a library group (e.g. Teachers) to an institution."""
    institution = await administered_institution(
        session, actor, institution_code, "add library groups"
    )
    errors: list[FieldError] = []
    name = _check_name(name, ["name"], errors)
    description = _check_description(description, 1000, ["description"], errors, required=False)
    existing = (
        await session.execute(
            select(LibraryGroup).where(
                col(LibraryGroup.institution_id) == institution.id, col(LibraryGroup.name) == name
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        errors.append(
            FieldError(
                ErrorCode.CONFLICT,
                f"{institution.code} already has a library group {name!r}.",
                ["name"],
            )
        )
    if errors:
        raise DomainError(errors)
    group = LibraryGroup(
        institution_id=institution.id,  # type: ignore[arg-type]
        name=name,
        description=description,
    )
    await _insert(
        session,
        group,
        f"{institution.code} already has a library group {name!r}.",
        ["name"],
    )
    await audit.record(
        session=session,
        actor=actor,
        action="create_library_group",
        entity_type="LibraryGroup",
        entity_id=group.id,
        institution_id=institution.id,
        changes={"name": {"before": None, "after": name}},
    )
    await session.commit()
    return group


async def create_block_type(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_code: str,
    code: str,
    description: str,
    network: bool,
    blocks_loans: bool = True,
) -> BlockType:
    """Add a block type to an institution."""
    institution = await administered_institution(
        session, actor, institution_code, "add block types"
    )
    errors: list[FieldError] = []
    code = _check_code(code, ["code"], errors)
    description = _check_description(description, 500, ["description"], errors, required=True) or ""
    if not errors and await block_type_by_code(session, institution.id, code) is not None:  # type: ignore[arg-type]
        errors.append(
            FieldError(
                ErrorCode.CONFLICT,
                f"{institution.code} already has a block type {code}.",
                ["code"],
            )
        )
    if errors:
        raise DomainError(errors)
    block_type = BlockType(
        institution_id=institution.id,  # type: ignore[arg-type]
        code=code,
        description=description,
        network=network,
        blocks_loans=blocks_loans,
    )
    await _insert(
        session,
        block_type,
        f"{institution.code} already has a block type {code}.",
        ["code"],
    )
    await audit.record(
        session=session,
        actor=actor,
        action="create_block_type",
        entity_type="BlockType",
        entity_id=block_type.id,
        institution_id=institution.id,
        changes={
            "code": {"before": None, "after": code},
            "network": {"before": None, "after": network},
        },
    )
    await session.commit()
    return block_type
