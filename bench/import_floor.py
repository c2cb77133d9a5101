"""The database's share of an import: the rows an import wrote, COPY'd back in alone.

Used by `bench.import_throughput --write-floor`. After a committed import:

1. `mark` (taken before the import) holds the highest id of every table with one.
2. `dump_new` copies out, in binary, every row the import added: rows above the mark in
   tables with an id, rows of new patrons in tables keyed by patron (flags, groups,
   library access). The job's own bookkeeping (its row, its file, its row errors, the
   queue) is left out: a bulk loader keeps none.
3. The database is made again as before the import (`prepare_database`: same migration,
   same seed, so the same ids), and `replay` COPYs those rows back into the real tables
   in one transaction, in foreign-key order, with every index, constraint and foreign
   key in place, and commits.

The replay is the least PostgreSQL work any importer of this schema can do for the file:
the same rows, the same indexes and audit entries, with no reads, no checks and no
Python between the rows. Its time against the raw COPY of the CSV (into a text table
without constraints) says how much of the issue's ratio the schema itself takes.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import asyncpg

from bench import generate as gen

# The job's bookkeeping: not part of the rows a bulk loader writes.
LEFT_OUT = {"import_job", "import_file", "import_row_error"}


@dataclass
class Dump:
    table: str
    columns: list[str]
    data: bytes
    rows: int


def _tables() -> list[tuple[str, list[str]]]:
    import app.tables  # noqa: F401  (every table in the metadata)
    from app.db import metadata

    return [
        (t.name, [c.name for c in t.columns])
        for t in metadata.sorted_tables
        if t.name not in LEFT_OUT
    ]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def mark(url: str) -> dict[str, int]:
    """The highest id of every table that has one (0 when empty)."""
    conn = await asyncpg.connect(gen.asyncpg_dsn(url))
    try:
        marks: dict[str, int] = {}
        for name, columns in _tables():
            if "id" in columns:
                top = await conn.fetchval(f"SELECT max(id) FROM {_quoted(name)}")
                marks[name] = int(top or 0)
        return marks
    finally:
        await conn.close()


async def dump_new(url: str, marks: dict[str, int]) -> list[Dump]:
    """Every row added since `marks`, per table in foreign-key order (binary COPY)."""
    conn = await asyncpg.connect(gen.asyncpg_dsn(url))
    dumps: list[Dump] = []
    try:
        for name, columns in _tables():
            if "id" in columns:
                where, arg = "id > $1", marks[name]
            elif "patron_id" in columns:
                where, arg = "patron_id > $1", marks["patron"]
            else:
                continue
            count = int(
                await conn.fetchval(f"SELECT count(*) FROM {_quoted(name)} WHERE {where}", arg)
            )
            if not count:
                continue
            out = io.BytesIO()
            listed = ", ".join(_quoted(c) for c in columns)
            await conn.copy_from_query(
                f"SELECT {listed} FROM {_quoted(name)} WHERE {where} ORDER BY 1",
                arg,
                output=out,
                format="binary",
            )
            dumps.append(Dump(name, columns, out.getvalue(), count))
        return dumps
    finally:
        await conn.close()


async def replay(url: str, dumps: list[Dump]) -> tuple[float, dict[str, float]]:
    """Seconds to COPY the dumped rows back in and commit (one transaction), and the
    seconds of each table's COPY."""
    conn = await asyncpg.connect(gen.asyncpg_dsn(url))
    per_table: dict[str, float] = {}
    try:
        started = time.perf_counter()
        async with conn.transaction():
            for dump in dumps:
                began = time.perf_counter()
                await conn.copy_to_table(
                    dump.table,
                    source=io.BytesIO(dump.data),
                    columns=dump.columns,
                    format="binary",
                )
                per_table[dump.table] = time.perf_counter() - began
        return time.perf_counter() - started, per_table
    finally:
        await conn.close()
