"""SIP accounts: created and changed by a SYSTEM_ADMIN of the institution; SIP2 logins."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes.service import TypeInfo, load_types
from app.audit import service as audit
from app.auth import throttling
from app.auth.passwords import hash_password, verify_password
from app.auth.policy import (
    Actor,
    can_administer_institution,
    library_may_hold_attribute,
    may_grant_attribute,
    require_authenticated,
    require_institution_admin,
)
from app.db import utcnow
from app.errors import DomainError, ErrorCode, FieldError
from app.network import service as network
from app.network.models import Institution, Library
from app.settings import Settings
from app.sip2.models import SipAccount
from app.sip2.protocol import CODECS

LOGIN_ID_LIMIT = 100
SECRET_LIMIT = 200

# Field codes netzone itself sends in patron responses, or that requests use: an
# attribute may not be configured into one of them.
RESERVED_FIELDS = frozenset(
    "AA AB AC AD AE AF AG AH AJ AL AM AN AO AP AQ AS AT AU AV AY AZ BD BE BF BH BL BP BQ "
    "BU BV BX BZ CA CB CC CD CN CO CP CQ PA PC".split()
)
_FIELD_CODE = re.compile(r"[A-Z][A-Z0-9]")
_UNSENDABLE = re.compile(r"[|\x00-\x1f\x7f]")


class AoMode(StrEnum):
    """What the AO (institution id) field of patron responses carries."""

    INSTITUTION = "INSTITUTION"  # the account's institution code
    HOME_LIBRARY = "HOME_LIBRARY"  # the patron's home library code


class SendAs(StrEnum):
    CODE = "CODE"
    LABEL = "LABEL"


@dataclass(frozen=True)
class AttributeField:
    """Send the values of an attribute type in a SIP field, as codes or labels."""

    attribute_type: str
    field_code: str
    send: SendAs = SendAs.CODE

    def stored(self) -> dict[str, Any]:
        return {"type": self.attribute_type, "field": self.field_code, "send": self.send.value}

    @classmethod
    def of(cls, row: dict[str, Any]) -> AttributeField:
        return cls(row["type"], row["field"], SendAs(row.get("send", "CODE")))


def attribute_fields(account: SipAccount) -> list[AttributeField]:
    return [AttributeField.of(row) for row in account.attribute_fields]


@dataclass(frozen=True)
class SipAccountSpec:
    """A new SIP account."""

    institution: str
    login_id: str
    secret: str
    library: str | None = None
    encoding: str = "UTF-8"
    ao_mode: AoMode = AoMode.INSTITUTION
    home_library_screen_message: bool = False
    attribute_fields: list[AttributeField] = field(default_factory=list)
    allow_empty_pin: bool = False
    enabled: bool = True


@dataclass(frozen=True)
class SipAccountUpdate:
    """Changes to a SIP account; None leaves a setting as it is ("" clears the library)."""

    secret: str | None = None
    library: str | None = None
    encoding: str | None = None
    ao_mode: AoMode | None = None
    home_library_screen_message: bool | None = None
    attribute_fields: list[AttributeField] | None = None
    allow_empty_pin: bool | None = None
    enabled: bool | None = None


async def account_by_login(session: AsyncSession, login_id: str) -> SipAccount | None:
    return (
        await session.execute(select(SipAccount).where(col(SipAccount.login_id) == login_id))
    ).scalar_one_or_none()


def _check_login_id(login_id: str, errors: list[FieldError]) -> str:
    value = login_id.strip()
    if not value:
        errors.append(FieldError(ErrorCode.MANDATORY_FIELD, "Give the login id.", ["login_id"]))
    elif len(value) > LOGIN_ID_LIMIT or _UNSENDABLE.search(value):
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT,
                f"Login ids are at most {LOGIN_ID_LIMIT} characters, without '|' "
                "or control characters.",
                ["login_id"],
            )
        )
    return value


def _check_secret(settings: Settings, secret: str, errors: list[FieldError]) -> None:
    if len(secret) < settings.password_min_length:
        errors.append(
            FieldError(
                ErrorCode.PASSWORD_TOO_SHORT,
                f"The secret needs at least {settings.password_min_length} characters.",
                ["secret"],
            )
        )
    elif len(secret) > SECRET_LIMIT or _UNSENDABLE.search(secret):
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT,
                f"Secrets are at most {SECRET_LIMIT} characters, without '|' "
                "or control characters (SIP2 could not send them).",
                ["secret"],
            )
        )


def _check_encoding(encoding: str, errors: list[FieldError]) -> str:
    value = encoding.strip().upper()
    if value not in CODECS:
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT,
                f"Encoding is one of {', '.join(CODECS)}.",
                ["encoding"],
            )
        )
    return value


async def _library(
    session: AsyncSession, institution: Institution, code: str | None, errors: list[FieldError]
) -> Library | None:
    if not code or not code.strip():
        return None
    library = await network.library_by_code(session, code)
    if library is None or library.institution_id != institution.id:
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT,
                f"{code!r} is not a library of {institution.code}.",
                ["library"],
            )
        )
        return None
    return library


def _check_fields(
    actor: Actor,
    fields: list[AttributeField],
    types: dict[str, TypeInfo],
    library: Library | None,
    errors: list[FieldError],
) -> list[AttributeField]:
    """Known types, free field codes, and limited types only where the limits allow."""
    out: list[AttributeField] = []
    seen: set[str] = set()
    for index, item in enumerate(fields):
        path = ["attribute_fields", str(index)]
        code = network.normalize_code(item.attribute_type)
        field_code = item.field_code.strip().upper()
        info = types.get(code)
        if info is None:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"There is no attribute type {item.attribute_type!r}.",
                    [*path, "attribute_type"],
                )
            )
            continue
        if not _FIELD_CODE.fullmatch(field_code) or field_code in RESERVED_FIELDS:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"{item.field_code!r} cannot carry an attribute: use two capitals or a "
                    "capital and a digit that SIP2 does not already use (e.g. XK).",
                    [*path, "field_code"],
                )
            )
            continue
        if field_code in seen:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"Field {field_code} is used twice.",
                    [*path, "field_code"],
                )
            )
            continue
        seen.add(field_code)
        if not may_grant_attribute(actor, info.row.institution_id, info.limits):
            # Configuring a field is reading the values: only for sessions that may.
            errors.append(FieldError(ErrorCode.ATTRIBUTE_FORBIDDEN, info.forbidden_message(), path))
            continue
        if not library_may_hold_attribute(library.id if library else None, info.limits):
            errors.append(
                FieldError(
                    ErrorCode.ATTRIBUTE_FORBIDDEN,
                    f"{info.row.label} can only be sent by SIP accounts of "
                    f"{', '.join(info.limit_codes)}.",
                    path,
                )
            )
            continue
        out.append(AttributeField(info.code, field_code, item.send))
    return out


def _snapshot(account: SipAccount, library: Library | None) -> dict[str, Any]:
    return {
        "library": library.code if library is not None else None,
        "encoding": account.encoding,
        "aoMode": account.ao_mode,
        "homeLibraryScreenMessage": account.home_library_screen_message,
        "attributeFields": list(account.attribute_fields),
        "allowEmptyPin": account.allow_empty_pin,
        "enabled": account.enabled,
    }


async def create_sip_account(
    *, session: AsyncSession, settings: Settings, actor: Actor, spec: SipAccountSpec
) -> SipAccount:
    """Create a SIP account of an institution (SYSTEM_ADMIN); the secret is stored hashed."""
    institution = await network.require_institution(session, spec.institution, ["institution"])
    assert institution.id is not None
    require_institution_admin(actor, institution.id, "manage SIP accounts")
    errors: list[FieldError] = []
    login_id = _check_login_id(spec.login_id, errors)
    _check_secret(settings, spec.secret, errors)
    encoding = _check_encoding(spec.encoding, errors)
    library = await _library(session, institution, spec.library, errors)
    types = {t.code: t for t in (await load_types(session, [institution.id])).values()}
    fields = _check_fields(actor, spec.attribute_fields, types, library, errors)
    if login_id and await account_by_login(session, login_id) is not None:
        errors.append(_login_taken(login_id))
    if errors:
        raise DomainError(errors)
    secret_hash = await asyncio.to_thread(hash_password, settings, spec.secret)
    account = SipAccount(
        login_id=login_id,
        secret_hash=secret_hash,
        institution_id=institution.id,
        library_id=library.id if library is not None else None,
        encoding=encoding,
        ao_mode=spec.ao_mode.value,
        home_library_screen_message=spec.home_library_screen_message,
        attribute_fields=[f.stored() for f in fields],
        allow_empty_pin=spec.allow_empty_pin,
        enabled=spec.enabled,
    )
    try:
        async with session.begin_nested():
            session.add(account)
            await session.flush()
    except IntegrityError as exc:
        raise DomainError(_login_taken(login_id)) from exc
    await audit.record(
        session=session,
        actor=actor,
        action="create_sip_account",
        entity_type="SipAccount",
        entity_id=account.id,
        institution_id=institution.id,
        changes=audit.diff(
            {}, {"loginId": login_id, "secret": "(set)", **_snapshot(account, library)}
        ),
    )
    await session.commit()
    return account


def _login_taken(login_id: str) -> FieldError:
    return FieldError(
        ErrorCode.CONFLICT, f"The login id {login_id!r} is already taken.", ["login_id"]
    )


async def update_sip_account(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    login_id: str,
    update: SipAccountUpdate,
) -> SipAccount:
    """Change a SIP account's secret or policy (SYSTEM_ADMIN of its institution)."""
    require_authenticated(actor)
    account = await account_by_login(session, login_id.strip())
    not_found = DomainError.of(
        ErrorCode.NOT_FOUND, f"There is no SIP account {login_id!r}.", ["login_id"]
    )
    if account is None or not can_administer_institution(actor, account.institution_id):
        # An account of another institution does not exist for this session.
        raise not_found
    institution = await session.get(Institution, account.institution_id)
    assert institution is not None
    assert institution.id is not None
    before_library = (
        await session.get(Library, account.library_id) if account.library_id is not None else None
    )
    before = _snapshot(account, before_library)
    errors: list[FieldError] = []
    if update.secret is not None:
        _check_secret(settings, update.secret, errors)
    encoding = _check_encoding(update.encoding, errors) if update.encoding is not None else None
    library = before_library
    if update.library is not None:
        library = await _library(session, institution, update.library, errors)
    types = {t.code: t for t in (await load_types(session, [institution.id])).values()}
    requested = (
        update.attribute_fields
        if update.attribute_fields is not None
        else attribute_fields(account)
    )
    # Kept fields are checked again: a new library may be outside a type's limits.
    fields = _check_fields(actor, requested, types, library, errors)
    if errors:
        raise DomainError(errors)
    if update.secret is not None:
        account.secret_hash = await asyncio.to_thread(hash_password, settings, update.secret)
    if encoding is not None:
        account.encoding = encoding
    account.library_id = library.id if library is not None else None
    if update.ao_mode is not None:
        account.ao_mode = update.ao_mode.value
    if update.home_library_screen_message is not None:
        account.home_library_screen_message = update.home_library_screen_message
    account.attribute_fields = [f.stored() for f in fields]
    if update.allow_empty_pin is not None:
        account.allow_empty_pin = update.allow_empty_pin
    if update.enabled is not None:
        account.enabled = update.enabled
    account.updated_at = utcnow()
    changes = audit.diff(before, _snapshot(account, library))
    if update.secret is not None:
        changes["secret"] = {"before": "(set)", "after": "(changed)"}
    await session.flush()
    await audit.record(
        session=session,
        actor=actor,
        action="update_sip_account",
        entity_type="SipAccount",
        entity_id=account.id,
        institution_id=institution.id,
        changes=changes,
    )
    await session.commit()
    return account


