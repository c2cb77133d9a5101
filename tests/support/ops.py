"""What operators see: the metrics port (a real one, on 127.0.0.1) and the log lines."""

from __future__ import annotations

import io
from typing import Any

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


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
