"""Login, logout and API clients."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.auth import service
from app.graphql import typed
from app.graphql.auth.inputs import ApiClientInput, CreateApiClientInput, LoginInput
from app.graphql.auth.types import (
    ApiClient,
    ApiClientPayload,
    CreateApiClientPayload,
    LoginPayload,
    LogoutPayload,
    Viewer,
)
from app.graphql.context import Context
from app.graphql.core import mutate
from app.graphql.ids import decode_pk


@strawberry.type
class AuthMutations:
    @typed.mutation(description="Log in at a library; the library decides the institution.")
    async def login(
        self,
        info: Info[Context, None],
        input: Annotated[
            LoginInput, strawberry.argument(description="Username, password and library.")
        ],
    ) -> LoginPayload:
        ctx = info.context
        return await mutate(
            info,
            lambda session: service.login(
                session=session,
                settings=ctx.settings,
                username=input.username,
                password=input.password,
                library_code=input.library,
                address=ctx.address,
            ),
            lambda result: LoginPayload(
                token=result.token, expires_at=result.expires_at, viewer=Viewer(actor=result.actor)
            ),
            LoginPayload,
        )

    @typed.mutation(description="End the current session (its token stops working).")
    async def logout(self, info: Info[Context, None]) -> LogoutPayload:
        ctx = info.context
        return await mutate(
            info,
            lambda session: service.logout(session=session, token=ctx.token, actor=ctx.actor),
            lambda _: LogoutPayload(),
            LogoutPayload,
        )

    @typed.mutation(description="Create an API client; the secret is in the payload, once.")
    async def create_api_client(
        self,
        info: Info[Context, None],
        input: Annotated[
            CreateApiClientInput,
            strawberry.argument(description="The client's institution, name, scopes and library."),
        ],
    ) -> CreateApiClientPayload:
        ctx = info.context

        def answer(result: service.CreatedApiClient) -> CreateApiClientPayload:
            view = service.ApiClientView(
                result.client,
                input.institution.strip().upper(),
                input.library and input.library.strip().upper(),
            )
            return CreateApiClientPayload(client=ApiClient.of(view), secret=result.secret)

        return await mutate(
            info,
            lambda session: service.create_api_client(
                session=session,
                actor=ctx.actor,
                institution_code=input.institution,
                name=input.name,
                scopes=list(input.scopes),
                library_code=input.library,
            ),
            answer,
            CreateApiClientPayload,
        )

    @typed.mutation(
        description="Revoke an API client (SYSTEM_ADMIN of its institution): its secret stops "
        "working at once."
    )
    async def revoke_api_client(
        self,
        info: Info[Context, None],
        input: Annotated[ApiClientInput, strawberry.argument(description="The client to revoke.")],
    ) -> ApiClientPayload:
        ctx = info.context
        return await mutate(
            info,
            lambda session: service.revoke_api_client(
                session=session, actor=ctx.actor, client_id=decode_pk(input.id, "ApiClient")
            ),
            lambda view: ApiClientPayload(client=ApiClient.of(view)),
            ApiClientPayload,
        )

    @typed.mutation(
        description="Give an API client a new secret, shown once in the payload (SYSTEM_ADMIN "
        "of its institution); the old secret stops working, and a revoked client works again."
    )
    async def rotate_api_client_secret(
        self,
        info: Info[Context, None],
        input: Annotated[
            ApiClientInput, strawberry.argument(description="The client to give a new secret.")
        ],
    ) -> CreateApiClientPayload:
        ctx = info.context
        return await mutate(
            info,
            lambda session: service.rotate_api_client_secret(
                session=session, actor=ctx.actor, client_id=decode_pk(input.id, "ApiClient")
            ),
            lambda result: CreateApiClientPayload(client=ApiClient.of(result[0]), secret=result[1]),
            CreateApiClientPayload,
        )
