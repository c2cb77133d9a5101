"""The `netzone worker` command."""

from __future__ import annotations

import asyncio
import os
import signal

import typer

from app.cli_errors import Problem
from app.settings import get_settings
from app.worker.runner import WorkerError, check_database, run_worker


def worker(
    metrics_port: int | None = typer.Option(
        None, help="Serve this process's /metrics on this port (NETZONE_METRICS_HOST)."
    ),
) -> None:
    """Run queued and scheduled jobs (PostgreSQL); run one or more beside `serve`."""
    from app.observability import logs, metrics

    settings = get_settings()
    try:
        check_database(settings)
    except WorkerError as error:
        raise _problem(error) from None
    logs.configure_logging(settings)
    if settings.worker_nice and hasattr(os, "nice"):
        os.nice(settings.worker_nice)  # requests first; the worker's jobs may wait
    if metrics_port is not None:
        metrics.start_metrics_server(settings.metrics_host, metrics_port)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_worker(settings, stop=stop)

    try:
        asyncio.run(main())
    except WorkerError as error:
        raise _problem(error) from None


def _problem(error: WorkerError) -> Problem:
    first, *rest = error.args
    return Problem(f"Error: {first}", *rest)
