"""An institution's API clients."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.auth import clients
from app.graphql import typed
from app.graphql.auth.types import (
    ApiClient,
)
from app.graphql.context import Context


@strawberry.type
class AuthQueries:
    @typed.field(
        description="An institution's API clients (its SYSTEM_ADMINs; others get none). "
        "Secrets are never shown."
    )
    async def api_clients(
        self,
        info: Info[Context, None],
        institution: Annotated[str, strawberry.argument(description="Institution code.")],
    ) -> list[ApiClient]:
        ctx = info.context
        async with ctx.db.use() as session:
            views = await clients.list_api_clients(
                session=session, actor=ctx.actor, institution_code=institution
            )
        return [ApiClient.of(view) for view in views]
