"""The GraphQL examples of README.md and docs/, read the way docs/contributing.md describes.

A ```graphql block is an example. Right after it (only blank lines between) may come a
paragraph `Variables: `{...}`` (or `Variables:` and a ```json block), then a ```json
block with the answer the page shows. An HTML comment `<!-- example: ... -->` right
before the block says who runs it and what to keep from its answer; the same comment
right before a `Variables:` paragraph runs the page's previous operation again (or the
one it names with `run=`).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent.parent
ELLIPSIS = "…"
DEFAULT_LOGIN = "lansing.librarian@LANSING"

COMMENT = re.compile(r"<!--\s*example:(.*?)-->", re.DOTALL)
OPERATION_NAME = re.compile(r"^(?:query|mutation)\s+(\w+)", re.MULTILINE)
INLINE_VARIABLES = re.compile(r"^Variables:\s*`(\{.*\})`", re.DOTALL)


def documentation_pages() -> list[Path]:
    """README.md and every page under docs/, in a stable order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@dataclass
class Example:
    """One operation of a page, with who runs it and the answer it should give."""

    page: str
    line: int
    query: str
    variables: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    login: str | None = DEFAULT_LOGIN
    bearer: str | None = None
    saves: dict[str, str] = field(default_factory=dict)
    uploads: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


@dataclass
class _Record:
    kind: str  # "fence", "comment" or "para"
    line: int
    text: str
    lang: str = ""


def _records(text: str) -> list[_Record]:
    lines = text.splitlines()
    records: list[_Record] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            marker = "`" * (len(stripped) - len(stripped.lstrip("`")))
            lang = stripped[len(marker) :].strip()
            start = i
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i].strip() != marker:
                body.append(lines[i])
                i += 1
            records.append(_Record("fence", start + 1, "\n".join(body) + "\n", lang))
            i += 1
        elif stripped.startswith("<!-- example:"):
            start = i
            chunk = [line]
            while "-->" not in lines[i] and i + 1 < len(lines):
                i += 1
                chunk.append(lines[i])
            records.append(_Record("comment", start + 1, "\n".join(chunk)))
            i += 1
        elif not stripped:
            i += 1
        else:
            start = i
            chunk = []
            while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith("```"):
                chunk.append(lines[i])
                i += 1
            records.append(_Record("para", start + 1, "\n".join(chunk)))
    return records


def _options(comment: str, where: str) -> dict[str, Any]:
    match = COMMENT.search(comment)
    assert match, f"{where}: not an example comment"
    options: dict[str, Any] = {"saves": {}, "uploads": {}}
    for token in shlex.split(match.group(1)):
        key, _, value = token.partition("=")
        if key == "login":
            options["login"] = None if value == "none" else value
        elif key == "bearer":
            options["bearer"] = value
            options["login"] = None
        elif key == "save":
            name, _, path = value.partition(":")
            options["saves"][name] = path
        elif key == "run":
            options["run"] = value
        elif key == "upload":
            path, _, file = value.partition(":")
            options["uploads"][path] = file
        else:
            raise AssertionError(f"{where}: unknown example option {key!r}")
    return options


