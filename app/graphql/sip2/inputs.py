"""Inputs of patron verification and of the SIP account mutations."""

from __future__ import annotations

import strawberry

from app.graphql.sip2.types import (
    SipAoMode,
    SipEncoding,
    SipSendAs,
)


@strawberry.input(description="A barcode and password to verify (API clients: patron_auth).")
class AuthenticatePatronInput:
    barcode: str = strawberry.field(description="The patron's library barcode.")
    password: str = strawberry.field(
        description="The patron's password (PIN); never logged or stored."
    )


@strawberry.input(description="Send an attribute type's values in a SIP2 field.")
class SipAttributeFieldInput:
    attribute_type: str = strawberry.field(description="Attribute type code, e.g. KANOPY_LANSING.")
    field_code: str = strawberry.field(
        description="Two characters SIP2 does not use otherwise, e.g. XK."
    )
    send: SipSendAs = strawberry.field(
        default=SipSendAs.CODE, description="Values as codes or labels; default CODE."
    )


@strawberry.input(description="A new SIP account (SYSTEM_ADMIN of the institution).")
class CreateSipAccountInput:
    institution: str = strawberry.field(
        description="Code of the institution whose patrons the account verifies "
        "(SYSTEM_ADMIN there)."
    )
    login_id: str = strawberry.field(
        description="The login id (SIP2 field CN); unique among all SIP accounts."
    )
    secret: str = strawberry.field(description="At least as long as a password; stored hashed.")
    library: str | None = strawberry.field(
        default=None, description="Library the account acts for (null: the whole institution)."
    )
    encoding: SipEncoding = strawberry.field(
        default=SipEncoding.UTF_8, description="Character encoding of the messages; default UTF-8."
    )
    ao_mode: SipAoMode = strawberry.field(
        default=SipAoMode.INSTITUTION,
        description="What AO carries in patron responses; default INSTITUTION.",
    )
    home_library_screen_message: bool = strawberry.field(
        default=False,
        description="Send the patron's home library code as a screen message (AF); default false.",
    )
    attribute_fields: list[SipAttributeFieldInput] = strawberry.field(
        default_factory=list,
        description="Attribute types to send, and in which fields; default none.",
    )
    allow_empty_pin: bool = strawberry.field(
        default=False,
        description="A verification without a PIN counts as a valid password; default false.",
    )
    enabled: bool = strawberry.field(
        default=True, description="The account may log in; default true."
    )


@strawberry.input(description="Changes to a SIP account; omitted settings stay as they are.")
class UpdateSipAccountInput:
    login_id: str = strawberry.field(
        description="Login id of the account to change (it cannot be changed)."
    )
    secret: str | None = strawberry.field(
        default=None, description="A new secret; omitted keeps the current one."
    )
    library: str | None = strawberry.field(
        default=None, description='Library code, or "" for the whole institution.'
    )
    encoding: SipEncoding | None = strawberry.field(
        default=None, description="Character encoding of the messages."
    )
    ao_mode: SipAoMode | None = strawberry.field(
        default=None, description="What AO carries in patron responses."
    )
    home_library_screen_message: bool | None = strawberry.field(
        default=None, description="Send the patron's home library code as a screen message (AF)."
    )
    attribute_fields: list[SipAttributeFieldInput] | None = strawberry.field(
        default=None, description="Replaces the whole list."
    )
    allow_empty_pin: bool | None = strawberry.field(
        default=None, description="A verification without a PIN counts as a valid password."
    )
    enabled: bool | None = strawberry.field(default=None, description="The account may log in.")


@strawberry.input(description="The SIP account to delete: by id, or by login id.")
class DeleteSipAccountInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="Id of the account.")
    login_id: str | None = strawberry.field(default=None, description="Login id of the account.")
