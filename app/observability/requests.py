"""Request ids, one log line and the HTTP metrics per request.

`ObserveRequests` wraps the whole API app: it gives every request an id (a new one, or
the `X-Request-Id` a trusted proxy sent, when it is sane), returns it in the
`X-Request-Id` response header, keeps it in a context variable for the log lines and
error bodies of the request, and logs one line when the response is sent: method, path
(never the query string: GET /graphql carries variables there), status, duration, and the
GraphQL root fields and outcome the view noted. No header, body, variable or address
goes into it.
"""

from __future__ import annotations

import functools
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability import metrics

access_logger = logging.getLogger("netzone.access")

REQUEST_ID_HEADER = b"x-request-id"
# What an incoming request id may be: a UUID, a hex string, a proxy's own format.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
ROUTES = ("/graphql", "/healthz", "/readyz")
METHODS = ("GET", "POST", "HEAD", "OPTIONS")

# From the worst down: what a request with several operations (a batch) is logged as.
SEVERITY = {"error": 3, "refused": 2, "user_error": 1, "ok": 0}


@dataclass
class Operation:
    """One GraphQL operation of the request, as counted: its root fields (bounded
    names) and outcome."""

    fields: list[str] = field(default_factory=list)
    outcome: str = "ok"
    executed: bool = False  # it passed parsing and validation
    user_error: bool = False  # a mutation answered with user errors


@dataclass
class RequestRecord:
    request_id: str
    operations: list[Operation] = field(default_factory=list)


_request: ContextVar[RequestRecord | None] = ContextVar("netzone_request", default=None)
_operation: ContextVar[Operation | None] = ContextVar("netzone_operation", default=None)


def current_request() -> RequestRecord | None:
    return _request.get()


def current_request_id() -> str | None:
    record = _request.get()
    return record.request_id if record is not None else None


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def operation_scope() -> Iterator[Operation]:
    """The operation run inside (a batch runs each in a task of its own)."""
    operation = Operation()
    token = _operation.set(operation)
    record = _request.get()
    if record is not None:
        record.operations.append(operation)
    try:
        yield operation
    finally:
        _operation.reset(token)


def current_operation() -> Operation | None:
    return _operation.get()


def note_user_error() -> None:
    """A mutation of the current operation answered with user errors."""
    operation = _operation.get()
    if operation is not None:
        operation.user_error = True


def outcome_of(operations: list[Operation]) -> str | None:
    if not operations:
        return None
    return max((o.outcome for o in operations), key=SEVERITY.__getitem__)


def trusted_peers(proxies: str) -> Callable[[str], bool]:
    """Whether an address is one of NETZONE_TRUSTED_PROXIES (comma-separated addresses or
    networks, `*` for any), read as uvicorn's forwarded headers reading does."""
    names = [p.strip() for p in proxies.split(",") if p.strip()]
    if "*" in names:
        return lambda _: True
    if not names:
        return lambda _: False
    networks: list[IPv4Network | IPv6Network] = []
    literals: set[str] = set()
    for name in names:
        try:
            networks.append(ip_network(name, strict=False))
        except ValueError:
            literals.add(name)

    @functools.lru_cache(maxsize=1024)  # the addresses requests come from, parsed once
    def trusted(host: str) -> bool:
        if host in literals:
            return True
        try:
            address = ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in networks)

    return trusted


def _route(path: str) -> str:
    return path if path in ROUTES else metrics.OTHER


class ObserveRequests:
    """The outermost middleware of the API app (see the module's docstring).

    `trusted_peer(host)` tells whether the connection's own address is a proxy named in
    NETZONE_TRUSTED_PROXIES: only then is an incoming X-Request-Id used. It must run
    before the forwarded headers replace the client address.
    """

    def __init__(
        self, app: ASGIApp, *, trusted_peer: Callable[[str], bool], access_log: bool = True
    ) -> None:
        self.app = app
        self.trusted_peer = trusted_peer
        self.access_log = access_log

    def _request_id(self, scope: Scope) -> str:
        client = scope.get("client")
        if client and self.trusted_peer(client[0]):
            for name, value in scope["headers"]:
                if name == REQUEST_ID_HEADER:
                    text: str = value.decode("latin-1").strip()
                    if SANE_REQUEST_ID.fullmatch(text):
                        return text
                    break
        return new_request_id()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        record = RequestRecord(self._request_id(scope))
        token = _request.set(record)
        header = (b"x-request-id", record.request_id.encode("ascii"))
        status = 500  # what the client sees if the app fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _request.reset(token)
            self._done(scope, record, status, time.perf_counter() - started)

    def _done(self, scope: Scope, record: RequestRecord, status: int, seconds: float) -> None:
        path: str = scope.get("path", "")
        method: str = scope.get("method", "")
        route = _route(path)
        metrics.HTTP_REQUESTS.labels(
            route, method if method in METHODS else metrics.OTHER, str(status)
        ).inc()
        metrics.HTTP_DURATION.labels(route).observe(seconds)
        if route == "/graphql" and not record.operations and status >= 400:
            # Refused before any operation ran (unreadable body, too large, too many
            # operations), or failed around them (the database unreachable).
            outcome = "error" if status >= 500 else "refused"
            record.operations.append(Operation([metrics.OTHER], outcome))
            metrics.graphql_operation([metrics.OTHER], outcome, seconds)
        if not self.access_log or not access_logger.isEnabledFor(logging.INFO):
            return
        duration_ms = round(seconds * 1000, 2)
        extra: dict[str, Any] = {
            "request_id": record.request_id,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
        }
        summary = ""
        if record.operations:
            fields = sorted({f for o in record.operations for f in o.fields})
            worst = outcome_of(record.operations)
            extra["graphql_fields"] = fields
            extra["graphql_outcome"] = worst
            extra["graphql_operations"] = len(record.operations)
            summary = f" graphql={','.join(fields)}:{worst}"
        access_logger.info(
            "%s %s %d %.2fms%s", method, path, status, duration_ms, summary, extra=extra
        )
