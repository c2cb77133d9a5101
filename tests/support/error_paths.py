"""Every error a client sees, pinned: the `code` and `field` of each UserError and the
`code` and `column` of each import row error the suite produces, test by test.

An autouse fixture (imported by tests/conftest.py) records what each test's requests
return and compares it with error_paths.json beside this module, where the full suite
wrote it. A test listed there must produce exactly the same errors (as a sorted list; the
order is left to the tests themselves); a test not listed there is not checked. To write the file again
after a deliberate change of the API, run the whole suite with PIN_ERROR_PATHS=record.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.graphql.core import UserError
from app.graphql.ids import decode_id
from app.graphql.imports.types import ImportRowError

PINNED = Path(__file__).with_name("error_paths.json")
RECORD = os.environ.get("PIN_ERROR_PATHS") == "record"
# Tests whose inputs are generated: what they produce is checked by their own assertions.
UNPINNED = ("tests/reliability/test_fuzz.py",)

_seen: list[tuple[str, ...]] = []
_recorded: dict[str, list[list[str]]] = {}
_ran: set[str] = set()


def _pinned() -> dict[str, list[list[str]]]:
    if not PINNED.exists():
        return {}
    data: dict[str, list[list[str]]] = json.loads(PINNED.read_text())
    return data


_PINNED = _pinned()


def _code(value: Any) -> str:
    return str(getattr(value, "value", value))


def _wrap(cls: type, record: Any) -> Any:
    original = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        _seen.append(record(self))

    return original, __init__


def _without_pk(name: str) -> str:
    """A global id in a path stands for its type: primary keys depend on earlier tests."""
    found = decode_id(name)
    return f"<{found[0]} id>" if found is not None else name


def _user_error(error: Any) -> tuple[str, ...]:
    if error.field is None:
        return ("field", _code(error.code), "null")
    return ("field", _code(error.code), json.dumps([_without_pk(n) for n in error.field]))


def _row_error(error: Any) -> tuple[str, ...]:
    column = "null" if error.column is None else str(error.column)
    return ("column", _code(error.code), column)


@pytest.fixture(autouse=True)
def pinned_error_paths(request: pytest.FixtureRequest) -> Iterator[None]:
    node = request.node.nodeid
    if node.startswith(UNPINNED):
        yield
        return
    patches = [(UserError, _user_error), (ImportRowError, _row_error)]
    originals = []
    for cls, record in patches:
        original, wrapped = _wrap(cls, record)
        originals.append((cls, original))
        cls.__init__ = wrapped  # type: ignore[misc]
    _seen.clear()
    try:
        yield
    finally:
        for cls, original in originals:
            cls.__init__ = original  # type: ignore[misc]
    seen = sorted(list(entry) for entry in _seen)
    _seen.clear()
    if RECORD:
        _ran.add(node)
        if seen:
            _recorded[node] = seen
        return
    if node in _PINNED and seen != _PINNED[node]:
        pytest.fail(
            f"The errors this test produces changed.\n pinned: {_PINNED[node]}\n now:    {seen}",
            pytrace=False,
        )


def write_recorded() -> None:
    """Write what the run recorded (at the end of a run with PIN_ERROR_PATHS=record); the
    entries of tests that did not run stay as they were."""
    if not RECORD:
        return
    kept = {node: errors for node, errors in _PINNED.items() if node not in _ran}
    pinned = dict(sorted({**kept, **_recorded}.items()))
    PINNED.write_text(
        "{\n"
        + ",\n".join(f"{json.dumps(node)}: {json.dumps(errors)}" for node, errors in pinned.items())
        + "\n}\n"
    )
