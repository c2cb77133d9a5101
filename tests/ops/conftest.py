"""Fixtures of the operations tests; the documents, drivers and checks they share are in
tests/support/ops.py."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from app.observability import logs
from tests.support.ops import LogLines


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
