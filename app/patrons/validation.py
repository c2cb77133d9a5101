"""Checking a patron edit against the registry's rules, all errors at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.attributes import service as attributes
from app.auth.passwords import hash_password
from app.auth.policy import (
    AccountGrants,
    Actor,
    libraries_not_held,
    may_grant,
    ungrantable,
)
from app.auth.roles import STAFF_ROLES, SystemGroup
from app.clock import today
from app.errors import DomainError, ErrorCode, FieldError
from app.network import choice_lists
from app.network import service as network
from app.network.models import IdentifierType, Institution
from app.patrons.lookups import lookups_of
from app.patrons.models import Patron, PatronLibraryAccess, PatronSystemGroup
from app.patrons.state import PatronState
from app.settings import Settings
from app.sql import pk, saved_id

IDENTIFIER_LIMIT = 200
# The built-in identifier types are set through their own input fields.
_BUILTIN_FIELDS = {network.BARCODE: "barcode", network.ADMIN_SYSTEM_ID: "adminSystemId"}

TEXT_LIMITS = {
    "given_name": 200,
    "middle_name": 200,
    "preferred_name": 200,
    "surname": 200,
    "username": 200,
    "phone": 50,
    "cohort": 50,
    "form_class": 50,
    "barcode": IDENTIFIER_LIMIT,
    "admin_system_id": IDENTIFIER_LIMIT,
}

# Fields a generic (anonymous station) account may not carry.
GENERIC_FORBIDDEN = (
    ("barcode", "barcode"),
    ("admin_system_id", "adminSystemId"),
    ("identifiers", "identifiers"),
    ("primary_email", "primaryEmail"),
    ("contact_emails", "contactEmails"),
    ("phone", "phone"),
    ("cohort", "cohort"),
    ("form_class", "formClass"),
)


def key_of(value: str | None) -> str | None:
    return value.strip().lower() if value else None


@dataclass
class PatronPlan:
    """The validated result of an edit, before anything is written."""

    state: PatronState
    password_hash: str | None | bool  # False: unchanged
    new_identifiers: dict[str, tuple[IdentifierType, str]]
    attributes: attributes.AttributePlan | None = None


async def validate_changes(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    institution: Institution,
    patron_id: int | None,
    current: PatronState,
    fields: dict[str, Any],
) -> PatronPlan:
    """Check every provided field and work out the patron's new state; all errors at once."""
    errors: list[FieldError] = []
    state = PatronState(
        scalars=dict(current.scalars),
        identifiers=dict(current.identifiers),
        contact_emails=list(current.contact_emails),
        library_groups=set(current.library_groups),
        system_groups=set(current.system_groups),
        libraries=set(current.libraries),
        has_password=current.has_password,
        attributes={k: list(v) for k, v in current.attributes.items()},
    )
    scalars = state.scalars
    assert institution.id is not None
    institution_id = institution.id
    lookups = lookups_of(session)

    def text(name: str) -> str | None:
        value = fields[name]
        if value is None:
            return None
        value = str(value).strip()
        if not value:
            return None
        limit = TEXT_LIMITS.get(name, 200)
        if len(value) > limit:
            errors.append(
                FieldError(ErrorCode.INVALID_INPUT, f"At most {limit} characters.", [name])
            )
        if any(ord(c) < 32 for c in value):
            errors.append(
                FieldError(ErrorCode.INVALID_INPUT, "Control characters are not allowed.", [name])
            )
        return value

    for name in (
        "given_name",
        "middle_name",
        "preferred_name",
        "surname",
        "phone",
        "cohort",
        "form_class",
    ):
        if name in fields:
            scalars[name] = text(name)
    for name in ("enabled", "is_staff", "is_generic"):
        if name in fields:
            if fields[name] is None:
                errors.append(FieldError(ErrorCode.INVALID_INPUT, "Give true or false.", [name]))
            else:
                scalars[name] = bool(fields[name])
    for name in ("until", "expiry_date"):
        if name in fields:
            scalars[name] = fields[name]
    if "is_public_search" in fields:
        scalars["public_search_for"] = institution_id if fields["is_public_search"] else None

    # Mandatory on HOME accounts only: a LINKED copy has none when its source shares none.
    stored = await session.get(Patron, patron_id) if patron_id is not None else None
    linked = stored is not None and stored.account_type == "LINKED"
    if scalars.get("surname") is None and not linked:
        errors.append(
            FieldError(ErrorCode.MANDATORY_FIELD, "The surname is required.", ["surname"])
        )
    if not linked:  # a linked copy carries its home institution's values
        await _check_listed_values(session, institution, current, fields, scalars, errors)

    if "home_library" in fields:
        code = fields["home_library"]
        library = await lookups.library_by_code(session, code) if code else None
        if not code:
            errors.append(
                FieldError(
                    ErrorCode.MANDATORY_FIELD,
                    "The home library is required.",
                    ["home_library"],
                )
            )
        elif library is None or library.institution_id != institution_id:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"{code!r} is not a library of {institution.code}.",
                    ["home_library"],
                )
            )
        else:
            scalars["home_library_id"] = library.id

    if "user_group" in fields:
        code = fields["user_group"]
        if not code:
            scalars["user_group_id"] = None
        else:
            group = await lookups.user_group_by_code(session, institution_id, code)
            if group is None:
                errors.append(
                    FieldError(
                        ErrorCode.INVALID_INPUT,
                        f"{code!r} is not a user group of {institution.code}.",
                        ["user_group"],
                    )
                )
            else:
                scalars["user_group_id"] = group.id

    if "username" in fields:
        username = text("username")
        if username is not None and any(c.isspace() for c in username):
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    "A username cannot contain spaces.",
                    ["username"],
                )
            )
        elif username is not None:
            if await lookups.username_taken(session, institution_id, username.lower(), patron_id):
                errors.append(
                    FieldError(
                        ErrorCode.DUPLICATE_USERNAME,
                        f"The username {username!r} is already used in {institution.code}.",
                        ["username"],
                    )
                )
        scalars["username"] = username

    password_hash: str | None | bool = False
    if "password" in fields:
        password = fields["password"]
        # Only null removes a password: an empty string is a (too short) password, so a
        # blank form field can never silently turn off a patron's manual login.
        if password is None:
            password_hash = None
            state.has_password = False
        elif len(password) < settings.password_min_length:
            errors.append(
                FieldError(
                    ErrorCode.PASSWORD_TOO_SHORT,
                    f"The password must have at least {settings.password_min_length} characters.",
                    ["password"],
                )
            )
        elif len(password) > 1024:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    "The password is too long (1024 characters at most).",
                    ["password"],
                )
            )
        else:
            password_hash = await asyncio.to_thread(hash_password, settings, password)
            state.has_password = True
    if state.has_password and scalars.get("username") is None:
        errors.append(
            FieldError(
                ErrorCode.MANDATORY_FIELD,
                "An account with a password needs a username.",
                ["username"],
            )
        )

    # Addresses the patron already has were checked when stored: not again (imports
    # repeat every address of every patron).
    stored_emails = {current.scalars.get("primary_email")} | {
        address for address, _ in current.contact_emails
    }
    if "primary_email" in fields:
        scalars["primary_email"] = _check_email(
            fields["primary_email"], ["primary_email"], errors, stored_emails
        )
    if "contact_emails" in fields:
        contacts: list[tuple[str, str | None]] = []
        for index, (address, label) in enumerate(fields["contact_emails"] or []):
            path = ["contact_emails", str(index), "address"]
            if address is None or not str(address).strip():
                errors.append(FieldError(ErrorCode.MANDATORY_FIELD, "Give the address.", path))
                continue
            checked = _check_email(address, path, errors, stored_emails)
            if checked is None:
                continue  # INVALID_EMAIL is reported
            label = (label or "").strip() or None
            if label is not None and len(label) > 100:
                errors.append(
                    FieldError(
                        ErrorCode.INVALID_INPUT,
                        "Labels are at most 100 characters.",
                        ["contact_emails", str(index), "label"],
                    )
                )
            contacts.append((checked, label))
        state.contact_emails = contacts

    new_identifiers = await _plan_identifiers(
        session=session,
        institution=institution,
        patron_id=patron_id,
        fields=fields,
        state=state,
        errors=errors,
        text=text,
    )

    if "library_groups" in fields:
        wanted = list(dict.fromkeys(fields["library_groups"] or []))
        found = set(wanted) & await lookups.library_group_ids(session, institution_id)
        for index, group_id in enumerate(wanted):
            if group_id not in found:
                errors.append(
                    FieldError(
                        ErrorCode.INVALID_INPUT,
                        f"This is not a library group of {institution.code}.",
                        ["library_groups", str(index)],
                    )
                )
        state.library_groups = set(wanted) & found

    if "system_groups" in fields:
        wanted_groups = {SystemGroup(g).value for g in (fields["system_groups"] or [])}
        wanted_groups.add(SystemGroup.LIBRARY_USERS.value)
        changed = wanted_groups ^ state.system_groups
        for role in sorted(changed):
            if not may_grant(actor, SystemGroup(role)):
                errors.append(
                    FieldError(
                        ErrorCode.FORBIDDEN,
                        f"You may not grant or remove {role}: "
                        + (
                            "only a system administrator may."
                            if role in ("LIBRARIAN", "SYSTEM_ADMIN")
                            else "nobody grants a role they do not hold."
                        ),
                        ["system_groups"],
                    )
                )
        state.system_groups = wanted_groups
    state.system_groups.add(SystemGroup.LIBRARY_USERS.value)

    if "libraries" in fields:
        wanted_libraries: set[int] = set()
        for index, code in enumerate(fields["libraries"] or []):
            library = await lookups.library_by_code(session, code)
            if library is None or library.institution_id != institution_id:
                errors.append(
                    FieldError(
                        ErrorCode.INVALID_INPUT,
                        f"{code!r} is not a library of {institution.code}.",
                        ["libraries", str(index)],
                    )
                )
            else:
                wanted_libraries.add(library.id)  # type: ignore[arg-type]
        state.libraries = wanted_libraries

    # Rules that tie fields together, checked on the resulting state.
    if scalars.get("is_staff") and scalars.get("form_class"):
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT,
                "A staff member cannot have a form class.",
                ["form_class"],
            )
        )
    if scalars.get("is_generic"):
        if scalars.get("is_staff"):
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    "A generic account cannot be a staff member.",
                    ["is_staff"],
                )
            )
        personal = {
            "barcode": "BARCODE" in state.identifiers,
            "admin_system_id": "ADMIN_SYSTEM_ID" in state.identifiers,
            "identifiers": any(k not in ("BARCODE", "ADMIN_SYSTEM_ID") for k in state.identifiers),
            "primary_email": scalars.get("primary_email") is not None,
            "contact_emails": bool(state.contact_emails),
            "phone": scalars.get("phone") is not None,
            "cohort": scalars.get("cohort") is not None,
            "form_class": scalars.get("form_class") is not None,
        }
        for name, label in GENERIC_FORBIDDEN:
            if personal[name]:
                errors.append(
                    FieldError(
                        ErrorCode.INVALID_INPUT,
                        f"A generic account has no personal data: remove {label}.",
                        [name],
                    )
                )
        if state.system_groups & {g.value for g in STAFF_ROLES}:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    "A generic account cannot hold staff roles.",
                    ["system_groups"],
                )
            )
    if scalars.get("public_search_for") is not None:
        if not scalars.get("is_generic"):
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    "Only a generic account can be the public search account.",
                    ["is_public_search"],
                )
            )
        else:
            other = await session.scalar(
                select(pk(Patron.id)).where(
                    col(Patron.public_search_for) == institution_id,
                    col(Patron.id) != (patron_id or -1),
                )
            )
            if other is not None:
                errors.append(
                    FieldError(
                        ErrorCode.CONFLICT,
                        f"{institution.code} already has a public search account.",
                        ["is_public_search"],
                    )
                )
    if patron_id is not None or state.system_groups != {SystemGroup.LIBRARY_USERS.value}:
        await _check_delegation(
            session=session,
            actor=actor,
            institution_id=institution_id,
            patron_id=patron_id,
            before=current,
            after=state,
            fields=fields,
            errors=errors,
        )
    attribute_plan = None
    new_home = scalars.get("home_library_id")
    if new_home is not None:
        # Values, rules and mandatory types of the institution's attribute types.
        attribute_plan = await attributes.plan_changes(
            session=session,
            actor=actor,
            institution_id=institution_id,
            patron_id=patron_id,
            current=current.attributes,
            requested=fields.get("attributes"),
            old_home_library_id=current.scalars.get("home_library_id"),
            new_home_library_id=new_home,
            errors=errors,
        )
        for type_id, values in attribute_plan.changes.items():
            if values:
                state.attributes[type_id] = values
            else:
                state.attributes.pop(type_id, None)
    if errors:
        raise DomainError(errors)
    return PatronPlan(
        state=state,
        password_hash=password_hash,
        new_identifiers=new_identifiers,
        attributes=attribute_plan,
    )


