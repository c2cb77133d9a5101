"""The Starlette application: /graphql, /healthz, /readyz (metrics: app.observability)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

import app.linking.propagation  # noqa: F401  (linked copies follow patron changes)
from app.db import Database, create_engine, database_unavailable, timed_out
from app.graphiql.page import ASSETS_PREFIX, graphiql_asset
from app.graphql.limits import REQUEST_TIMEOUT, timeout_message
from app.graphql.schema import COMPILED_READS, build_schema
from app.graphql.view import NetzoneGraphQL, graphql_handler
from app.jobs import ScheduleLock, check_emails_forever, purge_forever
from app.observability import metrics
from app.observability.requests import (
    ObserveRequests,
    current_request_id,
    new_request_id,
    trusted_peers,
)
from app.settings import Settings, get_settings

logger = logging.getLogger("netzone")

# A readiness probe answers quickly: a database that does not answer in time is unreachable.
READY_TIMEOUT_SECONDS = 5.0


class BodyLimit:
    """Refuse request bodies over the limit (uploads have their own, larger limit)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        is_upload = headers.get("content-type", "").startswith("multipart/")
        limit = self.max_upload_bytes if is_upload else self.max_bytes
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        received = 0
        response_started = False

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await _too_large(send, limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = orjson.dumps(
        {
            "data": None,
            "errors": [
                {
                    "message": f"The request body is larger than {limit} bytes.",
                    "extensions": {"code": "PAYLOAD_TOO_LARGE"},
                }
            ],
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _unexpected(
    error: Exception, send: Send, *, response_started: bool, settings: Settings
) -> None:
    unavailable = database_unavailable(error)
    if response_started:
        # The answer is out (e.g. the session could not be closed on a dead connection).
        logger.warning("error after the response was sent: %r", error)
        return
    # The request id: in the response header, the access log line and this log line.
    error_id = current_request_id() or new_request_id()
    if unavailable:
        logger.warning("error %s: the database is unavailable: %r", error_id, error)
        status = 503
        message = "The database is unavailable at the moment; please try again shortly."
        code = "SERVICE_UNAVAILABLE"
    elif timed_out(error):
        logger.warning("error %s: the request ran past its budget: %r", error_id, error)
        status, code = 503, REQUEST_TIMEOUT
        message = timeout_message(settings)
    else:
        logger.error("error %s outside the resolvers", error_id, exc_info=error)
        status, message, code = 500, "Internal server error", "INTERNAL_SERVER_ERROR"
    body = orjson.dumps(
        {
            "data": None,
            "errors": [
                {
                    "message": message,
                    "extensions": {"code": code, "errorId": error_id, "requestId": error_id},
                }
            ],
        }
    )
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if unavailable:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _database(settings: Settings) -> Database:
    """The API's database: on PostgreSQL, requests get connections whose statements
    stop at the request budget; imports and jobs started here use a small pool without."""
    if settings.is_sqlite:
        engine = create_engine(settings)
        metrics.watch_pool(engine, "requests")
        return Database(engine)
    background = create_engine(settings, pool_size=2)
    requests = create_engine(
        settings,
        statement_timeout=settings.request_timeout,
        pool_size=settings.db_pool_size,
        generic_plans=True,
    )
    metrics.watch_pool(background, "background")
    metrics.watch_pool(requests, "requests")
    return Database(background, request_engine=requests)


def _observed(settings: Settings) -> list[Middleware]:
    """Request ids, the access log and HTTP metrics, then the forwarded headers.

    Forwarded headers (X-Forwarded-For, X-Forwarded-Proto) are read here, from the
    proxies in NETZONE_TRUSTED_PROXIES only (uvicorn's own reading is off in `serve`):
    the request id middleware before it still sees the connection's own address, and
    takes an incoming X-Request-Id only from those proxies.
    """
    proxies = settings.trusted_proxies.strip()
    observe = Middleware(
        ObserveRequests, trusted_peer=trusted_peers(proxies), access_log=settings.access_log
    )
    if not proxies:
        return [observe]
    return [observe, Middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)]


def create_app(settings: Settings | None = None, database: Database | None = None) -> Starlette:
    """The ASGI application; tests pass their own database (with a rolled-back session)."""
    settings = settings or get_settings()
    owns_database = database is None
    db = database or _database(settings)
    graphql = NetzoneGraphQL(
        database=db,
        settings=settings,
        schema=build_schema(settings),
        compilers=COMPILED_READS,
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=True,
        multipart_uploads_enabled=True,
    )

    class GraphQLEndpoint:
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            started = False

            async def tracking_send(message: Any) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                await send(message)

            try:
                await graphql_handler(graphql, scope, receive, tracking_send)
            except _BodyTooLarge:
                raise  # BodyLimit answers 413
            except Exception as error:
                # Failures outside the resolvers (reading the session's token, opening or
                # closing the request's session): a GraphQL-shaped answer, never a bare
                # 500 page, and the connection stays usable.
                await _unexpected(error, send, response_started=started, settings=graphql.settings)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                reachable = await db.ping()
        except TimeoutError:
            reachable = False
        if reachable:
            return JSONResponse({"status": "ready", "database": "reachable"})
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        jobs: list[asyncio.Task[None]] = []
        # On PostgreSQL `netzone worker` runs them, once per interval across processes;
        # on SQLite one process of `serve --workers N` does.
        schedule = ScheduleLock(settings.database_url) if settings.is_sqlite else None
        if schedule is not None and settings.scheduled_jobs and owns_database:
            jobs.append(
                asyncio.create_task(
                    purge_forever(db, settings.purge_interval_minutes * 60, schedule)
                )
            )
            jobs.append(
                asyncio.create_task(
                    check_emails_forever(db, settings.email_check_interval_minutes * 60, schedule)
                )
            )
        yield
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        if schedule is not None:
            schedule.release()
        if owns_database:
            await db.dispose()
            metrics.process_ended()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/graphql", GraphQLEndpoint(), methods=["GET", "POST"]),
            Route(ASSETS_PREFIX + "{asset:path}", graphiql_asset, methods=["GET", "HEAD"]),
        ],
        middleware=[
            *_observed(settings),
            Middleware(
                BodyLimit,
                max_bytes=settings.max_body_bytes,
                max_upload_bytes=settings.max_upload_bytes,
            ),
        ],
        lifespan=lifespan,
    )
    app.state.database = db
    app.state.settings = settings
    return app
