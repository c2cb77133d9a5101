"""Vendor verification: `authenticatePatron`, and SIP account management (SYSTEM_ADMIN)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.errors import ErrorCode
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import UserError, mutate
from app.graphql.sip2.types import (
    AuthenticatePatronPayload,
    SipAccount,
    SipAccountPayload,
    SipAoMode,
    SipEncoding,
    SipSendAs,
)
from app.sip2 import models, service, verification
from app.sip2.service import AoMode, AttributeField, SendAs


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


def _fields(items: list[SipAttributeFieldInput]) -> list[AttributeField]:
    return [AttributeField(i.attribute_type, i.field_code, SendAs(i.send.value)) for i in items]


def _account_payload(row: models.SipAccount) -> SipAccountPayload:
    return SipAccountPayload(account=SipAccount(row=row))


LOCKED_ERRORS = {
    verification.PinCheck.LOCKED: ErrorCode.ACCOUNT_LOCKED,
    verification.PinCheck.THROTTLED: ErrorCode.TOO_MANY_ATTEMPTS,
}


@strawberry.type
class Sip2Queries:
    @typed.field(
        description="The SIP accounts of an institution; empty unless you are its SYSTEM_ADMIN."
    )
    async def sip_accounts(
        self,
        info: Info[Context, None],
        institution: Annotated[str, strawberry.argument(description="Institution code.")],
    ) -> list[SipAccount]:
        ctx = info.context
        async with ctx.db.use() as session:
            rows = await service.list_sip_accounts(
                session=session, actor=ctx.actor, institution_code=institution
            )
        return [SipAccount(row=row) for row in rows]


@strawberry.type
class Sip2Mutations:
    @typed.mutation(
        description="Verify a patron's barcode and password, as SIP2 does (API clients with "
        "scope patron_auth; throttled like logins; audited without the password)."
    )
    async def authenticate_patron(
        self,
        info: Info[Context, None],
        input: Annotated[
            AuthenticatePatronInput,
            strawberry.argument(description="The barcode and password to verify."),
        ],
    ) -> AuthenticatePatronPayload:
        ctx = info.context

        def answer(result: verification.Verification) -> AuthenticatePatronPayload:
            errors = []
            code = LOCKED_ERRORS.get(result.pin)
            if code is not None:
                errors.append(
                    UserError(code=code, message=result.throttle_message or "", field=None)
                )
            return AuthenticatePatronPayload.of(result, errors)

        return await mutate(
            info,
            lambda session: verification.authenticate_patron(
                session=session,
                settings=ctx.settings,
                actor=ctx.actor,
                barcode=input.barcode,
                password=input.password,
                address=ctx.address,
            ),
            answer,
            AuthenticatePatronPayload,
        )

    @typed.mutation(description="Create a SIP account (SYSTEM_ADMIN of the institution).")
    async def create_sip_account(
        self,
        info: Info[Context, None],
        input: Annotated[
            CreateSipAccountInput,
            strawberry.argument(description="The account and its field policy."),
        ],
    ) -> SipAccountPayload:
        ctx = info.context
        spec = service.SipAccountSpec(
            institution=input.institution,
            login_id=input.login_id,
            secret=input.secret,
            library=input.library,
            encoding=input.encoding.value,
            ao_mode=AoMode(input.ao_mode.value),
            home_library_screen_message=input.home_library_screen_message,
            attribute_fields=_fields(input.attribute_fields),
            allow_empty_pin=input.allow_empty_pin,
            enabled=input.enabled,
        )
        return await mutate(
            info,
            lambda session: service.create_sip_account(
                session=session, settings=ctx.settings, actor=ctx.actor, spec=spec
            ),
            _account_payload,
            SipAccountPayload,
        )

    @typed.mutation(description="Change a SIP account (SYSTEM_ADMIN of its institution).")
    async def update_sip_account(
        self,
        info: Info[Context, None],
        input: Annotated[
            UpdateSipAccountInput,
            strawberry.argument(description="The account and the settings to change."),
        ],
    ) -> SipAccountPayload:
        ctx = info.context
        update = service.SipAccountUpdate(
            secret=input.secret,
            library=input.library,
            encoding=input.encoding.value if input.encoding is not None else None,
            ao_mode=AoMode(input.ao_mode.value) if input.ao_mode is not None else None,
            home_library_screen_message=input.home_library_screen_message,
            attribute_fields=(
                _fields(input.attribute_fields) if input.attribute_fields is not None else None
            ),
            allow_empty_pin=input.allow_empty_pin,
            enabled=input.enabled,
        )
        return await mutate(
            info,
            lambda session: service.update_sip_account(
                session=session,
                settings=ctx.settings,
                actor=ctx.actor,
                login_id=input.login_id,
                update=update,
            ),
            _account_payload,
            SipAccountPayload,
        )