def _check_email(
    value: Any, field: list[str], errors: list[FieldError], stored: set[str | None] | None = None
) -> str | None:
    if value is None or not str(value).strip():
        return None
    if stored and str(value).strip() in stored:
        return str(value).strip()
    try:
        result = validate_email(str(value).strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        errors.append(
            FieldError(ErrorCode.INVALID_EMAIL, f"Not a valid email address: {exc}", field)
        )
        return None
    return str(result.normalized)


async def _plan_identifiers(
    *,
    session: AsyncSession,
    institution: Institution,
    patron_id: int | None,
    fields: dict[str, Any],
    state: PatronState,
    errors: list[FieldError],
    text: Any,
) -> dict[str, tuple[IdentifierType, str]]:
    """Work out the identifiers the patron will have and check their uniqueness."""
    wanted: dict[str, tuple[str, list[str]]] = {}  # type code -> (value, error field)
    if "identifiers" in fields:
        for code in [
            c for c in state.identifiers if c not in (network.BARCODE, network.ADMIN_SYSTEM_ID)
        ]:
            del state.identifiers[code]
        for index, (type_code, value) in enumerate(fields["identifiers"] or []):
            type_code = network.normalize_code(type_code)
            path = ["identifiers", str(index)]
            if type_code in (network.BARCODE, network.ADMIN_SYSTEM_ID):
                errors.append(
                    FieldError(
                        ErrorCode.INVALID_INPUT,
                        f"Set {type_code} with the {_BUILTIN_FIELDS[type_code]} field.",
                        [*path, "type"],
                    )
                )
                continue
            if type_code in wanted:
                errors.append(
                    FieldError(
                        ErrorCode.INVALID_INPUT, f"{type_code} is given twice.", [*path, "type"]
                    )
                )
                continue
            value = (value or "").strip()
            if not value:
                errors.append(
                    FieldError(ErrorCode.MANDATORY_FIELD, "Give a value.", [*path, "value"])
                )
                continue
            if len(value) > IDENTIFIER_LIMIT:
                errors.append(
                    FieldError(
                        ErrorCode.INVALID_INPUT,
                        f"At most {IDENTIFIER_LIMIT} characters.",
                        [*path, "value"],
                    )
                )
                continue
            if any(ord(c) < 32 for c in value):
                errors.append(
                    FieldError(
                        ErrorCode.INVALID_INPUT,
                        "Control characters are not allowed.",
                        [*path, "value"],
                    )
                )
                continue
            wanted[type_code] = (value, [*path, "value"])
    for name, type_code in (
        ("barcode", network.BARCODE),
        ("admin_system_id", network.ADMIN_SYSTEM_ID),
    ):
        if name in fields:
            reported = len(errors)
            value = text(name)  # reports length and control characters itself
            if value is None:
                state.identifiers.pop(type_code, None)
            elif len(errors) == reported:
                wanted[type_code] = (value, [name])
    result: dict[str, tuple[IdentifierType, str]] = {}
    lookups = lookups_of(session)
    for type_code, (value, path) in wanted.items():
        identifier_type = await lookups.identifier_type_by_code(session, type_code)
        if identifier_type is None:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"There is no identifier type {type_code}.",
                    [*path[:-1], "type"] if path[-1] == "value" else path,
                )
            )
            continue
        key = value.lower()
        # Unique per institution and type. A network-unique type (a consortial id)
        # names one person: accounts of other institutions with the same value are
        # that person's accounts there, so only one account per institution holds it.
        where = institution.code
        assert identifier_type.id is not None
        assert institution.id is not None
        if await lookups.identifier_taken(
            session, institution.id, identifier_type.id, key, patron_id
        ):
            errors.append(
                FieldError(
                    ErrorCode.DUPLICATE_IDENTIFIER,
                    f"{identifier_type.name} {value!r} "
                    f"already belongs to another patron in {where}.",
                    path,
                )
            )
            continue
        state.identifiers[type_code] = value
        result[type_code] = (identifier_type, value)
    return result


