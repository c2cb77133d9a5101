"""An institution's SIP accounts."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.graphql import typed
from app.graphql.context import Context
from app.graphql.sip2.types import (
    SipAccount,
)
from app.sip2 import service


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
