"""The GraphQL HTTP endpoint: context per request, error masking, JSON via orjson."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import orjson
from cross_web import HTTPException  # strawberry's own (strawberry.http.base uses it)
from graphql import GraphQLError, parse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from app.auth import tokens
from app.auth.policy import ANONYMOUS
from app.db import Database, SerialSession, database_unavailable, timed_out
from app.errors import NotAuthenticated
from app.graphiql.page import graphiql_page
from app.graphql import compiled, observe
from app.graphql.context import Context
from app.graphql.limits import (
    QUERY_TOO_COSTLY,
    REQUEST_TIMEOUT,
    RESULT_TOO_LARGE,
    document_cost,
    timeout_message,
    too_costly,
)
from app.graphql.reads import reads_only
from app.observability import metrics
from app.observability.requests import current_request_id, new_request_id, operation_scope
from app.settings import Settings

logger = logging.getLogger("netzone.graphql")

MASKED_MESSAGE = "Internal server error"

# graphql-core puts suggestions taken from the schema into some messages ("Did you mean
# 'first'?"), at the end or in the middle (unknown input-object fields); strawberry's
# switch only turns off those of fields. Each goes, wherever it is.
SUGGESTION = re.compile(r"\s*Did you mean\b[^?]*\?")

VALIDATION_ABORTED = (
    "The query is too complex to check: it selects too many fields, or nests fragments "
    "too deeply. Ask for fewer fields, or split it into several requests."
)

NOT_AN_OPERATION = (
    "The request body must be a GraphQL operation: a JSON object with a `query` string "
    "(or a list of such objects, a batch)."
)

# Codes of the transport-level refusals (bad JSON, too many operations, ...).
HTTP_ERROR_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
}


class Refusal(HTTPException):
    """A refusal before execution with a code of its own."""

    def __init__(self, status_code: int, reason: str, code: str) -> None:
        super().__init__(status_code, reason)
        self.code = code


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def mask_errors(errors: list[GraphQLError]) -> list[dict[str, Any]]:
    """Expected errors pass with a code; anything else becomes an opaque error id, logged:
    the request's id (also its X-Request-Id header), as `errorId` and `requestId`."""
    out: list[dict[str, Any]] = []
    for error in errors:
        original = error.original_error
        formatted = error.formatted
        if original is None or isinstance(original, GraphQLError):
            formatted["message"] = SUGGESTION.sub("", formatted["message"])
            if formatted["message"] == "Validation aborted.":
                # graphql-core gave up comparing fields (a very wide query, or fragments
                # nested past the interpreter's recursion limit): say so.
                formatted["message"] = VALIDATION_ABORTED
                formatted["extensions"] = {"code": "QUERY_TOO_COMPLEX"}
            if "extensions" not in formatted or "code" not in (formatted.get("extensions") or {}):
                formatted.setdefault("extensions", {})["code"] = "GRAPHQL_VALIDATION_FAILED"
            out.append(dict(formatted))
            continue
        if isinstance(original, NotAuthenticated):
            formatted["message"] = str(original)
            formatted["extensions"] = {"code": "UNAUTHENTICATED"}
            out.append(dict(formatted))
            continue
        error_id = current_request_id() or new_request_id()
        ids = {"errorId": error_id, "requestId": error_id}
        if database_unavailable(original):
            logger.warning(
                "error %s in %s: database unavailable: %s", error_id, error.path, original
            )
            out.append(
                {
                    "message": "The database cannot be reached right now; try again in a moment.",
                    "locations": formatted.get("locations"),
                    "path": formatted.get("path"),
                    "extensions": {"code": "SERVICE_UNAVAILABLE", **ids},
                }
            )
            continue
        logger.error("error %s in %s", error_id, error.path, exc_info=original)
        out.append(
            {
                "message": MASKED_MESSAGE,
                "locations": formatted.get("locations"),
                "path": formatted.get("path"),
                "extensions": {"code": "INTERNAL_SERVER_ERROR", **ids},
            }
        )
    return out


def _encoding_problem(data: str | bytes) -> str | None:
    """Why a body that is no JSON cannot be read as text, if that is the reason."""
    if not isinstance(data, bytes):
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        return "it starts with a byte order mark; send UTF-8 without one."
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        return (
            f"it is not UTF-8 (byte 0x{data[bad.start]:02x} at offset {bad.start}); "
            "send JSON in UTF-8."
        )
    return None