async def _check_listed_values(
    session: AsyncSession,
    institution: Institution,
    current: PatronState,
    fields: dict[str, Any],
    scalars: dict[str, Any],
    errors: list[FieldError],
) -> None:
    """Cohort and form class are taken from the institution's lists where it has one
    (app.network.choice_lists), in the listed spelling. A value the patron already has is kept
    even when it is not listed (it predates the list; edits of other fields and imports
    that repeat it still work)."""
    for name, kind in choice_lists.KIND_OF_COLUMN.items():
        value = scalars.get(name)
        if name not in fields or value is None or len(value) > TEXT_LIMITS[name]:
            continue
        listed = await lookups_of(session).value_choices(session, saved_id(institution), kind)
        if not listed:
            continue  # no list: free text
        spelling = choice_lists.listed_spelling(listed, value)
        if spelling is not None:
            scalars[name] = spelling
        elif value != current.scalars.get(name):
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    choice_lists.not_listed(kind, value, institution.code, listed),
                    [name],
                )
            )


def account_grants(
    institution_id: int, state: PatronState, library_codes: dict[int, str]
) -> AccountGrants:
    """What an account in this state holds (app.auth.policy decides who may grant it)."""
    home = state.scalars.get("home_library_id")
    libraries = state.libraries or ({home} if home is not None else set())
    return AccountGrants(
        institution_id=institution_id,
        roles=frozenset(state.system_groups),
        login_libraries={i: library_codes.get(i, str(i)) for i in libraries},
        enabled=bool(state.scalars.get("enabled", True)),
        until=state.scalars.get("until"),
    )


