"""Schemathesis against /graphql: cases generated from the project's own schema, sent
through the real ASGI app in the test's own event loop (the database connection of the
rolled-back test transaction lives there).

Schemathesis (with hypothesis-graphql) builds each case: one root field of the schema
with generated arguments and a generated selection of its result. Hypothesis runs in a
worker thread (it drives a synchronous test function); every case is handed back to
the event loop to be sent with httpx, and judged there:

- no 5xx, and a JSON body;
- no INTERNAL_SERVER_ERROR (the masked form of an unexpected exception: each one is a
  defect to fix, even though nothing leaks);
- no unmasked internal detail anywhere in the body (Python exception text, SQL, driver
  names, tracebacks).

Runs are deterministic (derandomized, no example database written) so CI reproduces them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphql
import httpx
from hypothesis.configuration import set_hypothesis_home_dir

# Hypothesis keeps caches (Unicode tables, constants found in the source) in ./.hypothesis
# even without an example database, some of them as soon as schemathesis is imported: keep
# them out of the repository (pyproject.toml turns off schemathesis' pytest plugin, which
# would import it before this runs).
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "netzone-hypothesis")

import schemathesis  # noqa: E402
import schemathesis.graphql  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402
from schemathesis.graphql import nodes  # noqa: E402

from app.graphql.ids import encode_id  # noqa: E402

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"

# Text that means an internal detail reached the client: exception messages of Python,
# SQLAlchemy and the drivers, tracebacks, SQL.
LEAK = re.compile(
    r"Traceback|object has no attribute|unexpected keyword argument|positional argument"
    r"|is not subscriptable|not supported between instances|NoneType|sqlalchemy|asyncpg"
    r"|aiosqlite|sqlite3|psycopg|IntegrityError|OperationalError|DataError|ProgrammingError"
    r"|InterfaceError|StatementError|\bSELECT\b .* \bFROM\b|\bINSERT INTO\b|\bUPDATE\b \w+ SET"
    r"|invalid input syntax|violates .* constraint|out of range for type|RecursionError"
    r"|KeyError|ValueError|TypeError|AttributeError|RuntimeError|AssertionError"
)

INTERNAL_CODES = {"INTERNAL_SERVER_ERROR", "INTERNAL"}


@dataclass
class Finding:
    operation: str
    problem: str
    query: str
    response: str

    def __str__(self) -> str:
        return (
            f"{self.operation}: {self.problem}\n  query: {self.query[:600]}\n"
            f"  response: {self.response[:600]}"
        )


@dataclass
class FuzzRun:
    """What one fuzzing run sent and found."""

    sent: int = 0
    findings: list[Finding] = field(default_factory=list)
    # How the cases ended: "data", "user error <CODE>" (a payload error) or "<CODE>" (a
    # top-level error), per operation: shows how deep the generated cases got.
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)

    def distinct(self) -> list[Finding]:
        """One finding per (operation, problem): the same defect is reported once."""
        seen: dict[tuple[str, str], Finding] = {}
        for finding in self.findings:
            seen.setdefault((finding.operation, finding.problem), finding)
        return list(seen.values())


def judge(operation: str, query: str, response: httpx.Response) -> list[Finding]:
    """What is wrong with this response to a generated case (nothing, normally)."""

    def finding(problem: str) -> Finding:
        return Finding(operation, problem, query, response.text)

    found: list[Finding] = []
    if response.status_code >= 500:
        found.append(finding(f"HTTP {response.status_code}"))
    try:
        body = response.json()
    except ValueError:
        return [*found, finding("the body is not JSON")]
    leak = LEAK.search(response.text)
    if leak:
        found.append(finding(f"internal detail in the response: {leak.group(0)!r}"))
    errors = body.get("errors") if isinstance(body, dict) else None
    for error in errors or []:
        code = (error.get("extensions") or {}).get("code")
        if code in INTERNAL_CODES or error.get("message") == "Internal server error":
            path = ".".join(str(p) for p in error.get("path") or [])
            found.append(finding(f"{code} at {path or 'top level'}"))
    return found


def outcome(response: httpx.Response) -> str:
    """A short name for how a request ended."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        return str((errors[0].get("extensions") or {}).get("code"))
    data = body.get("data") if isinstance(body, dict) else None
    for value in (data or {}).values():
        if isinstance(value, dict) and value.get("errors"):
            codes = {e.get("code") for e in value["errors"] if isinstance(e, dict)}
            return "user error " + ",".join(sorted(str(c) for c in codes))
    return "data"


# ---------------------------------------------------------------- generated values


