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
    type: str
    value: str


@strawberry.input(description="An extra address for notices.")
class ContactEmailInput:
    address: str
    label: str | None = None


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
    home_library: str | None = None
    user_group: str | None = None
    account_type: AccountType | None = None
    attribute: AttributeFilter | None = strawberry.field(
        default=None,
        description="Patrons having this attribute (value); "
        "matches nothing for types you may not see.",
    )


U = strawberry.UNSET


@strawberry.input(description="A new HOME patron.")
class CreatePatronInput:
    institution: str
    home_library: str | None = strawberry.field(
        default=U,
        description="Omitted: the library of your session (or of the API client).",
    )
    surname: str
    user_group: str | None = U
    username: str | None = U
    password: str | None = U
    barcode: str | None = U
    admin_system_id: str | None = U
    identifiers: list[IdentifierInput] | None = U
    given_name: str | None = U
    middle_name: str | None = U
    preferred_name: str | None = U
    primary_email: str | None = U
    contact_emails: list[ContactEmailInput] | None = U
    phone: str | None = U
    enabled: bool | None = U
    is_staff: bool | None = U
    is_generic: bool | None = U
    is_public_search: bool | None = strawberry.field(
        default=U, description="Make this generic account the institution's public search account."
    )
    until: date | None = U
    expiry_date: date | None = U
    cohort: str | None = U
    form_class: str | None = U
    library_groups: list[strawberry.ID] | None = U
    system_groups: list[SystemGroup] | None = U  # type: ignore[valid-type]
    libraries: list[str] | None = strawberry.field(
        default=U,
        description="Codes of libraries the account may log in at (staff) or search (generic).",
    )
    attributes: list[AttributeValueInput] | None = U


@strawberry.input(description="Fields left out are left unchanged; null clears an optional field.")
class UpdatePatronInput:
    id: strawberry.ID
    expected_version: int
    home_library: str | None = U
    user_group: str | None = U
    username: str | None = U
    password: str | None = U
    barcode: str | None = U
    admin_system_id: str | None = U
    identifiers: list[IdentifierInput] | None = U
    given_name: str | None = U
    middle_name: str | None = U
    preferred_name: str | None = U
    surname: str | None = U
    primary_email: str | None = U
    contact_emails: list[ContactEmailInput] | None = U
    phone: str | None = U
    enabled: bool | None = U
    is_staff: bool | None = U
    is_generic: bool | None = U
    is_public_search: bool | None = U
    until: date | None = U
    expiry_date: date | None = U
    cohort: str | None = U
    form_class: str | None = U
    library_groups: list[strawberry.ID] | None = U
    system_groups: list[SystemGroup] | None = U  # type: ignore[valid-type]
    libraries: list[str] | None = U
    attributes: list[AttributeValueInput] | None = U


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


@strawberry.input
class DeletePatronInput:
    id: strawberry.ID


@strawberry.input
class AddPatronBlockInput:
    patron_id: strawberry.ID
    block_type: str
    note: str | None = None
    expires_at: datetime | None = None


@strawberry.input
class RemovePatronBlockInput:
    id: strawberry.ID


@strawberry.input(description="A photo for a patron (multipart upload).")
class SetPatronPhotoInput:
    patron_id: strawberry.ID
    file: Upload


@strawberry.input
class RemovePatronPhotoInput:
    patron_id: strawberry.ID
