"""Types every part of the schema shares: Node, PageInfo, UserError and the enums."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from enum import Enum, EnumMeta
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import strawberry
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from app.auth.roles import SystemGroup as SystemGroupEnum
from app.errors import DomainError, FieldError
from app.errors import ErrorCode as ErrorCodeEnum
from app.graphql import typed
from app.graphql.context import Context
from app.observability.requests import note_user_error

if TYPE_CHECKING:
    from strawberry.types.field import StrawberryField

E = TypeVar("E", bound=EnumMeta)


def described_enum(cls: E, *, name: str, description: str, values: Mapping[Enum, str]) -> E:
    """A domain enum as a GraphQL enum with a description for each value.

    The domain enum stays free of strawberry; ``values`` must describe every member.
    """
    graphql_enum = strawberry.enum(cls, name=name, description=description)
    by_name = {member.name: text for member, text in values.items()}
    definition = graphql_enum.__strawberry_definition__  # type: ignore[attr-defined]
    undescribed = [value.name for value in definition.values if value.name not in by_name]
    if undescribed or len(by_name) != len(definition.values):
        raise ValueError(f"{name}: describe exactly its values (missing {undescribed}).")
    for value in definition.values:
        value.description = by_name[value.name]
    return graphql_enum


ErrorCode = described_enum(
    ErrorCodeEnum,
    name="ErrorCode",
    description="What went wrong.",
    values={
        ErrorCodeEnum.INVALID_INPUT: (
            "A value is malformed or out of range; the message says which."
        ),
        ErrorCodeEnum.NOT_FOUND: "The object does not exist, or does not exist for you.",
        ErrorCodeEnum.FORBIDDEN: "Your session may not do this (role, institution or library).",
        ErrorCodeEnum.ATTRIBUTE_FORBIDDEN: (
            "Sets or clears a library-limited attribute your session's library may not change;"
            " nothing else of the mutation is written."
        ),
        ErrorCodeEnum.CONFLICT: (
            "Clashes with existing data (a code or name already taken, a concurrent change)."
        ),
        ErrorCodeEnum.STALE_VERSION: (
            "The patron changed since you read it (`expectedVersion` is old); nothing was written."
        ),
        ErrorCodeEnum.DUPLICATE_USERNAME: "Another patron of the institution has this username.",
        ErrorCodeEnum.DUPLICATE_IDENTIFIER: (
            "Another patron has this identifier (in the institution, or in the network"
            " for network-unique types)."
        ),
        ErrorCodeEnum.PASSWORD_TOO_SHORT: "Passwords have at least 8 characters.",
        ErrorCodeEnum.INVALID_EMAIL: "Not a valid email address.",
        ErrorCodeEnum.MANDATORY_FIELD: "A required value is missing or blank.",
        ErrorCodeEnum.LOANS_OUTSTANDING: "Refused while the patron has loans not checked in.",
        ErrorCodeEnum.PATRON_BLOCKED: (
            "The patron has a block on loans; only OVERRIDE_BLOCKS staff may override it."
        ),
        ErrorCodeEnum.NOT_ALLOWED_TO_BORROW: (
            "Disabled, expired, generic or past `until`, or a non-student in no library group."
        ),
        ErrorCodeEnum.SOURCE_NOT_FOUND: (
            "The source patron of a search result no longer exists; search again."
        ),
        ErrorCodeEnum.SOURCE_RESTRICTED: (
            "The source patron may not be linked: restricted user group, disabled or expired."
        ),
        ErrorCodeEnum.AMBIGUOUS_IDENTIFIER: (
            "The identifier matches more than one patron of one source institution."
        ),
        ErrorCodeEnum.NAME_SEARCH_NOT_ALLOWED: (
            "The source institution does not allow name search, or your role may search"
            " by identifier only."
        ),
        ErrorCodeEnum.DEFAULT_RULE_IMMUTABLE: (
            "The default linked account rule can be edited but neither deleted nor moved."
        ),
        ErrorCodeEnum.INVALID_CREDENTIALS: "The username or password is not correct.",
        ErrorCodeEnum.ACCOUNT_LOCKED: (
            "Locked after repeated failed logins; refused even with the right password"
            " until the lock ends."
        ),
        ErrorCodeEnum.TOO_MANY_ATTEMPTS: (
            "Too many failed attempts from this address in the last minute; wait and retry."
        ),
    },
)
SystemGroup = described_enum(
    SystemGroupEnum,
    name="SystemGroup",
    description="Roles; LIBRARY_USERS is held by everyone who logs in.",
    values={
        SystemGroupEnum.LIBRARY_USERS: "May log in; every account has it and it cannot be removed.",
        SystemGroupEnum.CIRCULATION: "Reads the institution's patrons; checks items out and in.",
        SystemGroupEnum.OVERRIDE_BLOCKS: "With CIRCULATION, may override blocks at checkout.",
        SystemGroupEnum.LIBRARIAN: (
            "Manages the institution's patrons: create, edit, delete, import, merge, blocks,"
            " linking walk-ins."
        ),
        SystemGroupEnum.SYSTEM_ADMIN: (
            "Everything in the institution, its network configuration, attribute types and"
            " granting roles."
        ),
        SystemGroupEnum.NETWORK_ADMIN: (
            "Network structure: institutions, libraries, identifier types; no blanket access"
            " to patrons."
        ),
    },
)


class AccountType(Enum):
    HOME = "HOME"
    LINKED = "LINKED"


described_enum(
    AccountType,
    name="AccountType",
    description="HOME: the patron's own account. LINKED: a copy made for another member.",
    values={
        AccountType.HOME: "The patron's own account at its institution.",
        AccountType.LINKED: (
            "A copy of another member's patron, made and refreshed under this institution's"
            " linked account rules."
        ),
    },
)


@strawberry.interface(description="An object with a global, opaque id (Relay).")
class Node:
    id: strawberry.ID = strawberry.field(description="Opaque global id.")


@strawberry.type(description="Where a page of a connection stands.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow `endCursor`.")
    has_previous_page: bool = strawberry.field(
        description="Items precede this page: true when `after` was given."
    )
    start_cursor: str | None = strawberry.field(
        description="Cursor of the page's first item; null for an empty page."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the page's last item: pass it as `after`; null for an empty page."
    )


# The `errors` field of every mutation payload.
PAYLOAD_ERRORS = (
    "Expected failures, each with the input field at fault; empty on success (nothing was"
    " written otherwise)."
)


@strawberry.type(description="An expected failure of a mutation, for the user to fix.")
class UserError:
    code: ErrorCode = strawberry.field(description="Machine-readable reason.")  # type: ignore[valid-type]
    message: str = strawberry.field(description="What went wrong, for a librarian.")
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "primaryEmail"].'
    )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def input_path(field: Sequence[str] | None, under: str | None = "input") -> list[str] | None:
    """Where a domain error points, as a client sees it: the domain's path (app.errors) under
    the operation's `input` argument, each name camel-cased (``["primary_email"]`` is
    ``["input", "primaryEmail"]``); ``under=None`` for an operation whose arguments are
    given one by one (``["source_institution"]`` is ``["sourceInstitution"]``)."""
    if field is None:
        return None
    return [*([under] if under else []), *(_camel(name) for name in field)]


def user_error(error: FieldError, under: str | None = "input") -> UserError:
    field = input_path(error.field, under)
    return UserError(code=error.code, message=error.message, field=field)


def user_errors(error: DomainError, under: str | None = "input") -> list[UserError]:
    return [user_error(e, under) for e in error.errors]


T = TypeVar("T")
P = TypeVar("P")
In = TypeVar("In")


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
    *,
    under: str | None = "input",
) -> P:
    """The one way a mutation runs: the use case in the request's session, then its payload.

    ``answer`` builds the payload from the use case's result; a ``DomainError`` rolls the
    session back and becomes ``failed(errors=[...])``, the payload's list of user errors,
    their paths under the ``input`` argument (``under``; None: arguments given one by one).
    """
    result = await _run(info, action)
    if isinstance(result, DomainError):
        return failed(errors=user_errors(result, under))
    return answer(result)


def mutation(
    description: str,
    *,
    input: tuple[type[In], str],
    run: Callable[[AsyncSession, Context, In], Awaitable[T]],
    payload: type[P],
    answer: Callable[[T], P] | None = None,
    answer_for: Callable[[Context, In], Callable[[T], P]] | None = None,
) -> StrawberryField:
    """A Mutation root field, declared: what `mutate` runs, said once.

    The field takes one argument, ``input`` (``input``: its type and the argument's
    description), and returns ``payload``. ``run`` is the use case, called with the
    request's session, its context and the input; ``answer`` builds the payload from its
    result, or, where the payload needs the request too (to make the request's loaders
    forget what was changed, or to show part of the input), ``answer_for`` makes that
    answer from the context and the input. A ``DomainError`` becomes ``payload(errors=...)``
    (see ``mutate``).
    """
    if (answer is None) == (answer_for is None):
        raise TypeError(f"{description!r}: give exactly one of answer and answer_for.")
    input_type, about = input

    def answer_to(ctx: Context, input: In) -> Callable[[T], P]:
        if answer is not None:
            return answer
        assert answer_for is not None
        return answer_for(ctx, input)

    async def resolve(self: Any, info: Info[Context, None], input: In) -> P:
        ctx = info.context
        answered = answer_to(ctx, input)
        return await mutate(info, lambda session: run(session, ctx, input), answered, payload)

    # What strawberry reads: the same signature a hand-written resolver would have.
    resolve.__annotations__ = {
        "info": Info[Context, None],
        "input": Annotated[input_type, strawberry.argument(description=about)],
        "return": payload,
    }
    return typed.mutation(description=description)(resolve)


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
