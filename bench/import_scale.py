"""CSV import into a brand-new network against the same import after VACUUM ANALYZE.

    python -m bench.import_scale \\
        --url postgresql://postgres@127.0.0.1:5432/imp_scale --sizes 10k,100k

For each size, one CSV of N NORTHFIELD students (bench.import_throughput.write_csv: unique
admin_system_id, barcode and username, two e-mail addresses, no passwords), then:

1. **fresh**: the database is dropped and made again, migrated and seeded with the demo
   network without generated patrons (`seed_demo(patrons_per_institution=0)`, what
   `netzone demo --patrons 0` does), and never analysed: the state of a network on its
   first day. The baseline is measured there first: an asyncpg `copy_to_table` of the
   same file into a scratch table of text columns without constraints (median of 3,
   dropped afterwards). Then the import, in a child process of its own: `create_job` +
   `run_job` as `system_actor()`, UPSERT on ADMIN_SYSTEM_ID, committed.
2. **analysed**: the same, on a database made the same way and then `VACUUM ANALYZE`d
   before the import (what bench.import_throughput measures).

Printed: seconds, rows/s, the import's rate as a fraction of the COPY's (COPY s / import
s), fresh / analysed, and the importing process's peak RSS (VmHWM) per run. The
database is dropped at the end (it must be new, or one a bench module made).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from app.demo.seed import seed_demo
from app.migrate import upgrade
from bench import generate as gen
from bench.attribute_reports import label, parse_size
from bench.import_throughput import copy_baseline, run_child, write_csv


async def prepare_database(url: str, *, analyse: bool) -> float:
    """A new database: migrated, the demo network without patrons; analysed or not."""
    from app.db import create_engine, create_session_factory
    from app.settings import Settings

    started = time.perf_counter()
    await gen.recreate_database(url)
    admin = await asyncpg.connect(gen.asyncpg_dsn(url, "postgres"))
    try:
        name = gen.database_name(url).replace('"', '""')
        await admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{gen.MARKER} import-scale'")
    finally:
        await admin.close()
    await asyncio.to_thread(upgrade, gen.app_url(url))
    settings = Settings(DATABASE_URL=gen.app_url(url))  # type: ignore[call-arg]
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            await seed_demo(session, settings, patrons_per_institution=0)
            await session.commit()
    finally:
        await engine.dispose()
    if analyse:
        conn = await asyncpg.connect(gen.asyncpg_dsn(url))
        try:
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()
    return time.perf_counter() - started


async def never_analysed(url: str) -> int:
    """How many of the patron tables have statistics (0 on a brand-new network)."""
    conn = await asyncpg.connect(gen.asyncpg_dsn(url))
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_user_tables WHERE relname LIKE 'patron%' "
            "AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)"
        )
        return count
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    name = gen.database_name(url).replace('"', '""')
    admin = await asyncpg.connect(gen.asyncpg_dsn(url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@dataclass
class Run:
    size: int
    kind: str
    copy_s: float
    result: dict[str, Any]

    @property
    def seconds(self) -> float:
        return float(self.result["total_s"])


async def measure(options: argparse.Namespace) -> list[Run]:
    sizes = [parse_size(s) for s in options.sizes.split(",") if s.strip()]
    kinds = [k.strip() for k in options.runs.split(",") if k.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="netzone-bench-import-scale-"))
    runs: list[Run] = []
    try:
        for size in sizes:
            path = workdir / f"northfield-{size}.csv"
            write_csv(path, size)
            copy_s = 0.0
            for kind in kinds:
                ready = await prepare_database(options.url, analyse=kind == "analysed")
                if kind == "fresh":
                    assert await never_analysed(options.url) == 0
                if not copy_s:
                    copy_s = await copy_baseline(options.url, path)
                print(
                    f"{label(size)} {kind}: database ready in {ready:.1f} s; "
                    f"COPY {copy_s:.3f} s; importing ...",
                    flush=True,
                )
                result = run_child(options.url, path, time_limit=options.time_limit)
                if result["created"] != size and not result["stopped"]:
                    raise SystemExit(f"expected {size} created: {result}")
                run = Run(size, kind, copy_s, result)
                runs.append(run)
                print(
                    f"  {result['processed']:,} rows in {run.seconds:.1f} s"
                    f"{' (stopped at the time limit)' if result['stopped'] else ''}, "
                    f"peak RSS {result['peak_rss_kb'] / 1024:.1f} MB",
                    flush=True,
                )
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir)
        if not options.keep:
            await drop_database(options.url)
    return runs


def report(runs: list[Run], command: str) -> None:
    print()
    print(f"CSV import of NORTHFIELD students, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"  {command}")
    header = (
        f"{'size':>6}  {'database':<9} {'rows':>10} {'COPY s':>7} {'import s':>9} "
        f"{'rows/s':>8} {'import/COPY':>12} {'fresh/analysed':>15} {'Python CPU s':>13} "
        f"{'peak RSS MB':>12}"
    )
    print(header)
    print("-" * len(header))
    analysed = {r.size: r.seconds for r in runs if r.kind == "analysed"}
    for r in runs:
        done = int(r.result["processed"])
        versus = (
            f"{r.seconds / analysed[r.size]:.2f}x"
            if r.kind == "fresh" and r.size in analysed
            else ""
        )
        stopped = " (stopped)" if r.result["stopped"] else ""
        print(
            f"{label(r.size):>6}  {r.kind:<9} {done:>10,} {r.copy_s:>7.3f} {r.seconds:>9.1f} "
            f"{done / r.seconds:>8,.0f} {r.copy_s / r.seconds * done / r.size:>11.4f}x "
            f"{versus:>15} {r.result.get('cpu_s', float('nan')):>13.1f} "
            f"{r.result['peak_rss_kb'] / 1024:>12.1f}{stopped}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--url",
        required=True,
        help="postgresql://user@host:port/NAME (dropped and made again for each run)",
    )
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated, e.g. 10k,100k,1M")
    parser.add_argument(
        "--runs", default="fresh,analysed", help="which databases: fresh, analysed or both"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=0,
        help="stop an import after this many seconds (rolled back) and report its rows",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    args = parser.parse_args(argv)
    command = "python -m bench.import_scale " + " ".join(argv or sys.argv[1:])
    report(asyncio.run(measure(args)), command)


if __name__ == "__main__":
    main()
