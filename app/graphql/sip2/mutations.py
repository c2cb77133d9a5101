"""Vendor verification (`authenticatePatron`) and SIP account management (SYSTEM_ADMIN)."""

from __future__ import annotations

import strawberry

from app.errors import ErrorCode
from app.graphql.core import UserError, mutation
from app.graphql.ids import decode_pk, encode_id
from app.graphql.sip2.inputs import (
    AuthenticatePatronInput,
    CreateSipAccountInput,
    DeleteSipAccountInput,
    SipAttributeFieldInput,
    UpdateSipAccountInput,
)
from app.graphql.sip2.types import (
    AuthenticatePatronPayload,
    DeleteSipAccountPayload,
    SipAccount,
    SipAccountPayload,
)
from app.sip2 import deletion, models, service, verification
from app.sip2.service import AoMode, AttributeField, SendAs
from app.sql import saved_id


def _fields(items: list[SipAttributeFieldInput]) -> list[AttributeField]:
    return [AttributeField(i.attribute_type, i.field_code, SendAs(i.send.value)) for i in items]


def _account_payload(row: models.SipAccount) -> SipAccountPayload:
    return SipAccountPayload(account=SipAccount(row=row))


LOCKED_ERRORS = {
    verification.PinCheck.LOCKED: ErrorCode.ACCOUNT_LOCKED,
    verification.PinCheck.THROTTLED: ErrorCode.TOO_MANY_ATTEMPTS,
}


def _verified(result: verification.Verification) -> AuthenticatePatronPayload:
    errors = []
    code = LOCKED_ERRORS.get(result.pin)
    if code is not None:
        errors.append(UserError(code=code, message=result.throttle_message or "", field=None))
    return AuthenticatePatronPayload.of(result, errors)


@strawberry.type
class Sip2Mutations:
    authenticate_patron = mutation(
        "Verify a patron's barcode and password, as SIP2 does (API clients with "
        "scope patron_auth; throttled like logins; audited without the password).",
        input=(AuthenticatePatronInput, "The barcode and password to verify."),
        run=lambda s, ctx, input: verification.authenticate_patron(
            session=s,
            settings=ctx.settings,
            actor=ctx.actor,
            barcode=input.barcode,
            password=input.password,
            address=ctx.address,
        ),
        answer=_verified,
        payload=AuthenticatePatronPayload,
    )

    create_sip_account = mutation(
        "Create a SIP account (SYSTEM_ADMIN of the institution).",
        input=(CreateSipAccountInput, "The account and its field policy."),
        run=lambda s, ctx, input: service.create_sip_account(
            session=s,
            settings=ctx.settings,
            actor=ctx.actor,
            spec=service.SipAccountSpec(
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
            ),
        ),
        answer=_account_payload,
        payload=SipAccountPayload,
    )

    update_sip_account = mutation(
        "Change a SIP account (SYSTEM_ADMIN of its institution).",
        input=(UpdateSipAccountInput, "The account and the settings to change."),
        run=lambda s, ctx, input: service.update_sip_account(
            session=s,
            settings=ctx.settings,
            actor=ctx.actor,
            login_id=input.login_id,
            update=service.SipAccountUpdate(
                secret=input.secret,
                library=input.library,
                encoding=input.encoding.value if input.encoding is not None else None,
                ao_mode=AoMode(input.ao_mode.value) if input.ao_mode is not None else None,
                home_library_screen_message=input.home_library_screen_message,
                attribute_fields=_fields(input.attribute_fields)
                if input.attribute_fields is not None
                else None,
                allow_empty_pin=input.allow_empty_pin,
                enabled=input.enabled,
            ),
        ),
        answer=_account_payload,
        payload=SipAccountPayload,
    )


def _deleted(row: models.SipAccount) -> DeleteSipAccountPayload:
    return DeleteSipAccountPayload(
        deleted_id=strawberry.ID(encode_id("SipAccount", saved_id(row))),
        deleted_login_id=row.login_id,
    )


@strawberry.type
class SipAccountAdminMutations:
    delete_sip_account = mutation(
        "Delete a SIP account (SYSTEM_ADMIN of its institution whose session may "
        "hand out every attribute type it is sent; audited). Its open connections are logged "
        "out at their next message.",
        input=(DeleteSipAccountInput, "The account to delete."),
        run=lambda s, ctx, input: deletion.delete_sip_account(
            session=s,
            actor=ctx.actor,
            by_id=input.id is not None,
            account_id=decode_pk(input.id, "SipAccount") if input.id is not None else None,
            login_id=input.login_id,
        ),
        answer=_deleted,
        payload=DeleteSipAccountPayload,
    )
