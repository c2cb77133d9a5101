"""The checks of a patron edit's fields, one per group: names and other text, flags and
dates, home library and user group, login, email addresses, groups and libraries, cohort
and form class lists, and the rules that tie fields together. Each adds its errors to the
edit and leaves the new values in its state (app.patrons.edits)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlmodel import col

from app.auth.passwords import hash_password
from app.auth.policy import Actor, may_grant
from app.auth.roles import STAFF_ROLES, SystemGroup
from app.errors import ErrorCode, FieldError
from app.network import choice_lists
from app.patrons.edits import TEXT_LIMITS, Edit
from app.patrons.email_syntax import EmailNotValidError, check_syntax
from app.patrons.models import Patron
from app.settings import Settings
from app.sql import pk, saved_id

TEXT_FIELDS = (
    "given_name",
    "middle_name",
    "preferred_name",
    "surname",
    "phone",
    "cohort",
    "form_class",
)
FLAGS = ("enabled", "is_staff", "is_generic")
DATES = ("until", "expiry_date")

# Fields a generic (anonymous station) account may not carry, with their names in messages.
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


def check_names_and_flags(edit: Edit) -> None:
    """Names, phone, cohort and form class as text; the flags; the dates; whether the
    account is the institution's public search account."""
    fields, scalars = edit.fields, edit.scalars
    for name in TEXT_FIELDS:
        if name in fields:
            scalars[name] = edit.text(name)
    for name in FLAGS:
        if name in fields:
            if fields[name] is None:
                edit.fail(ErrorCode.INVALID_INPUT, "Give true or false.", [name])
            else:
                scalars[name] = bool(fields[name])
    for name in DATES:
        if name in fields:
            scalars[name] = fields[name]
    if "is_public_search" in fields:
        scalars["public_search_for"] = edit.institution_id if fields["is_public_search"] else None


async def check_mandatory_and_listed(edit: Edit) -> None:
    """The surname, and cohort and form class from the institution's lists: on HOME
    accounts only (a LINKED copy has none when its source shares none, and carries its
    home institution's values)."""
    linked = edit.account_type == "LINKED"
    if edit.scalars.get("surname") is None and not linked:
        edit.fail(ErrorCode.MANDATORY_FIELD, "The surname is required.", ["surname"])
    if not linked:
        await _check_listed_values(edit)


async def _check_listed_values(edit: Edit) -> None:
    """Cohort and form class are taken from the institution's lists where it has one
    (app.network.choice_lists), in the listed spelling. A value the patron already has is kept
    even when it is not listed (it predates the list; edits of other fields and imports
    that repeat it still work)."""
    for name, kind in choice_lists.KIND_OF_COLUMN.items():
        value = edit.scalars.get(name)
        if name not in edit.fields or value is None or len(value) > TEXT_LIMITS[name]:
            continue
        listed = await edit.lookups.value_choices(edit.session, saved_id(edit.institution), kind)
        if not listed:
            continue  # no list: free text
        spelling = choice_lists.listed_spelling(listed, value)
        if spelling is not None:
            edit.scalars[name] = spelling
        elif value != edit.current.scalars.get(name):
            edit.fail(
                ErrorCode.INVALID_INPUT,
                choice_lists.not_listed(kind, value, edit.institution.code, listed),
                [name],
            )


async def check_home_library_and_group(edit: Edit) -> None:
    """The home library (required) and the user group, by code, of the institution."""
    fields, scalars, institution = edit.fields, edit.scalars, edit.institution
    if "home_library" in fields:
        code = fields["home_library"]
        library = await edit.lookups.library_by_code(edit.session, code) if code else None
        if not code:
            edit.fail(ErrorCode.MANDATORY_FIELD, "The home library is required.", ["home_library"])
        elif library is None or library.institution_id != edit.institution_id:
            edit.fail(
                ErrorCode.INVALID_INPUT,
                f"{code!r} is not a library of {institution.code}.",
                ["home_library"],
            )
        else:
            scalars["home_library_id"] = library.id

    if "user_group" in fields:
        code = fields["user_group"]
        if not code:
            scalars["user_group_id"] = None
        else:
            group = await edit.lookups.user_group_by_code(edit.session, edit.institution_id, code)
            if group is None:
                edit.fail(
                    ErrorCode.INVALID_INPUT,
                    f"{code!r} is not a user group of {institution.code}.",
                    ["user_group"],
                )
            else:
                scalars["user_group_id"] = group.id


