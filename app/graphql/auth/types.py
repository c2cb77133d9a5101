"""GraphQL types of identity."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from app.auth.clients import ApiClientView
from app.auth.policy import Actor
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import PAYLOAD_ERRORS, SystemGroup, UserError
from app.graphql.ids import encode_id
from app.graphql.network.types import Institution, Library
from app.graphql.patrons.types import Patron


@strawberry.type(description="Who is asking: the logged-in account, or an API client.")
class Viewer:
    actor: strawberry.Private[Actor]

    @typed.field(description="The logged-in account (null for API clients and anonymous callers).")
    async def patron(self, info: Info[Context, None]) -> Patron | None:
        if self.actor.patron_id is None:
            return None
        row = await info.context.loaders.patron_by_id.load(self.actor.patron_id)
        return Patron.of(row) if row is not None else None

    @typed.field(description="The institution the session belongs to.")
    async def institution(self, info: Info[Context, None]) -> Institution | None:
        if self.actor.institution_id is None:
            return None
        return Institution.of(
            await info.context.loaders.institution_by_id.load(self.actor.institution_id)
        )

    @typed.field(description="The library this session is logged in at.")
    async def library(self, info: Info[Context, None]) -> Library | None:
        if self.actor.library_id is None:
            return None
        return Library.of(await info.context.loaders.library_by_id.load(self.actor.library_id))

    @typed.field(description="Roles of the session (none for API clients).")
    def system_groups(self) -> list[SystemGroup]:  # type: ignore[valid-type]
        return [SystemGroup(g.value) for g in sorted(self.actor.groups, key=lambda g: g.value)]

    @typed.field(description="Scopes of an API client (empty for staff sessions).")
    def scopes(self) -> list[str]:
        return sorted(self.actor.scopes)


@strawberry.type(description="A new session, or why there is none.")
class LoginPayload:
    token: str | None = strawberry.field(
        default=None, description="Bearer token for the Authorization header."
    )
    expires_at: datetime | None = strawberry.field(
        default=None, description="When the token stops working; null when `errors` is not empty."
    )
    viewer: Viewer | None = strawberry.field(
        default=None, description="Who the new session is; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description="Why there is no session, e.g. INVALID_CREDENTIALS or ACCOUNT_LOCKED; "
        ""
        "empty on success.",
    )


@strawberry.type(description="The end of a session, or what went wrong.")
class LogoutPayload:
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type(
    description="An API client; its secret is shown once, at creation or when rotated."
)
class ApiClient:
    id: strawberry.ID = strawberry.field(
        description="Identifies the client in revokeApiClient and rotateApiClientSecret."
    )
    name: str = strawberry.field(description="Name given at creation, e.g. the vendor's.")
    institution_code: str = strawberry.field(
        description="Code of the institution the client belongs to."
    )
    scopes: list[str] = strawberry.field(
        description="What the client may do: patron_read, linking, patron_auth, email, "
        "attribute:<CODE>."
    )
    created_at: datetime = strawberry.field(description="When the client was created.")
    enabled: bool = strawberry.field(
        description="False once revoked: its secret no longer works (a new secret restores it)."
    )
    library: str | None = strawberry.field(description="Code of the library the client acts for.")

    @classmethod
    def of(cls, view: ApiClientView) -> ApiClient:
        client = view.client
        assert client.id is not None
        return cls(
            id=strawberry.ID(encode_id("ApiClient", client.id)),
            name=client.name,
            institution_code=view.institution_code,
            scopes=list(client.scopes),
            created_at=client.created_at,
            enabled=client.enabled,
            library=view.library_code,
        )


@strawberry.type(description="The new client and its secret, or what went wrong.")
class CreateApiClientPayload:
    client: ApiClient | None = strawberry.field(
        default=None, description="The client as created; null when `errors` is not empty."
    )
    secret: str | None = strawberry.field(
        default=None, description="The client's bearer token. Shown only now: store it safely."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


@strawberry.type(description="The client after the change, or what went wrong.")
class ApiClientPayload:
    client: ApiClient | None = strawberry.field(
        default=None, description="The client as saved; null when `errors` is not empty."
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )
