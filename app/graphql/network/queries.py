"""Queries of the network structure and of the viewer."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.auth.policy import require_authenticated
from app.graphql import typed
from app.graphql.auth.types import Viewer
from app.graphql.context import Context
from app.graphql.network.types import IdentifierType, Institution, Network
from app.network import queries as network_queries
from app.network import service as network_service


@strawberry.type
class NetworkQueries:
    @typed.field(description="Who is asking (anonymous callers get an empty viewer).")
    def viewer(self, info: Info[Context, None]) -> Viewer:
        return Viewer(actor=info.context.actor)

    @typed.field(description="The network: its name, members and identifier types.")
    async def network(self, info: Info[Context, None]) -> Network:
        ctx = info.context
        require_authenticated(ctx.actor)
        async with ctx.db.use() as session:
            net = await network_service.get_network(session)
            institutions = await network_queries.institutions(session)
            types = await network_queries.identifier_types(session)
        return Network(
            name=net.name if net else ctx.settings.network_name,
            institution_rows=institutions,
            identifier_type_rows=types,
        )

    @typed.field(description="A member institution by code.")
    async def institution(
        self,
        info: Info[Context, None],
        code: Annotated[str, strawberry.argument(description="Institution code, e.g. NEKLS.")],
    ) -> Institution | None:
        ctx = info.context
        require_authenticated(ctx.actor)
        async with ctx.db.use() as session:
            row = await network_service.institution_by_code(session, code)
        return Institution.of(row) if row else None


__all__ = ["IdentifierType", "NetworkQueries"]
