"""Types every part of the schema shares: Node, PageInfo, UserError and the enums."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TypeVar, cast

import strawberry
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from app.auth.roles import SystemGroup as SystemGroupEnum
from app.errors import DomainError
from app.errors import ErrorCode as ErrorCodeEnum
from app.graphql.context import Context
from app.observability.requests import note_user_error

ErrorCode = strawberry.enum(ErrorCodeEnum, name="ErrorCode", description="What went wrong.")
SystemGroup = strawberry.enum(
    SystemGroupEnum,
    name="SystemGroup",
    description="Roles; LIBRARY_USERS is held by everyone who logs in.",
)


@strawberry.enum(
    description="HOME: the patron's own account. LINKED: a copy made for another member."
)
class AccountType(Enum):
    HOME = "HOME"
    LINKED = "LINKED"


@strawberry.interface(description="An object with a global, opaque id (Relay).")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global id.")


@strawberry.type(description="Where a page of a connection stands.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="An expected failure of a mutation, for the user to fix.")
class UserError:
    code: ErrorCode = strawberry.field(description="Machine-readable reason.")  # type: ignore[valid-type]
    message: str = strawberry.field(description="What went wrong, for a librarian.")
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "primaryEmail"].'
    )


def user_errors(error: DomainError) -> list[UserError]:
    return [UserError(code=e.code, message=e.message, field=e.field) for e in error.errors]


T = TypeVar("T")
P = TypeVar("P")


async def _run(
    info: Info[Context, None], action: Callable[[AsyncSession], Awaitable[T]]
) -> T | DomainError:
    """Run a use-case with the request's session; a DomainError is returned, rolled back."""
    async with info.context.db.use() as session:
        try:
            return await action(session)
        except DomainError as error:
            await session.rollback()
            note_user_error()
            return error


async def mutate(
    info: Info[Context, None],
    action: Callable[[AsyncSession], Awaitable[T]],
    answer: Callable[[T], P],
    failed: Callable[..., P],
) -> P:
    """The one way a mutation runs: the use case in the request's session, then its payload.

    ``answer`` builds the payload from the use case's result; a ``DomainError`` rolls the
    session back and becomes ``failed(errors=[...])``, the payload's list of user errors.
    """
    result = await _run(info, action)
    if isinstance(result, DomainError):
        return failed(errors=user_errors(result))
    return answer(result)


def page_size(first: int | None, default: int, maximum: int) -> int:
    if first is None:
        return default
    if first < 0:
        raise GraphQLError("first cannot be negative.", extensions={"code": "INVALID_INPUT"})
    return min(first, maximum)


def later(awaitable: Awaitable[T]) -> T:
    """What a synchronous resolver returns when its data is not in hand yet: the awaitable
    that will produce it (graphql-core awaits a resolver's awaitable result). Resolvers
    that usually find their data prefetched stay synchronous, and a page of them costs
    no coroutine or task per field."""
    return cast(T, awaitable)
