"""Login, logout and API clients."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.auth import service
from app.errors import DomainError
from app.graphql import typed
from app.graphql.auth.types import (
    ApiClient,
    CreateApiClientPayload,
    LoginPayload,
    LogoutPayload,
    Viewer,
)
from app.graphql.context import Context
from app.graphql.core import run_mutation, user_errors


@strawberry.input
class LoginInput:
    username: str
    password: str
    library: str = strawberry.field(
        description="Code of the library the session works at, e.g. LANSING."
    )


@strawberry.input(description="A new API client of an institution (SYSTEM_ADMIN).")
class CreateApiClientInput:
    institution: str
    name: str
    scopes: list[str] = strawberry.field(
        description="patron_read, linking, patron_auth, email, or attribute:<CODE>."
    )
    library: str | None = strawberry.field(default=None, description="Library the client acts for.")


@strawberry.type
class AuthMutations:
    @typed.mutation(description="Log in at a library; the library decides the institution.")
    async def login(self, info: Info[Context, None], input: LoginInput) -> LoginPayload:
        ctx = info.context
        result = await run_mutation(
            info,
            lambda session: service.login(
                session=session,
                settings=ctx.settings,
                username=input.username,
                password=input.password,
                library_code=input.library,
                address=ctx.address,
            ),
        )
        if isinstance(result, DomainError):
            return LoginPayload(errors=user_errors(result))
        return LoginPayload(
            token=result.token, expires_at=result.expires_at, viewer=Viewer(actor=result.actor)
        )

    @typed.mutation(description="End the current session (its token stops working).")
    async def logout(self, info: Info[Context, None]) -> LogoutPayload:
        ctx = info.context
        await run_mutation(
            info, lambda session: service.logout(session=session, token=ctx.token, actor=ctx.actor)
        )
        return LogoutPayload()

    @typed.mutation(description="Create an API client; the secret is in the payload, once.")
    async def create_api_client(
        self, info: Info[Context, None], input: CreateApiClientInput
    ) -> CreateApiClientPayload:
        ctx = info.context
        result = await run_mutation(
            info,
            lambda session: service.create_api_client(
                session=session,
                actor=ctx.actor,
                institution_code=input.institution,
                name=input.name,
                scopes=list(input.scopes),
                library_code=input.library,
            ),
        )
        if isinstance(result, DomainError):
            return CreateApiClientPayload(errors=user_errors(result))
        client = result.client
        return CreateApiClientPayload(
            client=ApiClient(
                name=client.name,
                institution_code=input.institution.strip().upper(),
                scopes=list(client.scopes),
                created_at=client.created_at,
            ),
            secret=result.secret,
        )