LAST_ADMINISTRATOR = (
    "This is the institution's last enabled system administrator: make another account "
    "SYSTEM_ADMIN first."
)

# Fields that are themselves grants: changing them on one's own account needs the same
# authority as on anyone else's (a librarian does not extend its own end date).
_GRANT_SCALARS = ("enabled", "until")


async def _check_delegation(
    *,
    session: AsyncSession,
    actor: Actor,
    institution_id: int,
    patron_id: int | None,
    before: PatronState,
    after: PatronState,
    fields: dict[str, Any],
    errors: list[FieldError],
) -> None:
    """A session changes an account only if it could have granted everything the account
    holds, and grants only login libraries it holds itself (spec: Delegation)."""
    old = account_grants(institution_id, before, {}) if patron_id is not None else None
    new = account_grants(institution_id, after, {})
    if (old is not None and ungrantable(actor, old)) or libraries_not_held(actor, old, new):
        # Library codes for the messages (read only when something is refused).
        codes: dict[int, str] = (await lookups_of(session).name_maps(session, institution_id))[
            "library"
        ]
        old = account_grants(institution_id, before, codes) if old is not None else None
        new = account_grants(institution_id, after, codes)
    if old is not None:
        beyond = ungrantable(actor, old)
        own = actor.patron_id == patron_id
        grant_fields = [
            name
            for name in _GRANT_SCALARS
            if name in fields and after.scalars.get(name) != before.scalars.get(name)
        ]
        if beyond and not own:
            errors.append(
                FieldError(
                    ErrorCode.FORBIDDEN,
                    f"Only {beyond.who()} can change this account.",
                    ["id"],
                )
            )
            return
        for name in grant_fields if beyond else []:
            errors.append(
                FieldError(
                    ErrorCode.FORBIDDEN,
                    f"Only {beyond.who()} can change {name} of this account, your own included.",
                    [name],
                )
            )
    not_held = libraries_not_held(actor, old, new)
    if not_held:
        from_home = not after.libraries
        errors.append(
            FieldError(
                ErrorCode.FORBIDDEN,
                f"You may not let a staff account log in at {', '.join(not_held)}: a session "
                "grants only libraries it holds (the library it is logged in at; every "
                "library for the institution's system administrators).",
                ["home_library" if from_home else "libraries"],
            )
        )
    if old is not None and old.is_administrator and not new.is_administrator:
        if not await _other_administrator(session, institution_id, patron_id):
            errors.append(
                FieldError(
                    ErrorCode.CONFLICT,
                    LAST_ADMINISTRATOR,
                    ["id"],
                )
            )