def _stops_request(error: GraphQLError) -> bool:
    code = (error.extensions or {}).get("code")
    original = error.original_error
    return code in (RESULT_TOO_LARGE, REQUEST_TIMEOUT) or (
        original is not None and timed_out(original)
    )


def _as_refusal(error: GraphQLError, settings: Settings) -> GraphQLError:
    if (error.extensions or {}).get("code") == RESULT_TOO_LARGE:
        return error
    return GraphQLError(timeout_message(settings), extensions={"code": REQUEST_TIMEOUT})


class NetzoneGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context, masking and JSON encoder."""

    def __init__(
        self,
        *,
        database: Database,
        settings: Settings,
        compilers: dict[str, compiled.Compiler] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.database = database
        self.settings = settings
        self.plans = (
            compiled.Plans(self.schema, settings, compilers)  # type: ignore[arg-type]
            if compilers and settings.compiled_reads
            else None
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # The request as graphql_handler read it (its body, when it tried a compiled read).
        request = scope.pop("netzone.request", None) or Request(scope=scope, receive=receive)
        try:
            try:
                response = await self.run(request)
            except HTTPException as error:
                response = self.http_error(request, error)
            await response(scope, receive, send)
        finally:
            # Uploads are spooled to temporary files; strawberry never closes the form.
            await request.close()

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from this server's own files, under a strict Content-Security-Policy."""
        return graphiql_page(self.settings)

    def http_error(self, request: Request, error: HTTPException) -> Response:
        """A refusal before execution, as GraphQL-shaped JSON (strawberry sends plain text)."""
        status, message, headers = error.status_code, error.reason, {}
        if isinstance(error.__cause__, InvalidOperationTypeError) and request.method == "GET":
            # GraphQL over HTTP: a mutation by GET is 405, and POST is what is allowed.
            status, headers = 405, {"allow": "POST"}
            message = f"{message}: send mutations by POST; GET serves queries only."
        code = error.code if isinstance(error, Refusal) else None
        body = {
            "data": None,
            "errors": [
                {
                    "message": message,
                    "extensions": {"code": code or HTTP_ERROR_CODES.get(status, "BAD_REQUEST")},
                }
            ],
        }
        return Response(
            orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
        )

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        """strawberry's execution of one operation (of a batch, each in a task of its own),
        counted by root field and outcome (app.graphql.observe)."""
        with operation_scope() as operation:
            started = time.perf_counter()
            outcome = "error"
            try:
                result: ExecutionResult = await super().execute_single(*args, **kwargs)
                outcome = observe.outcome(list(result.errors or []), operation)
                return result
            except HTTPException:
                outcome = "refused"  # no query, or a mutation sent by GET
                raise
            finally:
                operation.outcome = outcome
                operation.fields = operation.fields or [metrics.OTHER]
                elapsed = time.perf_counter() - started
                metrics.graphql_operation(operation.fields, outcome, elapsed)

    def _validate_batch_request(self, request_data: Any, protocol: Any) -> None:
        limit = self.settings.max_batch
        if isinstance(request_data, list) and len(request_data) > limit:
            raise HTTPException(
                400,
                f"A batch may hold at most {limit} operations; this one has {len(request_data)}.",
            )
        if isinstance(request_data, list) and not all(isinstance(i, dict) for i in request_data):
            raise HTTPException(400, f"{NOT_AN_OPERATION} Each operation of a batch is one.")
        super()._validate_batch_request(request_data, protocol)
        self._check_batch_cost(request_data)

    def _check_batch_cost(self, operations: list[dict[str, Any]]) -> None:
        """A batch costs what its operations cost together (each alone passes the rule)."""
        settings = self.settings
        total = 0
        for operation in operations:
            query = operation.get("query")
            name = operation.get("operationName")
            if not isinstance(query, str) or not isinstance(name, str | None):
                continue  # refused by execution with its own message
            try:
                document = parse(query, max_tokens=settings.max_tokens)
            except GraphQLError:
                continue  # the same
            schema = self.schema._schema  # type: ignore[attr-defined]  # strawberry.Schema
            total += document_cost(schema, document, name, settings.max_page_size)
        if total > settings.max_cost:
            raise Refusal(400, too_costly(total, settings.max_cost, "This batch"), QUERY_TOO_COSTLY)

    async def parse_http_body(self, request: Any) -> Any:
        """strawberry's parsing; a body of the wrong shape is a 400, not a crash."""
        try:
            return await super().parse_http_body(request)
        except AttributeError as error:
            # JSON `null`, a number or a string where an operation (an object) belongs.
            raise HTTPException(400, NOT_AN_OPERATION) from error

    async def parse_multipart(self, request: Any) -> dict[str, str]:
        """strawberry's multipart parsing, with malformed forms and maps refused as a 400."""
        try:
            await request.get_form_data()  # parsed once here; Starlette keeps the form
        except StarletteHTTPException as error:
            detail = f"Unable to parse the multipart body: {error.detail}"
            raise HTTPException(400, detail) from error
        try:
            return await super().parse_multipart(request)
        except (AttributeError, TypeError, ValueError, IndexError) as error:
            raise HTTPException(
                400,
                "The multipart `map` must be a JSON object naming, for each file, "
                'where it goes in `operations` (e.g. {"0": ["variables.file"]}).',
            ) from error

    async def get_context(self, request: Any, response: Any) -> Context:
        session = request.scope["netzone.session"]
        db = SerialSession(session, read_options=self.database.read_options)
        # Queries stop past the budget (mutations are not cut halfway: the execution
        # context lifts it for them; their statements stay bounded on PostgreSQL).
        db.deadline = time.monotonic() + self.settings.request_timeout
        client = request.client
        # The actor is found in execute_operation, once the request's operations are
        # known (a request that only reads then runs without a transaction).
        return Context(
            request=request,
            response=response,
            settings=self.settings,
            db=db,
            actor=ANONYMOUS,
            token=bearer_token(request),
            address=client.host if client else "unknown",
        )

    async def execute_operation(  # noqa: PLR0917  (strawberry's signature)
        self,
        request: Any,
        request_adapter: Any,
        request_data: Any,
        context: Context,
        root_value: Any,
        sub_response: Any,
    ) -> Any:
        operations = request_data if isinstance(request_data, list) else [request_data]
        context.db.reads_only = all(
            reads_only(getattr(o, "query", None), getattr(o, "operation_name", None))
            for o in operations
        )
        await self._authenticate(context)
        return await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )

    async def _authenticate(self, context: Context) -> None:
        """The request's actor from its bearer token: an unknown, expired or revoked token
        is treated as no token (operations that need a session answer UNAUTHENTICATED)."""
        if context.token is None:
            return
        async with context.db.use() as raw:
            found = await tokens.authenticate(session=raw, token=context.token)
            if self.database.dialect == "sqlite" and not context.db.reads_only:
                # SQLite transactions take the write lock at BEGIN (BEGIN IMMEDIATE):
                # reading the token must not hold it across the request. PostgreSQL
                # reads take no lock, and the request's statements go on in the same
                # transaction (a COMMIT and a BEGIN fewer on the point lookup path).
                await raw.commit()
        if found is not None:
            context.actor = found

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        data: GraphQLHTTPResponse = {"data": result.data}
        errors = list(result.errors or [])
        stopped = [e for e in errors if _stops_request(e)]
        if stopped:
            # One refusal for the whole request, not one per list it stopped, no partial data.
            data["data"] = None
            errors = [_as_refusal(stopped[0], self.settings)]
        if errors:
            data["errors"] = list(mask_errors(errors))
        if result.extensions:
            data["extensions"] = result.extensions
        return data

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as error:
            problem = _encoding_problem(data)
            if not data.strip():
                problem = "the body is empty."
            elif "depth limit" in str(error).lower():
                problem = "it nests lists or objects too deeply (at most 1024 levels)."
            if problem is None:
                raise  # strawberry answers "Unable to parse request body as JSON"
            raise HTTPException(400, f"Unable to parse request body as JSON: {problem}") from error


async def graphql_handler(app: NetzoneGraphQL, scope: Any, receive: Any, send: Any) -> None:
    """A compiled read where one answers (app.graphql.compiled: it takes a session of its
    own), else the request's session opened around the GraphQL view, closed afterwards."""
    if app.plans is not None and scope["type"] == "http" and scope["method"] == "POST":
        request = Request(scope=scope, receive=receive)
        response = await compiled.answer(app.plans, app.database, request, bearer_token(request))
        if response is not None:
            await response(scope, receive, send)
            return
        scope["netzone.request"] = request  # its body is read: the view goes on with it
    async with app.database.request_session() as session:
        scope["netzone.session"] = session
        try:
            await app(scope, receive, send)
        finally:
            scope.pop("netzone.session", None)
