"""Input types of the patron mutations and their translation to service fields."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.file_uploads import Upload

from app.graphql.core import AccountType, SystemGroup
from app.graphql.ids import decode_pk


@strawberry.input(description='A typed identifier, e.g. {type: "UNIV_ID", value: "E123"}.')
class IdentifierInput:
    type: str = strawberry.field(
        description="Identifier type code, e.g. UNIV_ID (not BARCODE or ADMIN_SYSTEM_ID: "
        "they have their own fields)."
    )
    value: str = strawberry.field(
        description="The identifier's value; unique per institution and type (per network "
        "for network-unique types)."
    )


@strawberry.input(description="An extra address for notices.")
class ContactEmailInput:
    address: str = strawberry.field(description="The email address; syntax-checked.")
    label: str | None = strawberry.field(
        default=None, description="Whose address it is, e.g. 'Parent'; optional."
    )


@strawberry.input(description="An attribute value to set.")
class AttributeValueInput:
    type: str = strawberry.field(description="Attribute type code.")
    values: list[str] = strawberry.field(
        description="Authorised value codes or free text; an empty list clears the attribute."
    )


@strawberry.input(description="An attribute a patron must have.")
class AttributeFilter:
    type: str = strawberry.field(description="Attribute type code.")
    value: str | None = strawberry.field(
        default=None, description="Value code; omitted: any value."
    )


@strawberry.input(description="Filters of the patron list; all given ones must hold.")
class PatronFilter:
    search: str | None = strawberry.field(
        default=None, description="Matches any identifier value, username, or name."
    )
    home_library: str | None = strawberry.field(
        default=None, description="Code of the home library."
    )
    user_group: str | None = strawberry.field(default=None, description="User group code.")
    account_type: AccountType | None = strawberry.field(
        default=None, description="HOME accounts only, or LINKED copies only."
    )
    attribute: AttributeFilter | None = strawberry.field(
        default=None,
        description="Patrons having this attribute (value); "
        "matches nothing for types you may not see.",
    )


U = strawberry.UNSET


# What the patron fields of CreatePatronInput and UpdatePatronInput mean.
PATRON_FIELDS = {
    "user_group": "User group code, e.g. ADULT; null: no group.",
    "username": (
        "Login name, unique in the institution (case-insensitive); required with a password."
    ),
    "password": "At least 8 characters; never returned.",
    "barcode": "Library barcode, unique in the institution.",
    "admin_system_id": (
        "Id in the administration system, unique in the institution; the "
        "default match key of imports."
    ),
    "identifiers": (
        "Other typed identifiers (BARCODE and ADMIN_SYSTEM_ID have their own "
        "fields); replaces the patron's other identifiers."
    ),
    "given_name": "Given (first) name.",
    "middle_name": "Middle name(s).",
    "preferred_name": "The name the patron goes by, if not the given name.",
    "primary_email": "The patron's own email address; syntax-checked.",
    "contact_emails": "Extra addresses for notices (parents, guardians); replaces the list.",
    "phone": "Phone number, as written.",
    "enabled": "May log in.",
    "is_staff": "A teaching or library staff member (grants no role by itself).",
    "is_generic": (
        "An anonymous account (search station, public widget): may not borrow or be staff."
    ),
    "until": "Access ends on this date: no login after it, and no loan is due after it.",
    "expiry_date": "Last day the account is valid; after it, it cannot borrow.",
    "cohort": "E.g. the graduation year.",
    "form_class": "The student's form class; staff members cannot have one.",
    "library_groups": (
        "Ids of the institution's library groups; replaces the list. A "
        "non-student needs one to borrow."
    ),
    "system_groups": "Roles; LIBRARY_USERS is added if missing. You may grant only roles you hold.",
    "attributes": (
        "Attribute values to set, by type; types not listed keep their "
        "values, and values your session may not see are never touched."
    ),
}


@strawberry.input(description="A new HOME patron.")
class CreatePatronInput:
    institution: str = strawberry.field(
        description="Code of the institution the patron belongs to: your session's institution."
    )
    home_library: str | None = strawberry.field(
        default=U,
        description="Omitted: the library of your session (or of the API client).",
    )
    surname: str = strawberry.field(description="Family name; mandatory.")
    user_group: str | None = strawberry.field(default=U, description=PATRON_FIELDS["user_group"])
    username: str | None = strawberry.field(default=U, description=PATRON_FIELDS["username"])
    password: str | None = strawberry.field(
        default=U, description=PATRON_FIELDS["password"] + " Omitted: no password (SSO only)."
    )
    barcode: str | None = strawberry.field(default=U, description=PATRON_FIELDS["barcode"])
    admin_system_id: str | None = strawberry.field(
        default=U, description=PATRON_FIELDS["admin_system_id"]
    )
    identifiers: list[IdentifierInput] | None = strawberry.field(
        default=U, description=PATRON_FIELDS["identifiers"]
    )
    given_name: str | None = strawberry.field(default=U, description=PATRON_FIELDS["given_name"])
    middle_name: str | None = strawberry.field(default=U, description=PATRON_FIELDS["middle_name"])
    preferred_name: str | None = strawberry.field(
        default=U, description=PATRON_FIELDS["preferred_name"]
    )
    primary_email: str | None = strawberry.field(
        default=U, description=PATRON_FIELDS["primary_email"]
    )
    contact_emails: list[ContactEmailInput] | None = strawberry.field(
        default=U, description=PATRON_FIELDS["contact_emails"]
    )
    phone: str | None = strawberry.field(default=U, description=PATRON_FIELDS["phone"])
    enabled: bool | None = strawberry.field(
        default=U, description=PATRON_FIELDS["enabled"] + " Omitted: true."
    )
    is_staff: bool | None = strawberry.field(
        default=U, description=PATRON_FIELDS["is_staff"] + " Omitted: false."
    )
    is_generic: bool | None = strawberry.field(
        default=U, description=PATRON_FIELDS["is_generic"] + " Omitted: false."
    )
    is_public_search: bool | None = strawberry.field(
        default=U, description="Make this generic account the institution's public search account."
    )
    until: date | None = strawberry.field(default=U, description=PATRON_FIELDS["until"])
    expiry_date: date | None = strawberry.field(default=U, description=PATRON_FIELDS["expiry_date"])
    cohort: str | None = strawberry.field(default=U, description=PATRON_FIELDS["cohort"])
    form_class: str | None = strawberry.field(default=U, description=PATRON_FIELDS["form_class"])
    library_groups: list[strawberry.ID] | None = strawberry.field(
        default=U, description=PATRON_FIELDS["library_groups"]
    )
    system_groups: list[SystemGroup] | None = strawberry.field(  # type: ignore[valid-type]
        default=U, description=PATRON_FIELDS["system_groups"]
    )
    libraries: list[str] | None = strawberry.field(
        default=U,
        description="Codes of libraries the account may log in at (staff) or search (generic).",
    )
    attributes: list[AttributeValueInput] | None = strawberry.field(
        default=U, description=PATRON_FIELDS["attributes"]
    )


@strawberry.input(description="Fields left out are left unchanged; null clears an optional field.")
class UpdatePatronInput:
    id: strawberry.ID = strawberry.field(description="Id of the patron to change.")
    expected_version: int = strawberry.field(
        description="The `version` you read; if the patron changed since, nothing is "
        "written and the error is STALE_VERSION."
    )
    home_library: str | None = strawberry.field(
        default=U,
        description="Code of a library of the institution; library-limited attributes "
        "follow the new library's rules.",
    )
    user_group: str | None = strawberry.field(default=U, description=PATRON_FIELDS["user_group"])
    username: str | None = strawberry.field(default=U, description=PATRON_FIELDS["username"])
    password: str | None = strawberry.field(default=U, description=PATRON_FIELDS["password"])
    barcode: str | None = strawberry.field(default=U, description=PATRON_FIELDS["barcode"])
    admin_system_id: str | None = strawberry.field(
        default=U, description=PATRON_FIELDS["admin_system_id"]
    )
    identifiers: list[IdentifierInput] | None = strawberry.field(
        default=U, description=PATRON_FIELDS["identifiers"]
    )
    given_name: str | None = strawberry.field(default=U, description=PATRON_FIELDS["given_name"])
    middle_name: str | None = strawberry.field(default=U, description=PATRON_FIELDS["middle_name"])
    preferred_name: str | None = strawberry.field(
        default=U, description=PATRON_FIELDS["preferred_name"]
    )
    surname: str | None = strawberry.field(
        default=U, description="Family name; cannot be cleared on a HOME account."
    )
    primary_email: str | None = strawberry.field(
        default=U, description=PATRON_FIELDS["primary_email"]
    )
    contact_emails: list[ContactEmailInput] | None = strawberry.field(
        default=U, description=PATRON_FIELDS["contact_emails"]
    )
    phone: str | None = strawberry.field(default=U, description=PATRON_FIELDS["phone"])
    enabled: bool | None = strawberry.field(default=U, description=PATRON_FIELDS["enabled"])
    is_staff: bool | None = strawberry.field(default=U, description=PATRON_FIELDS["is_staff"])
    is_generic: bool | None = strawberry.field(default=U, description=PATRON_FIELDS["is_generic"])
    is_public_search: bool | None = strawberry.field(
        default=U, description="Make this generic account the institution's public search account."
    )
    until: date | None = strawberry.field(default=U, description=PATRON_FIELDS["until"])
    expiry_date: date | None = strawberry.field(default=U, description=PATRON_FIELDS["expiry_date"])
    cohort: str | None = strawberry.field(default=U, description=PATRON_FIELDS["cohort"])
    form_class: str | None = strawberry.field(default=U, description=PATRON_FIELDS["form_class"])
    library_groups: list[strawberry.ID] | None = strawberry.field(
        default=U, description=PATRON_FIELDS["library_groups"]
    )
    system_groups: list[SystemGroup] | None = strawberry.field(  # type: ignore[valid-type]
        default=U, description=PATRON_FIELDS["system_groups"]
    )
    libraries: list[str] | None = strawberry.field(
        default=U,
        description="Codes of libraries the account may log in at (staff) or search "
        "(generic); replaces the list.",
    )
    attributes: list[AttributeValueInput] | None = strawberry.field(
        default=U, description=PATRON_FIELDS["attributes"]
    )


SKIP = {"id", "expected_version", "institution"}


def patron_fields(data: CreatePatronInput | UpdatePatronInput) -> dict[str, Any]:
    """The provided fields, in the service's terms (omitted fields are absent, null is None)."""
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(data):
        if f.name in SKIP:
            continue
        value = getattr(data, f.name)
        if value is strawberry.UNSET:
            continue
        if f.name == "identifiers" and value is not None:
            value = [(i.type, i.value) for i in value]
        elif f.name == "contact_emails" and value is not None:
            value = [(c.address, c.label) for c in value]
        elif f.name == "library_groups" and value is not None:
            value = [decode_pk(v, "LibraryGroup") or -1 for v in value]
        elif f.name == "attributes" and value is not None:
            value = [(a.type, list(a.values)) for a in value]
        elif f.name == "system_groups" and value is not None:
            value = [v.value for v in value]
        fields[f.name] = value
    return fields