async def refusal_to_change(
    session: AsyncSession,
    actor: Actor,
    institution_id: int,
    patron_id: int,
    before: PatronState,
) -> DomainError | None:
    """FORBIDDEN when the actor could not have granted everything this (other) account
    holds, else None: the first check of any change, before a value of the change is
    compared with the stored one (an import row's password cell included)."""
    if actor.patron_id == patron_id:
        return None
    if not ungrantable(actor, account_grants(institution_id, before, {})):
        return None
    codes = (await lookups_of(session).name_maps(session, institution_id))["library"]
    beyond = ungrantable(actor, account_grants(institution_id, before, codes))
    return DomainError.of(
        ErrorCode.FORBIDDEN, f"Only {beyond.who()} can change this account.", ["id"]
    )


async def _other_administrator(
    session: AsyncSession, institution_id: int, patron_id: int | None
) -> bool:
    """Does the institution have an enabled SYSTEM_ADMIN other than this account?"""
    return await other_administrators(session, institution_id, [patron_id or -1]) > 0


async def other_administrators(
    session: AsyncSession, institution_id: int, excluding: list[int]
) -> int:
    """Enabled HOME accounts of the institution, not past their end date, holding
    SYSTEM_ADMIN, other than `excluding` (the last one is never removed: spec Delegation)."""
    found = await session.scalar(
        select(func.count(func.distinct(col(Patron.id))))
        .join(PatronSystemGroup, col(PatronSystemGroup.patron_id) == col(Patron.id))
        .where(
            col(Patron.institution_id) == institution_id,
            col(Patron.account_type) == "HOME",
            col(Patron.enabled).is_(True),
            or_(col(Patron.until).is_(None), col(Patron.until) >= today()),
            col(PatronSystemGroup.system_group) == SystemGroup.SYSTEM_ADMIN.value,
            col(Patron.id).not_in(excluding),
        )
    )
    return int(found or 0)


