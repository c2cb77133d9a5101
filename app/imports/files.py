"""Reading an import file: UTF-8 CSV (RFC 4180, strict), streamed record by record, and
its header checked against the known columns."""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from app.errors import DomainError, ErrorCode
from app.imports.columns import check_header


class FileProblem(Exception):
    """The file cannot be read as UTF-8 CSV from this line on."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def text_lines(raw: IO[bytes]) -> Iterator[str]:
    """The file's lines as text (BOM dropped); FileProblem names the first line not UTF-8."""
    for number, line in enumerate(raw, start=1):
        if number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FileProblem(
                number,
                f"Line {number} is not UTF-8 text (byte {exc.start + 1}); save the file as UTF-8.",
            ) from exc


def records(raw: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, cells) of each non-blank record (RFC 4180, strict)."""
    reader = csv.reader(text_lines(raw), strict=True)
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            detail = str(exc)
            if detail == "unexpected end of data":
                detail = "a quoted cell is never closed"
            raise FileProblem(
                line, f"The record starting on line {line} is not valid CSV: {detail}."
            ) from exc
        start, line = line, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        yield start, cells


def file_error(message: str) -> DomainError:
    return DomainError.of(ErrorCode.INVALID_INPUT, message, ["file"])


def read_header(path: Path) -> list[str]:
    """The checked columns of a file; DomainError for unknown columns, bad encoding or no header."""
    try:
        with path.open("rb") as raw:
            first = next(records(raw), None)
    except FileProblem as problem:
        raise file_error(problem.message) from problem
    if first is None:
        raise file_error("The file is empty: it needs a header row.")
    try:
        return check_header(first[1])
    except ValueError as exc:
        raise file_error(str(exc)) from exc


def file_facts(path: Path) -> tuple[str, int]:
    """SHA-256 of the file and its number of data rows (both streamed).

    Raises FileProblem where the file stops being UTF-8 CSV.
    """
    rows = 0
    with path.open("rb") as raw:
        for _ in records(raw):
            rows += 1
    return content_hash(path), max(rows - 1, 0)


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        for chunk in iter(lambda: raw.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