async def list_sip_accounts(
    *, session: AsyncSession, actor: Actor, institution_code: str
) -> list[SipAccount]:
    """The SIP accounts of an institution, by login id; empty for anyone but its admins."""
    require_authenticated(actor)
    institution = await network.institution_by_code(session, institution_code)
    if institution is None or not can_administer_institution(actor, institution.id):  # type: ignore[arg-type]
        return []
    return list(
        (
            await session.execute(
                select(SipAccount)
                .where(col(SipAccount.institution_id) == institution.id)
                .order_by(col(SipAccount.login_id))
            )
        ).scalars()
    )


async def authenticate_account(
    *,
    session: AsyncSession,
    settings: Settings,
    login_id: str,
    secret: str,
    address: str,
) -> SipAccount | None:
    """The enabled account these credentials open, or None; failures count against the address."""
    try:
        attempt = await throttling.begin_attempt(
            session, settings, address=address, channel="sip2_account"
        )
    except throttling.Refused:
        return None
    account = await account_by_login(session, login_id)
    usable = account is not None and account.enabled
    secret_hash = account.secret_hash if usable and account is not None else None
    if await asyncio.to_thread(verify_password, settings, secret_hash, secret):
        await throttling.attempt_succeeded(session, attempt)
        return account
    await throttling.attempt_failed(session, settings, attempt)
    return None
