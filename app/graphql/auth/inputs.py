"""Inputs of login and of the API client mutations."""

from __future__ import annotations

import strawberry


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


@strawberry.input(description="A change of an API client (SYSTEM_ADMIN): what is left out stays.")
class UpdateApiClientInput:
    id: strawberry.ID = strawberry.field(description="The client's id (ApiClient.id).")
    name: str | None = strawberry.field(default=None, description="A new name.")
    scopes: list[str] | None = strawberry.field(
        default=None,
        description="The client's scopes from now on (all of them: those left out are "
        "taken away): patron_read, linking, patron_auth, email, or attribute:<CODE>. Its "
        "secret stays; its next request has these scopes.",
    )
