"""Deleting SIP accounts (whoever may change the account)."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import PAYLOAD_ERRORS, UserError, mutate
from app.graphql.ids import decode_pk, encode_id
from app.sip2 import deletion
from app.sip2.models import SipAccount
from app.sql import saved_id


@strawberry.input(description="The SIP account to delete: by id, or by login id.")
class DeleteSipAccountInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="Id of the account.")
    login_id: str | None = strawberry.field(default=None, description="Login id of the account.")


@strawberry.type(description="The deleted account, or why not.")
class DeleteSipAccountPayload:
    deleted_id: strawberry.ID | None = strawberry.field(
        default=None, description="The id the deleted account had."
    )
    deleted_login_id: str | None = strawberry.field(
        default=None, description="Its login id, free for a new account."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


def _deleted(row: SipAccount) -> DeleteSipAccountPayload:
    return DeleteSipAccountPayload(
        deleted_id=strawberry.ID(encode_id("SipAccount", saved_id(row))),
        deleted_login_id=row.login_id,
    )


@strawberry.type
class SipAccountAdminMutations:
    @typed.mutation(
        description="Delete a SIP account (SYSTEM_ADMIN of its institution whose session may "
        "hand out every attribute type it is sent; audited). Its open connections are logged "
        "out at their next message."
    )
    async def delete_sip_account(
        self,
        info: Info[Context, None],
        input: Annotated[
            DeleteSipAccountInput, strawberry.argument(description="The account to delete.")
        ],
    ) -> DeleteSipAccountPayload:
        actor = info.context.actor
        account_id = decode_pk(input.id, "SipAccount") if input.id is not None else None
        return await mutate(
            info,
            lambda s: deletion.delete_sip_account(
                session=s,
                actor=actor,
                by_id=input.id is not None,
                account_id=account_id,
                login_id=input.login_id,
            ),
            _deleted,
            DeleteSipAccountPayload,
        )