# Text that has broken services before: NUL bytes (PostgreSQL cannot store them), LIKE
# wildcards, quotes, lengths around the column limits, odd Unicode, dates that are not.
NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x01\x1f\x7f",
    "\t\r\n",
    "%",
    "_",
    "\\",
    "'",
    '"',
    "' OR '1'='1",
    "NULL",
    "-1",
    "0",
    "99999999999999999999",
    "2027-02-30",
    "0000-00-00",
    "9999-12-31T23:59:59+14:00",
    "\ufeff",
    "\u202e",
    "Ren\u00e9e \u0412\u0435\u0440\u0430 \U0001f600",
    "\u0301",
    "<script>",
    "../../etc/passwd",
    "x" * 41,
    "x" * 201,
    "x" * 1001,
    "x" * 100_000,
]


def _text() -> st.SearchStrategy[str]:
    # Any text, NUL bytes and other control characters included (lone surrogates are
    # not text a JSON body can carry), and the nasty samples above.
    return st.one_of(
        st.sampled_from(NASTY_TEXT),
        st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    )


def _json_value() -> st.SearchStrategy[graphql.ValueNode]:
    leaves = st.one_of(
        st.just(graphql.NullValueNode()),
        st.booleans().map(nodes.Boolean),
        st.integers(-(2**31), 2**31 - 1).map(nodes.Int),
        _text().map(nodes.String),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3).map(nodes.List),
            st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), inner, max_size=3).map(
                lambda d: nodes.Object(
                    [
                        graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v)
                        for k, v in d.items()
                    ]
                )
            ),
        ),
        max_leaves=6,
    )


def register_scalars(ids: Sequence[str], words: Sequence[str]) -> None:
    """Values for the custom scalars, and for ID and String: real ids and codes of the
    demo network some of the time (so cases reach past "not found"), anything else the
    rest of the time."""
    random_ids = st.one_of(
        _text(),
        st.builds(
            encode_id,
            st.sampled_from(["Patron", "Library", "Institution", "ImportJob", "Loan", "X"]),
            st.integers(-5, 2**40),
        ),
    )
    schemathesis.graphql.scalar(
        "ID", st.one_of(st.sampled_from(list(ids)), random_ids).map(nodes.String)
    )
    schemathesis.graphql.scalar(
        "String", st.one_of(st.sampled_from(list(words)), _text()).map(nodes.String)
    )
    schemathesis.graphql.scalar(
        "Date",
        st.one_of(
            st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(dt.date.isoformat),
            _text(),
        ).map(nodes.String),
    )
    schemathesis.graphql.scalar(
        "DateTime",
        st.one_of(
            st.datetimes(timezones=st.sampled_from([dt.UTC, None])).map(dt.datetime.isoformat),
            _text(),
        ).map(nodes.String),
    )
    schemathesis.graphql.scalar("JSON", _json_value())
    # A JSON body cannot carry a file: null, or a string that is no file.
    schemathesis.graphql.scalar(
        "Upload", st.one_of(st.just(graphql.NullValueNode()), _text().map(nodes.String))
    )


# ---------------------------------------------------------------- running


def load_schema() -> Any:
    """The project's own schema (schema/schema.graphql; tests/test_schema.py keeps it in
    step with the code)."""
    return schemathesis.graphql.from_path(SCHEMA_PATH)


def operations(schema: Any, *, exclude: Sequence[str] = ()) -> list[Any]:
    """Every root field of Query and Mutation as a schemathesis operation."""
    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label.split(".", 1)[1] not in exclude:
            found.append(operation)
    return found


def fuzz(
    loop: asyncio.AbstractEventLoop,
    operation: Any,
    send: Callable[[str], Awaitable[httpx.Response]],
    run: FuzzRun,
    *,
    examples: int,
    mode: GenerationMode,
    after: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Generate `examples` cases of one operation and send each (call from a worker thread)."""
    assert threading.current_thread() is not threading.main_thread() or not loop.is_running()
    strategy = operation.as_strategy(generation_mode=mode)

    @settings(
        max_examples=examples,
        derandomize=True,  # the same cases on every run: CI reproduces what it finds
        database=None,  # no example database (.hypothesis/) written into the repository
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # findings are collected, not shrunk
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        query = case.body if isinstance(case.body, str) else str(case.body)

        if os.environ.get("FUZZ_TRACE"):  # a file to follow a run case by case
            with open(os.environ["FUZZ_TRACE"], "a", encoding="utf-8") as trace:
                trace.write(f"--- {operation.label}\n{query}\n")

        async def one() -> None:
            response = await send(query)
            run.sent += 1
            run.findings.extend(judge(operation.label, query, response))
            run.outcomes[(operation.label, outcome(response))] += 1
            if after is not None:
                await after()

        asyncio.run_coroutine_threadsafe(one(), loop).result(timeout=120)

    check()
