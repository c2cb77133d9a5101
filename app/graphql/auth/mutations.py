"""Login, logout and API clients."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.auth import clients, logins
from app.graphql import typed
from app.graphql.auth.types import (
    ApiClient,
    CreateApiClientPayload,
    LoginPayload,
    LogoutPayload,
    Viewer,
)
from app.graphql.context import Context
from app.graphql.core import PAYLOAD_ERRORS, UserError, mutate
from app.graphql.ids import decode_pk


@strawberry.input(description="Credentials and the library to work at.")
class LoginInput:
    username: str = strawberry.field(description="The account's username (case-insensitive).")
    password: str = strawberry.field(description="The account's password; never logged.")
    library: str = strawberry.field(
        description="Code of the library the session works at, e.g. LANSING."
    )


@strawberry.input(description="A new API client of an institution (SYSTEM_ADMIN).")
class CreateApiClientInput:
    institution: str = strawberry.field(
        description="Code of the institution the client belongs to (SYSTEM_ADMIN there)."
    )
    name: str = strawberry.field(description="A name to recognise the client by, e.g. Kanopy.")
    scopes: list[str] = strawberry.field(
        description="patron_read, linking, patron_auth, email, or attribute:<CODE>."
    )
    library: str | None = strawberry.field(default=None, description="Library the client acts for.")


@strawberry.input(description="An API client, by the id apiClients gives.")
class ApiClientInput:
    id: strawberry.ID = strawberry.field(description="The client's id (ApiClient.id).")


@strawberry.type(description="The client after the change, or what went wrong.")
class ApiClientPayload:
    client: ApiClient | None = strawberry.field(
        default=None, description="The client as saved; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


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
            lambda session: logins.login(
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
            lambda session: logins.logout(session=session, token=ctx.token, actor=ctx.actor),
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

        def answer(result: clients.CreatedApiClient) -> CreateApiClientPayload:
            view = clients.ApiClientView(
                result.client,
                input.institution.strip().upper(),
                input.library and input.library.strip().upper(),
            )
            return CreateApiClientPayload(client=ApiClient.of(view), secret=result.secret)

        return await mutate(
            info,
            lambda session: clients.create_api_client(
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
            lambda session: clients.revoke_api_client(
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
            lambda session: clients.rotate_api_client_secret(
                session=session, actor=ctx.actor, client_id=decode_pk(input.id, "ApiClient")
            ),
            lambda result: CreateApiClientPayload(client=ApiClient.of(result[0]), secret=result[1]),
            CreateApiClientPayload,
        )


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
