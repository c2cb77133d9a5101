"""The GraphQL HTTP endpoint: context per request, error masking, JSON via orjson."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from app.auth import service as auth_service
from app.auth.policy import ANONYMOUS, Actor
from app.db import Database, SerialSession
from app.errors import NotAuthenticated
from app.graphql.context import Context
from app.settings import Settings

logger = logging.getLogger("netzone.graphql")

MASKED_MESSAGE = "Internal server error"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def mask_errors(errors: list[GraphQLError]) -> list[dict[str, Any]]:
    """Expected errors pass with a code; anything else becomes an opaque, logged error id."""
    out: list[dict[str, Any]] = []
    for error in errors:
        original = error.original_error
        formatted = error.formatted
        if original is None or isinstance(original, GraphQLError):
            if "extensions" not in formatted or "code" not in (formatted.get("extensions") or {}):
                formatted.setdefault("extensions", {})["code"] = "GRAPHQL_VALIDATION_FAILED"
            out.append(dict(formatted))
            continue
        if isinstance(original, NotAuthenticated):
            formatted["message"] = str(original)
            formatted["extensions"] = {"code": "UNAUTHENTICATED"}
            out.append(dict(formatted))
            continue
        error_id = uuid.uuid4().hex[:12]
        logger.error("error %s in %s", error_id, error.path, exc_info=original)
        out.append(
            {
                "message": MASKED_MESSAGE,
                "locations": formatted.get("locations"),
                "path": formatted.get("path"),
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "errorId": error_id},
            }
        )
    return out


class NetzoneGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context, masking and JSON encoder."""

    def __init__(self, *, database: Database, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.database = database
        self.settings = settings

    async def get_context(self, request: Any, response: Any) -> Context:
        session = request.scope["netzone.session"]
        db = SerialSession(session)
        token = bearer_token(request)
        actor: Actor = ANONYMOUS
        if token is not None:
            async with db.use() as raw:
                found = await auth_service.authenticate(session=raw, token=token)
                # Reading the token must not keep a transaction open across the request.
                await raw.commit()
            # An unknown, expired or revoked token is treated as no token: operations
            # that need a session then answer UNAUTHENTICATED.
            if found is not None:
                actor = found
        client = request.client
        return Context(
            request=request,
            response=response,
            settings=self.settings,
            db=db,
            actor=actor,
            token=token,
            address=client.host if client else "unknown",
        )

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        data: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            data["errors"] = mask_errors(list(result.errors))
        if result.extensions:
            data["extensions"] = result.extensions
        return data

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)


async def graphql_handler(app: NetzoneGraphQL, scope: Any, receive: Any, send: Any) -> None:
    """Open the request's session around the GraphQL view and close it afterwards."""
    async with app.database.session() as session:
        scope["netzone.session"] = session
        try:
            await app(scope, receive, send)
        finally:
            scope.pop("netzone.session", None)