def _json(text: str, where: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise AssertionError(f"{where}: not JSON: {error}") from error


def read_examples(path: Path) -> list[Example]:
    """The examples of one page, in page order."""
    page = path.relative_to(ROOT).as_posix()
    records = _records(path.read_text(encoding="utf-8"))
    examples: list[Example] = []
    last_query: str | None = None
    named: dict[str, str] = {}
    i = 0
    while i < len(records):
        record = records[i]
        options: dict[str, Any] = {}
        if record.kind == "comment":
            options = _options(record.text, f"{page}:{record.line}")
            i += 1
            assert i < len(records), f"{page}:{record.line}: an example comment ends the page"
            record = records[i]
            is_rerun = record.kind == "para" and record.text.startswith("Variables:")
            assert (record.kind == "fence" and record.lang == "graphql") or is_rerun, (
                f"{page}:{record.line}: an example comment must come right before a "
                "```graphql block or a 'Variables:' paragraph"
            )
        if record.kind == "fence" and record.lang == "graphql":
            query = record.text
            last_query = query
            for name in OPERATION_NAME.findall(query):
                named[name] = query
            i += 1
        elif "run" in options:
            assert options["run"] in named, f"{page}:{record.line}: no operation {options['run']}"
            query = named[options["run"]]
        elif options:
            assert last_query is not None, f"{page}:{record.line}: no operation to run again"
            query = last_query
        else:
            i += 1
            continue
        example = Example(page=page, line=record.line, query=query)
        example.login = options.get("login", DEFAULT_LOGIN)
        example.bearer = options.get("bearer")
        example.saves = options.get("saves", {})
        example.uploads = options.get("uploads", {})
        where = example.where
        if i < len(records) and records[i].kind == "para":
            text = records[i].text
            inline = INLINE_VARIABLES.match(text)
            if inline:
                example.variables = _json(inline.group(1), where)
                i += 1
            elif text.strip() == "Variables:":
                i += 1
                follows = records[i].lang if i < len(records) else ""
                assert follows == "json", f"{where}: 'Variables:' must be followed by a json block"
                example.variables = _json(records[i].text, where)
                i += 1
        if i < len(records) and records[i].kind == "fence" and records[i].lang == "json":
            example.result = _json(records[i].text, where)
            i += 1
        examples.append(example)
    return examples


def documented_examples() -> dict[str, list[Example]]:
    """Every page's examples, by page."""
    return {
        path.relative_to(ROOT).as_posix(): read_examples(path) for path in documentation_pages()
    }


def substitute(value: Any, saved: dict[str, Any]) -> Any:
    """Strings "<name>" replaced by what an earlier example of the page saved as name."""
    if isinstance(value, str):
        match = re.fullmatch(r"<([\w-]+)>", value)
        if match and match.group(1) in saved:
            return saved[match.group(1)]
        return value
    if isinstance(value, list):
        return [substitute(item, saved) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, saved) for key, item in value.items()}
    return value


def substitute_query(query: str, saved: dict[str, Any]) -> str:
    """Strings "<name>" inside the operation's text replaced by a saved string (quoted)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in saved:
            return orjson.dumps(saved[name]).decode()
        return match.group(0)

    return re.sub(r'"<([\w-]+)>"', replace, query)


def pick(value: Any, path: str) -> Any:
    """The value at a dotted path (`data.patrons.edges.0.node.id`)."""
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def mismatches(shown: Any, actual: Any, path: str = "$") -> list[str]:
    """Where the answer differs from the one shown; "…" stands for any value (a string
    holding "…" for any text in its place), and a list ending in "…" may go on."""
    if shown == ELLIPSIS:
        return []
    if isinstance(shown, str) and ELLIPSIS in shown and isinstance(actual, str):
        pattern = ".*?".join(re.escape(part) for part in shown.split(ELLIPSIS))
        if re.fullmatch(pattern, actual, re.DOTALL):
            return []
        return [f"{path}: shown {shown!r}, got {actual!r}"]
    if isinstance(shown, dict) and isinstance(actual, dict):
        found: list[str] = []
        for key in sorted(set(shown) | set(actual)):
            if key not in actual:
                found.append(f"{path}.{key}: shown but not in the answer")
            elif key not in shown:
                found.append(f"{path}.{key}: in the answer but not shown ({actual[key]!r})")
            else:
                found.extend(mismatches(shown[key], actual[key], f"{path}.{key}"))
        return found
    if isinstance(shown, list) and isinstance(actual, list):
        open_ended = bool(shown) and shown[-1] == ELLIPSIS
        items = shown[:-1] if open_ended else shown
        if len(actual) < len(items) or (not open_ended and len(actual) != len(items)):
            return [f"{path}: shown {len(items)} item(s), got {len(actual)}: {actual!r}"]
        found = []
        for n, item in enumerate(items):
            found.extend(mismatches(item, actual[n], f"{path}.{n}"))
        return found
    if shown != actual:
        return [f"{path}: shown {shown!r}, got {actual!r}"]
    return []


def payload_errors(value: Any) -> list[Any]:
    """Non-empty `errors` lists anywhere in an answer's data."""
    found: list[Any] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "errors" and isinstance(item, list) and item:
                found.extend(item)
            else:
                found.extend(payload_errors(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(payload_errors(item))
    return found
