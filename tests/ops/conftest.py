"""Fixtures of the operations tests; the documents, drivers and checks they share are in
tests/support/ops.py."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from app.observability import logs
from app.observability.metrics import start_metrics_server
from tests.support.ops import (
    LogLines,
    Metrics,
)


@pytest.fixture(scope="session")
def metrics_url() -> Iterator[str]:
    """This process's metrics, served as `serve` serves them on NETZONE_METRICS_PORT."""
    server, thread = start_metrics_server("127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.server_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def metrics(metrics_url: str) -> Metrics:
    return Metrics(metrics_url)


@pytest.fixture
def json_log(caplog: pytest.LogCaptureFixture) -> Iterator[LogLines]:
    """netzone's log lines in the JSON format, as production writes them."""
    stream = io.StringIO()
    handler = logs.handler("json", stream)
    target = logging.getLogger("netzone")
    caplog.set_level(logging.INFO, logger="netzone")
    target.addHandler(handler)
    try:
        yield LogLines(stream)
    finally:
        target.removeHandler(handler)
