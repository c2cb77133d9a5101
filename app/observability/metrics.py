"""Prometheus metrics of the service, and where they are served.

Every label takes its values from a small, fixed set (GraphQL root field names of the
schema or `other`, outcomes, SIP2 command names, ...): nothing a client chooses becomes
a label value as such.

One process (`netzone serve`, `netzone sip2`) keeps its metrics in memory. With several
worker processes (`netzone serve --workers N`) each writes them to files in
PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode), which `serve` prepares
before the workers start, and the metrics port, served by the parent process, adds them
up. The metrics are served on a port of their own (NETZONE_METRICS_PORT,
NETZONE_SIP2_METRICS_PORT), never by the API app.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Seconds; the request budget (NETZONE_REQUEST_TIMEOUT) is 15 s by default.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)

# The outcome of one GraphQL operation: answered without errors; answered with errors
# for the client to fix (user errors of a mutation payload, UNAUTHENTICATED, ...);
# failed on the server's side (masked internal errors, database unavailable, request
# budget used up); refused before it ran (unreadable, invalid or over a request limit).
OUTCOMES = ("ok", "user_error", "error", "refused")
OTHER = "other"

GRAPHQL_REQUESTS = Counter(
    "netzone_graphql_requests",
    "GraphQL operations by root field (a schema root field name or `other`) and outcome; "
    "an operation selecting several root fields counts once under each.",
    ["operation", "outcome"],
)
GRAPHQL_DURATION = Histogram(
    "netzone_graphql_request_duration_seconds",
    "Time to answer a GraphQL operation, by root field (as netzone_graphql_requests_total).",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
GRAPHQL_COMPILED = Counter(
    "netzone_graphql_compiled_reads",
    "GraphQL operations answered by the compiled read path (one statement, no per-field "
    "resolution), by root field; they count in netzone_graphql_requests_total too.",
    ["operation"],
)
HTTP_REQUESTS = Counter(
    "netzone_http_requests",
    "HTTP requests by route (/graphql, /healthz, /readyz or other), method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "netzone_http_request_duration_seconds",
    "Time to answer an HTTP request, by route.",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
DB_POOL_CHECKED_OUT = Gauge(
    "netzone_db_pool_checked_out",
    "Database connections in use, by pool (requests: the API's requests; background: "
    "imports and jobs; sip2: the SIP2 server).",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "netzone_db_pool_size",
    "Connections a pool keeps (up to 10 more are opened for a while under load).",
    ["pool"],
    multiprocess_mode="livesum",
)
IMPORT_JOBS = Counter(
    "netzone_import_jobs",
    "Import jobs that reached a state (queued, running, succeeded, failed).",
    ["state"],
)
IMPORT_JOBS_RUNNING = Gauge(
    "netzone_import_jobs_running",
    "Import jobs running now.",
    multiprocess_mode="livesum",
)
SCHEDULED_JOB_RUNS = Counter(
    "netzone_scheduled_job_runs",
    "Runs of the scheduled jobs (purge, check_emails), by outcome (ok, failed; elsewhere: "
    "another process of `serve --workers N` runs them): in `serve` on SQLite, "
    "in `netzone worker` on PostgreSQL.",
    ["job", "outcome"],
)
SCHEDULED_JOB_LAST_SUCCESS = Gauge(
    "netzone_scheduled_job_last_success_timestamp_seconds",
    "When a scheduled job last ran to the end (Unix time).",
    ["job"],
    multiprocess_mode="max",
)
SIP2_SESSIONS = Gauge(
    "netzone_sip2_sessions",
    "Open SIP2 connections.",
    multiprocess_mode="livesum",
)
SIP2_CONNECTIONS = Counter(
    "netzone_sip2_connections",
    "SIP2 connections accepted, or refused over a connection limit.",
    ["outcome"],
)
SIP2_MESSAGES = Counter(
    "netzone_sip2_messages",
    "SIP2 messages received, by command (`other`: not offered; `unreadable`: asked to resend).",
    ["command"],
)
SIP2_DURATION = Histogram(
    "netzone_sip2_message_duration_seconds",
    "Time to answer a SIP2 message, by command.",
    ["command"],
    buckets=LATENCY_BUCKETS,
)
LOGIN_FAILURES = Counter(
    "netzone_login_failures",
    "Password checks that failed, by channel (login: the GraphQL login; sip2_account: a "
    "SIP2 login; patron_pin: a patron's PIN) and reason (invalid_credentials, locked, "
    "too_many_attempts).",
    ["channel", "reason"],
)
LOCKOUTS = Counter(
    "netzone_lockouts",
    "Accounts (or unknown names) locked after too many failed password checks, by channel.",
    ["channel"],
)

CHANNELS = ("login", "sip2_account", "patron_pin")
LOGIN_FAILURE_REASONS = ("invalid_credentials", "locked", "too_many_attempts")
IMPORT_STATES = ("queued", "running", "succeeded", "failed")

# Series that exist from the start, at 0, so that rates and alerts see them.
for _channel in CHANNELS:
    LOCKOUTS.labels(_channel)
    for _reason in LOGIN_FAILURE_REASONS:
        LOGIN_FAILURES.labels(_channel, _reason)
for _state in IMPORT_STATES:
    IMPORT_JOBS.labels(_state)


def graphql_operation(fields: list[str], outcome: str, seconds: float) -> None:
    """One GraphQL operation ended: counted under each of its root fields."""
    for name in fields:
        GRAPHQL_REQUESTS.labels(name, outcome).inc()
        GRAPHQL_DURATION.labels(name).observe(seconds)


def login_failed(channel: str, reason: str) -> None:
    LOGIN_FAILURES.labels(channel, reason).inc()


def locked_out(channel: str) -> None:
    LOCKOUTS.labels(channel).inc()


def import_job(state: str) -> None:
    """An import job reached `state` (QUEUED, RUNNING, SUCCEEDED or FAILED)."""
    state = state.lower()
    IMPORT_JOBS.labels(state if state in IMPORT_STATES else OTHER).inc()


def watch_pool(engine: AsyncEngine, name: str) -> None:
    """Keep netzone_db_pool_* of this engine's pool up to date (pools without a fixed
    size, such as SQLite's in some set-ups, report what they can)."""
    pool: Any = engine.sync_engine.pool
    checked_out = DB_POOL_CHECKED_OUT.labels(name)
    if callable(getattr(pool, "size", None)):
        DB_POOL_SIZE.labels(name).set(pool.size())
    if not callable(getattr(pool, "checkedout", None)):
        return

    def on_checkout(*_: Any) -> None:
        checked_out.set(pool.checkedout())

    def on_checkin(*_: Any) -> None:
        # The connection goes back to the pool right after this event.
        checked_out.set(max(0, pool.checkedout() - 1))

    event.listen(pool, "checkout", on_checkout)
    event.listen(pool, "checkin", on_checkin)


def prepare_processes(workers: int) -> Path | None:
    """Before worker processes start: the directory they write their metrics to.

    PROMETHEUS_MULTIPROC_DIR as the operator set it (created if missing), or a new
    temporary directory removed at exit when several workers serve; None for one
    process without it (metrics in memory). Files of an earlier run are removed, as
    prometheus-client's multiprocess mode requires.
    """
    given = os.environ.get(MULTIPROC_ENV, "").strip()
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
        return path
    if workers <= 1:
        return None
    path = Path(tempfile.mkdtemp(prefix="netzone-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)  # the workers inherit it
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def exposition_registry() -> CollectorRegistry:
    """What the metrics port shows: every worker's files in multiprocess mode, else
    this process's metrics."""
    path = os.environ.get(MULTIPROC_ENV, "").strip()
    if not path:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    return registry


def process_ended() -> None:
    """A worker stops: its live gauges (pools, sessions, running imports) stop counting."""
    if os.environ.get(MULTIPROC_ENV, "").strip():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def start_metrics_server(host: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Serve /metrics (any path, in fact) on host:port from a thread of this process."""
    return start_http_server(port, addr=host, registry=exposition_registry())