@strawberry.input(description="A patron to remove permanently.")
class DeletePatronInput:
    id: strawberry.ID = strawberry.field(
        description="Id of the patron; refused while it has loans outstanding."
    )


@strawberry.input(description="A block to put on a patron.")
class AddPatronBlockInput:
    patron_id: strawberry.ID = strawberry.field(description="Id of the patron.")
    block_type: str = strawberry.field(
        description="Code of a block type of the patron's institution."
    )
    note: str | None = strawberry.field(
        default=None, description="Why the block is put on; optional."
    )
    expires_at: datetime | None = strawberry.field(
        default=None, description="When the block lifts by itself; omitted: never."
    )


@strawberry.input(description="A block to lift.")
class RemovePatronBlockInput:
    id: strawberry.ID = strawberry.field(description="Id of the block (PatronBlock.id).")


@strawberry.input(description="A photo for a patron (multipart upload).")
class SetPatronPhotoInput:
    patron_id: strawberry.ID = strawberry.field(description="Id of the patron.")
    file: Upload = strawberry.field(
        description="The image (JPEG, PNG or WebP), as a multipart upload; replaces any "
        "earlier photo."
    )


@strawberry.input(description="A patron whose photo to delete.")
class RemovePatronPhotoInput:
    patron_id: strawberry.ID = strawberry.field(description="Id of the patron.")
