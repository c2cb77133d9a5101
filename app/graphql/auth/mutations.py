"""Login, logout and API clients."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.types import Info

from app.auth import clients, logins
from app.graphql import typed
from app.graphql.auth.inputs import (
    ApiClientInput,
    CreateApiClientInput,
    LoginInput,
    UpdateApiClientInput,
)
from app.graphql.auth.types import (
    ApiClient,
    ApiClientPayload,
    CreateApiClientPayload,
    LoginPayload,
    LogoutPayload,
    Viewer,
)
from app.graphql.context import Context
from app.graphql.core import mutate, mutation
from app.graphql.ids import decode_pk


def _created_client(
    _ctx: Context, input: CreateApiClientInput
) -> Callable[[clients.CreatedApiClient], CreateApiClientPayload]:
    """The answer of a new client: it, named by the institution and library codes given."""

    def answer(result: clients.CreatedApiClient) -> CreateApiClientPayload:
        view = clients.ApiClientView(
            result.client,
            input.institution.strip().upper(),
            input.library and input.library.strip().upper(),
        )
        return CreateApiClientPayload(client=ApiClient.of(view), secret=result.secret)

    return answer


@strawberry.type
class AuthMutations:
    login = mutation(
        "Log in at a library; the library decides the institution.",
        input=(LoginInput, "Username, password and library."),
        run=lambda s, ctx, input: logins.login(
            session=s,
            settings=ctx.settings,
            username=input.username,
            password=input.password,
            library_code=input.library,
            address=ctx.address,
        ),
        answer=lambda result: LoginPayload(
            token=result.token, expires_at=result.expires_at, viewer=Viewer(actor=result.actor)
        ),
        payload=LoginPayload,
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

    create_api_client = mutation(
        "Create an API client; the secret is in the payload, once.",
        input=(CreateApiClientInput, "The client's institution, name, scopes and library."),
        run=lambda s, ctx, input: clients.create_api_client(
            session=s,
            actor=ctx.actor,
            institution_code=input.institution,
            name=input.name,
            scopes=list(input.scopes),
            library_code=input.library,
        ),
        answer_for=_created_client,
        payload=CreateApiClientPayload,
    )

    revoke_api_client = mutation(
        "Revoke an API client (SYSTEM_ADMIN of its institution): its secret stops working at once.",
        input=(ApiClientInput, "The client to revoke."),
        run=lambda s, ctx, input: clients.revoke_api_client(
            session=s, actor=ctx.actor, client_id=decode_pk(input.id, "ApiClient")
        ),
        answer=lambda view: ApiClientPayload(client=ApiClient.of(view)),
        payload=ApiClientPayload,
    )

    update_api_client = mutation(
        "Rename an API client or change its scopes (SYSTEM_ADMIN of its institution who may "
        "grant its scopes, old and new); its secret stays.",
        input=(UpdateApiClientInput, "The client, and its new name or scopes."),
        run=lambda s, ctx, input: clients.update_api_client(
            session=s,
            actor=ctx.actor,
            client_id=decode_pk(input.id, "ApiClient"),
            name=input.name,
            scopes=None if input.scopes is None else list(input.scopes),
        ),
        answer=lambda view: ApiClientPayload(client=ApiClient.of(view)),
        payload=ApiClientPayload,
    )

    rotate_api_client_secret = mutation(
        "Give an API client a new secret, shown once in the payload (SYSTEM_ADMIN "
        "of its institution); the old secret stops working, and a revoked client works again.",
        input=(ApiClientInput, "The client to give a new secret."),
        run=lambda s, ctx, input: clients.rotate_api_client_secret(
            session=s, actor=ctx.actor, client_id=decode_pk(input.id, "ApiClient")
        ),
        answer=lambda result: CreateApiClientPayload(
            client=ApiClient.of(result[0]), secret=result[1]
        ),
        payload=CreateApiClientPayload,
    )
