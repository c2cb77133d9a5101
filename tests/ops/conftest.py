"""What operators see: the metrics port (a real one, on 127.0.0.1) and the log lines."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.observability import logs
from app.observability.metrics import start_metrics_server

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


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


class Metrics:
    def __init__(self, url: str) -> None:
        self.url = url
        self.text = ""

    async def scrape(self) -> Samples:
        async with httpx.AsyncClient() as http:
            response = await http.get(self.url)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        self.text = response.text
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(self.text)
            for sample in family.samples
        }


@pytest.fixture
def metrics(metrics_url: str) -> Metrics:
    return Metrics(metrics_url)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


class LogLines:
    """The JSON lines netzone's loggers wrote during a test."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.text.splitlines() if line.strip()]

    def access(self, request_id: str) -> dict[str, Any]:
        [line] = [
            line
            for line in self.lines()
            if line["logger"] == "netzone.access" and line.get("request_id") == request_id
        ]
        return line


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