async def stored_grants(session: AsyncSession, patron_ids: list[int]) -> dict[int, AccountGrants]:
    """What these stored accounts hold (roles, effective login libraries with codes)."""
    if not patron_ids:
        return {}
    rows = (
        await session.execute(
            select(
                pk(Patron.id),
                col(Patron.institution_id),
                col(Patron.home_library_id),
                col(Patron.enabled),
                col(Patron.until),
            ).where(col(Patron.id).in_(patron_ids))
        )
    ).all()
    roles: dict[int, set[str]] = {i: set() for i in patron_ids}
    for patron_id, group in (
        await session.execute(
            select(col(PatronSystemGroup.patron_id), col(PatronSystemGroup.system_group)).where(
                col(PatronSystemGroup.patron_id).in_(patron_ids)
            )
        )
    ).all():
        roles[patron_id].add(group)
    libraries: dict[int, set[int]] = {i: set() for i in patron_ids}
    for patron_id, library_id in (
        await session.execute(
            select(col(PatronLibraryAccess.patron_id), col(PatronLibraryAccess.library_id)).where(
                col(PatronLibraryAccess.patron_id).in_(patron_ids)
            )
        )
    ).all():
        libraries[patron_id].add(library_id)
    out: dict[int, AccountGrants] = {}
    names: dict[int, dict[int, str]] = {}
    for patron_id, institution_id, home, enabled, until in rows:
        if institution_id not in names:
            maps = await lookups_of(session).name_maps(session, institution_id)
            names[institution_id] = maps["library"]
        codes = names[institution_id]
        state = PatronState(
            scalars={"home_library_id": home, "enabled": enabled, "until": until},
            system_groups=roles[patron_id],
            libraries=libraries[patron_id],
        )
        out[patron_id] = account_grants(institution_id, state, codes)
    return out