async def check_login(edit: Edit, settings: Settings) -> str | None | bool:
    """The username (unique in the institution) and the password; the new password's
    hash, None to remove it, False to keep it."""
    fields, scalars, state = edit.fields, edit.scalars, edit.state
    if "username" in fields:
        username = edit.text("username")
        if username is not None and any(c.isspace() for c in username):
            edit.fail(ErrorCode.INVALID_INPUT, "A username cannot contain spaces.", ["username"])
        elif username is not None:
            if await edit.lookups.username_taken(
                edit.session, edit.institution_id, username.lower(), edit.patron_id
            ):
                edit.fail(
                    ErrorCode.DUPLICATE_USERNAME,
                    f"The username {username!r} is already used in {edit.institution.code}.",
                    ["username"],
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
            edit.fail(
                ErrorCode.PASSWORD_TOO_SHORT,
                f"The password must have at least {settings.password_min_length} characters.",
                ["password"],
            )
        elif len(password) > 1024:
            edit.fail(
                ErrorCode.INVALID_INPUT,
                "The password is too long (1024 characters at most).",
                ["password"],
            )
        else:
            password_hash = await asyncio.to_thread(hash_password, settings, password)
            state.has_password = True
    if state.has_password and scalars.get("username") is None:
        edit.fail(
            ErrorCode.MANDATORY_FIELD,
            "An account with a password needs a username.",
            ["username"],
        )
    return password_hash


def check_emails(edit: Edit) -> None:
    """The primary address and the contact addresses with their labels."""
    fields, current = edit.fields, edit.current
    # Addresses the patron already has were checked when stored: not again (imports
    # repeat every address of every patron).
    stored_emails = {current.scalars.get("primary_email")} | {
        address for address, _ in current.contact_emails
    }
    if "primary_email" in fields:
        edit.scalars["primary_email"] = check_email(
            fields["primary_email"], ["primary_email"], edit.errors, stored_emails
        )
    if "contact_emails" in fields:
        contacts: list[tuple[str, str | None]] = []
        for index, (address, label) in enumerate(fields["contact_emails"] or []):
            path = ["contact_emails", str(index), "address"]
            if address is None or not str(address).strip():
                edit.fail(ErrorCode.MANDATORY_FIELD, "Give the address.", path)
                continue
            checked = check_email(address, path, edit.errors, stored_emails)
            if checked is None:
                continue  # INVALID_EMAIL is reported
            label = (label or "").strip() or None
            if label is not None and len(label) > 100:
                edit.fail(
                    ErrorCode.INVALID_INPUT,
                    "Labels are at most 100 characters.",
                    ["contact_emails", str(index), "label"],
                )
            contacts.append((checked, label))
        edit.state.contact_emails = contacts


def check_email(
    value: object, field: list[str], errors: list[FieldError], stored: set[str | None] | None = None
) -> str | None:
    if value is None or not str(value).strip():
        return None
    if stored and str(value).strip() in stored:
        return str(value).strip()
    try:
        result = check_syntax(str(value).strip())
    except EmailNotValidError as exc:
        errors.append(
            FieldError(ErrorCode.INVALID_EMAIL, f"Not a valid email address: {exc}", field)
        )
        return None
    return str(result.normalized)


async def check_groups_and_libraries(edit: Edit, actor: Actor) -> None:
    """Library groups of the institution; roles the actor may grant (LIBRARY_USERS always
    held); the libraries a staff account logs in at."""
    fields, state, institution = edit.fields, edit.state, edit.institution
    if "library_groups" in fields:
        wanted = list(dict.fromkeys(fields["library_groups"] or []))
        found = set(wanted) & await edit.lookups.library_group_ids(
            edit.session, edit.institution_id
        )
        for index, group_id in enumerate(wanted):
            if group_id not in found:
                edit.fail(
                    ErrorCode.INVALID_INPUT,
                    f"This is not a library group of {institution.code}.",
                    ["library_groups", str(index)],
                )
        state.library_groups = set(wanted) & found

    if "system_groups" in fields:
        wanted_groups = {SystemGroup(g).value for g in (fields["system_groups"] or [])}
        wanted_groups.add(SystemGroup.LIBRARY_USERS.value)
        changed = wanted_groups ^ state.system_groups
        for role in sorted(changed):
            if not may_grant(actor, SystemGroup(role)):
                edit.fail(
                    ErrorCode.FORBIDDEN,
                    f"You may not grant or remove {role}: "
                    + (
                        "only a system administrator may."
                        if role in ("LIBRARIAN", "SYSTEM_ADMIN")
                        else "nobody grants a role they do not hold."
                    ),
                    ["system_groups"],
                )
        state.system_groups = wanted_groups
    state.system_groups.add(SystemGroup.LIBRARY_USERS.value)

    if "libraries" in fields:
        wanted_libraries: set[int] = set()
        for index, code in enumerate(fields["libraries"] or []):
            library = await edit.lookups.library_by_code(edit.session, code)
            if library is None or library.institution_id != edit.institution_id:
                edit.fail(
                    ErrorCode.INVALID_INPUT,
                    f"{code!r} is not a library of {institution.code}.",
                    ["libraries", str(index)],
                )
            else:
                wanted_libraries.add(library.id)  # type: ignore[arg-type]
        state.libraries = wanted_libraries


async def check_combinations(edit: Edit) -> None:
    """Rules that tie fields together, checked on the resulting state: staff members and
    form classes, generic accounts, the public search account."""
    scalars = edit.scalars
    if scalars.get("is_staff") and scalars.get("form_class"):
        edit.fail(
            ErrorCode.INVALID_INPUT, "A staff member cannot have a form class.", ["form_class"]
        )
    if scalars.get("is_generic"):
        _check_generic(edit)
    if scalars.get("public_search_for") is not None:
        if not scalars.get("is_generic"):
            edit.fail(
                ErrorCode.INVALID_INPUT,
                "Only a generic account can be the public search account.",
                ["is_public_search"],
            )
        else:
            other = await edit.session.scalar(
                select(pk(Patron.id)).where(
                    col(Patron.public_search_for) == edit.institution_id,
                    col(Patron.id) != (edit.patron_id or -1),
                )
            )
            if other is not None:
                edit.fail(
                    ErrorCode.CONFLICT,
                    f"{edit.institution.code} already has a public search account.",
                    ["is_public_search"],
                )


def _check_generic(edit: Edit) -> None:
    """A generic account is no staff member and carries no personal data or staff role."""
    scalars, state = edit.scalars, edit.state
    if scalars.get("is_staff"):
        edit.fail(
            ErrorCode.INVALID_INPUT, "A generic account cannot be a staff member.", ["is_staff"]
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
            edit.fail(
                ErrorCode.INVALID_INPUT,
                f"A generic account has no personal data: remove {label}.",
                [name],
            )
    if state.system_groups & {g.value for g in STAFF_ROLES}:
        edit.fail(
            ErrorCode.INVALID_INPUT, "A generic account cannot hold staff roles.", ["system_groups"]
        )
