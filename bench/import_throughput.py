"""CSV import throughput: the real importer against a raw COPY of the same file.

    python -m bench.import_throughput \\
        --url postgresql://postgres@127.0.0.1:5432/netzone_bench_import --sizes 1k,10k,100k

For each size:

1. A CSV of N NORTHFIELD students is streamed to a file (the format of
   `shared/data/northfield-students.csv`: unique admin_system_id, barcode and username,
   names and e-mails, NORTHFIELD-MAIN, STUDENT, a cohort and a form class; no passwords,
   whose hashing is deliberately slow).
2. The database is dropped and created again (only an empty one or one a bench module
   made), migrated with `app.migrate.upgrade` and seeded with `app.demo.seed.seed_demo`
   (`--seed-patrons` generated patrons per institution).
3. Baseline: asyncpg `copy_to_table` of the file into a staging table of text columns
   without constraints (median of 3), rows/s.
4. The import, in a child process of its own: `app.imports.service.create_job` and
   `run_job` as `system_actor()`, mode UPSERT, match ADMIN_SYSTEM_ID, committed. Rows/s,
   the ratio to the COPY, and the child's peak RSS (VmHWM), next to its RSS just before
   the import started (interpreter, app and engine loaded) so that the growth is plain.

At the largest size a dry run (same file, fresh database) is timed too. `--profile 2k`
adds a profile: SQL statements per row by kind (an SQLAlchemy `before_cursor_execute`
listener), time inside SQL, and the top functions under cProfile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import csv
import io
import json
import pstats
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event

from app.demo.names import GIVEN_NAMES, SURNAMES
from app.demo.seed import seed_demo
from app.migrate import upgrade
from bench import generate as gen
from bench import import_floor
from bench.attribute_reports import label, parse_size

COLUMNS = [
    "admin_system_id",
    "username",
    "barcode",
    "given_name",
    "middle_name",
    "preferred_name",
    "surname",
    "primary_email",
    "contact_emails",
    "phone",
    "enabled",
    "staff_member",
    "generic_user",
    "cohort",
    "form_class",
    "home_library",
    "user_group",
    "expiry_date",
    "library_groups",
    "system_groups",
]
INSTITUTION = "NORTHFIELD"
STAGING = "bench_import_staging"
COPY_RUNS = 3


# --- the file ------------------------------------------------------------------------


def _ascii(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def write_csv(path: Path, rows: int, seed: int = 1) -> None:
    """N valid NORTHFIELD students, streamed to path (no passwords)."""
    rng = random.Random(f"bench-import-{seed}")
    year = datetime.now(UTC).year
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(COLUMNS)
        for n in range(rows):
            given, surname = rng.choice(GIVEN_NAMES), rng.choice(SURNAMES)
            middle = rng.choice(GIVEN_NAMES) if rng.random() < 0.3 else ""
            grade = rng.randint(7, 12)
            user = f"{_ascii(given)}.{_ascii(surname)}.{n}"
            out.writerow(
                [
                    f"NFB{n:08d}",
                    user,
                    f"29{n:09d}",
                    given,
                    middle,
                    "",
                    surname,
                    f"{user}@northfield.example.edu",
                    # (another domain in every other file: each row of it changes)
                    f"parent.{_ascii(surname)}.{n}@{'example.org' if seed == 1 else 'example.net'}",
                    "",
                    "true",
                    "false",
                    "false",
                    str(year + 13 - grade),
                    f"{grade}{rng.choice('ABC')}",
                    "NORTHFIELD-MAIN",
                    "STUDENT",
                    f"{year + 1}-12-31",
                    "",
                    "LIBRARY_USERS",
                ]
            )


# --- the database --------------------------------------------------------------------


async def prepare_database(url: str, seed_patrons: int) -> float:
    """Fresh database: migrated, demo network seeded; returns the seconds it took."""
    from app.db import create_engine, create_session_factory
    from app.settings import Settings

    started = time.perf_counter()
    await gen.recreate_database(url)
    admin = await asyncpg.connect(gen.asyncpg_dsn(url, "postgres"))
    try:
        name = gen.database_name(url).replace('"', '""')
        await admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{gen.MARKER} import'")
    finally:
        await admin.close()
    await asyncio.to_thread(upgrade, gen.app_url(url))
    settings = Settings(DATABASE_URL=gen.app_url(url))  # type: ignore[call-arg]
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            await seed_demo(session, settings, patrons_per_institution=seed_patrons)
            await session.commit()
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(gen.asyncpg_dsn(url))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def copy_baseline(url: str, path: Path) -> float:
    """Median seconds of a raw COPY of the file into a text-column table (no constraints)."""
    conn = await asyncpg.connect(gen.asyncpg_dsn(url))
    times: list[float] = []
    try:
        columns = ", ".join(f'"{c}" text' for c in COLUMNS)
        await conn.execute(f"DROP TABLE IF EXISTS {STAGING}")
        await conn.execute(f"CREATE TABLE {STAGING} ({columns})")
        for _ in range(COPY_RUNS):
            await conn.execute(f"TRUNCATE {STAGING}")
            started = time.perf_counter()
            await conn.copy_to_table(STAGING, source=str(path), format="csv", header=True)
            times.append(time.perf_counter() - started)
        await conn.execute(f"DROP TABLE {STAGING}")
    finally:
        await conn.close()
    return sorted(times)[len(times) // 2]


# --- the child: one import -----------------------------------------------------------


def _status_kb(name: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def _cpu_seconds() -> float:
    """CPU time of this process so far (user + system, every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _kind(statement: str) -> str:
    """A statement summarised: its verb and main table."""
    text = " ".join(statement.split())
    verb = text.split(" ", 1)[0].upper()
    if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT"):
        return verb
    pattern = {
        "SELECT": r" FROM (\w+)",
        "INSERT": r"INSERT INTO (\w+)",
        "UPDATE": r"UPDATE (\w+)",
        "DELETE": r"DELETE FROM (\w+)",
    }.get(verb)
    found = re.search(pattern, text) if pattern else None
    return f"{verb} {found.group(1) if found else ''}".strip()


async def child_import(args: argparse.Namespace) -> dict[str, Any]:
    from app.auth.policy import system_actor
    from app.db import Database, create_engine
    from app.imports import service
    from app.settings import Settings

    settings = Settings(DATABASE_URL=gen.app_url(args.url))  # type: ignore[call-arg]
    database = Database(create_engine(settings))
    statements: Counter[str] = Counter()
    sql = {"seconds": 0.0, "started": 0.0}
    if args.count_sql:

        def before(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
            statements[_kind(statement)] += 1
            sql["started"] = time.perf_counter()

        def after(*_: Any) -> None:
            sql["seconds"] += time.perf_counter() - sql["started"]

        event.listen(database.engine.sync_engine, "before_cursor_execute", before)
        event.listen(database.engine.sync_engine, "after_cursor_execute", after)
    path = Path(args.file)
    actor = system_actor("bench")
    options = service.ImportOptions(
        institution=INSTITUTION, match_on="ADMIN_SYSTEM_ID", mode="UPSERT", dry_run=args.dry_run
    )
    profiler = cProfile.Profile() if args.cprofile else None
    rss_before = _status_kb("VmRSS")
    cpu_before = _cpu_seconds()
    errors: list[str] = []
    try:
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        async with database.session() as session:
            job = await service.create_job(
                session=session, actor=actor, path=path, filename=path.name, options=options
            )
        queued = time.perf_counter()
        assert job.id is not None
        samples: list[tuple[int, float, int]] = []

        def progress(done: int, _total: int | None) -> None:
            samples.append((done, time.perf_counter() - queued, _status_kb("VmRSS")))

        task = asyncio.create_task(
            service.run_job(
                database=database,
                settings=settings,
                actor=actor,
                job_id=job.id,
                path=path,
                progress=progress,
            )
        )
        stopped = False
        try:
            job = await asyncio.wait_for(asyncio.shield(task), args.time_limit or None)
        except TimeoutError:
            stopped = True  # cancelled: the job ends FAILED and its transaction rolls back
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            async with database.session() as session:
                job = await session.get(service.ImportJob, job.id)  # type: ignore[assignment]
            assert job is not None
        finished = time.perf_counter()
        if profiler:
            profiler.disable()
        if job.status != "SUCCEEDED" and not stopped:
            async with database.session() as session:
                found = await service.row_errors(
                    session=session,
                    job_id=job.id,  # type: ignore[arg-type]
                    first=5,
                    after_id=None,
                )
                errors = [f"line {e.line} {e.column}: {e.code}: {e.message}" for e in found]
    finally:
        await database.engine.dispose()
    result: dict[str, Any] = {
        "status": job.status,
        "message": job.message,
        "errors": errors,
        "created": job.created,
        "updated": job.updated,
        "unchanged": job.unchanged,
        "failed": job.failed,
        "create_job_s": queued - started,
        "run_job_s": finished - queued,
        "total_s": finished - started,
        "rss_before_kb": rss_before,
        "peak_rss_kb": _status_kb("VmHWM"),
        "cpu_s": _cpu_seconds() - cpu_before,
        "stopped": stopped,
        "processed": job.processed_rows,
        "samples": samples,
        "statements": dict(statements),
        "sql_s": sql["seconds"],
    }
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("tottime").print_stats(args.cprofile)
        stats.sort_stats("cumulative").print_stats(args.cprofile)
        result["cprofile"] = out.getvalue()
    return result


def run_child(
    url: str,
    path: Path,
    *,
    dry_run: bool = False,
    count_sql: bool = False,
    cprofile: int = 0,
    time_limit: float = 0,
) -> dict[str, Any]:
    """One import in a child process of its own (its peak RSS is its alone)."""
    command = [sys.executable, "-m", "bench.import_throughput", "--url", url, "--child", str(path)]
    if time_limit:
        command += ["--time-limit", str(time_limit)]
    if dry_run:
        command.append("--dry-run")
    if count_sql:
        command.append("--count-sql")
    if cprofile:
        command += ["--cprofile", str(cprofile)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"import child failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["status"] != "SUCCEEDED" and not result["stopped"]:
        raise SystemExit(f"import did not succeed: {result['message']} {result['errors']}")
    return result


# --- the parent ----------------------------------------------------------------------


@dataclass
class Row:
    size: int
    kind: str
    result: dict[str, Any]
    copy_s: float

    @property
    def done(self) -> int:
        return int(self.result["processed"])

    @property
    def import_rate(self) -> float:
        return self.done / float(self.result["total_s"])

    @property
    def copy_rate(self) -> float:
        return self.size / self.copy_s


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'size':>6}  {'run':<8} {'rows done':>10} {'import s':>9} {'rows/s import':>14} "
        f"{'rows/s COPY':>12} {'COPY/import':>12} {'RSS before MB':>14} "
        f"{'at 500 rows':>12} {'peak RSS MB':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        before, peak = r.result["rss_before_kb"] / 1024, r.result["peak_rss_kb"] / 1024
        samples = r.result["samples"]
        first = samples[0][2] / 1024 if samples else float("nan")
        stopped = " (stopped)" if r.result["stopped"] else ""
        print(
            f"{label(r.size):>6}  {r.kind:<8} {r.done:>10,} {r.result['total_s']:>9.1f} "
            f"{r.import_rate:>14,.0f} {r.copy_rate:>12,.0f} "
            f"{r.copy_rate / r.import_rate:>11,.0f}x {before:>14.1f} {first:>12.1f} "
            f"{peak:>12.1f}{stopped}"
        )
    print()
    print("RSS (MB) and rows/s over the import, every ~10% of it (rows done: RSS, rate since)")
    for r in rows:
        samples = r.result["samples"]
        step = max(1, len(samples) // 10)
        picked = samples[step - 1 :: step]
        if samples and picked[-1] != samples[-1]:
            picked.append(samples[-1])
        parts, last_rows, last_t = [], 0, 0.0
        for done, elapsed, rss in picked:
            rate = (done - last_rows) / (elapsed - last_t) if elapsed > last_t else 0.0
            parts.append(f"{done:,}: {rss / 1024:.0f} MB {rate:.0f}/s")
            last_rows, last_t = done, elapsed
        print(f"  {label(r.size):>5} {r.kind:<8} " + "; ".join(parts))


def print_profile(size: int, counted: dict[str, Any], profiled: dict[str, Any]) -> None:
    statements: dict[str, int] = counted["statements"]
    total = sum(statements.values())
    print()
    print(
        f"Profile of a {label(size)}-row import (committed): {total:,} SQL statements, "
        f"{total / size:.1f} per row; {counted['total_s']:.1f} s wall, "
        f"{counted['sql_s']:.1f} s inside SQL statements "
        f"({counted['sql_s'] / counted['total_s']:.0%}), the rest Python"
    )
    for kind, count in sorted(statements.items(), key=lambda kv: -kv[1]):
        if count >= size // 20:
            print(f"  {count / size:6.2f} per row  {count:>8,}  {kind}")
    print()
    print(f"cProfile (wall {profiled['total_s']:.1f} s under the profiler):")
    print(profiled["cprofile"])


async def _replay(
    url: str, seed_patrons: int, dumps: list[import_floor.Dump]
) -> tuple[float, dict[str, float]]:
    """One replay of the import's rows into a database made again as before the import."""
    await prepare_database(url, seed_patrons)
    return await import_floor.replay(url, dumps)


Floor = tuple[int, list[import_floor.Dump], float, dict[str, float], float, float]


def print_floors(floors: list[Floor]) -> None:
    print()
    print(
        "Write floor: the rows a committed import wrote, COPY'd back (binary, one "
        "transaction, every index and constraint) into the database as it was before it"
    )
    for size, dumps, replayed, per_table, copy_s, import_s in floors:
        tables = ", ".join(f"{d.table} {d.rows:,} ({per_table[d.table]:.2f} s)" for d in dumps)
        print(
            f"  {label(size)}: {replayed:.2f} s (median of 3) = {replayed / copy_s:.0f}x the raw "
            f"COPY ({copy_s:.3f} s), {copy_s / replayed:.3f}x as a ratio; the import took "
            f"{import_s / replayed:.1f}x the floor.\n    Rows (seconds of COPY): {tables}; "
            f"commit {replayed - sum(per_table.values()):.2f} s"
        )


def _say(result: dict[str, Any]) -> None:
    print(
        f"  {result['processed']:,} rows in {result['total_s']:.1f} s"
        f"{' (stopped at the time limit)' if result['stopped'] else ''}"
        f" (create_job {result['create_job_s']:.1f} s), "
        f"peak RSS {result['peak_rss_kb'] / 1024:.1f} MB",
        flush=True,
    )


async def measure(options: argparse.Namespace) -> None:
    sizes = [parse_size(s) for s in options.sizes.split(",") if s.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="netzone-bench-import-"))
    rows: list[Row] = []
    facts: list[str] = []
    profile: tuple[int, dict[str, Any], dict[str, Any]] | None = None
    floors: list[Floor] = []
    try:
        runs = [(size, False) for size in sizes]
        if options.dry_run_largest and sizes:
            runs.append((max(sizes), True))
        for size, dry_run in runs:
            path = workdir / f"northfield-{size}.csv"
            if not path.exists():
                t0 = time.perf_counter()
                write_csv(path, size)
                facts.append(
                    f"  {label(size)}: file {path.stat().st_size / 1e6:.1f} MB, "
                    f"written in {time.perf_counter() - t0:.1f} s"
                )
            seeded = await prepare_database(options.url, options.seed_patrons)
            copy_s = await copy_baseline(options.url, path)
            kind = "dry run" if dry_run else "commit"
            print(
                f"{label(size)} {kind}: database ready in {seeded:.1f} s; "
                f"COPY {copy_s:.3f} s; importing ...",
                flush=True,
            )
            marks = await import_floor.mark(options.url) if options.write_floor else {}
            result = run_child(options.url, path, dry_run=dry_run, time_limit=options.time_limit)
            if result["created"] != size and not result["stopped"]:
                raise SystemExit(f"expected {size} created: {result}")
            rows.append(Row(size, kind, result, copy_s))
            _say(result)
            dumps = []
            if marks and not dry_run and not result["stopped"]:
                dumps = await import_floor.dump_new(options.url, marks)
            if options.reimport and not dry_run and not result["stopped"]:
                # The same file again into the database it was imported into: every row
                # is found, compared and left alone (the daily feed of a school).
                print(f"{label(size)} re-import: importing the same file again ...", flush=True)
                again = run_child(
                    options.url,
                    path,
                    time_limit=options.time_limit,
                    cprofile=options.top if options.cprofile_run == "re-import" else 0,
                )
                if again["unchanged"] != size and not again["stopped"]:
                    raise SystemExit(f"expected {size} unchanged: {again}")
                rows.append(Row(size, "re-import", again, copy_s))
                _say(again)
                if options.cprofile_run == "re-import":
                    print(again["cprofile"])
            if options.update and not dry_run and not result["stopped"]:
                # Another file of the same students (same keys; new names, usernames,
                # e-mails and form classes): every row is found and changed (a school's
                # start-of-year feed).
                changed = workdir / f"northfield-{size}-changed.csv"
                if not changed.exists():
                    write_csv(changed, size, seed=2)
                print(f"{label(size)} update: importing a changed file ...", flush=True)
                updated = run_child(
                    options.url,
                    changed,
                    time_limit=options.time_limit,
                    count_sql=options.update_profile,
                    cprofile=options.top if options.cprofile_run == "update" else 0,
                )
                if updated["updated"] != size and not updated["stopped"]:
                    raise SystemExit(f"expected {size} updated: {updated}")
                rows.append(Row(size, "update", updated, copy_s))
                _say(updated)
                if options.update_profile:
                    statements = updated["statements"]
                    print(f"  update statements per row (SQL {updated['sql_s']:.1f} s):")
                    for kind, count in sorted(statements.items(), key=lambda kv: -kv[1]):
                        print(f"    {count / size:6.2f}  {kind}")
                if options.cprofile_run == "update":
                    print(updated["cprofile"])
            if dumps:
                # The same rows COPY'd into the database as it was before the import.
                replays = sorted(
                    [await _replay(options.url, options.seed_patrons, dumps) for _ in range(3)],
                    key=lambda r: r[0],
                )
                replayed, per_table = replays[1]
                floors.append((size, dumps, replayed, per_table, copy_s, float(result["total_s"])))
                print(f"{label(size)} write floor: {replayed:.2f} s", flush=True)
        if options.profile:
            size = parse_size(options.profile)
            path = workdir / f"northfield-profile-{size}.csv"
            write_csv(path, size)
            print(f"profile at {label(size)}: statements ...", flush=True)
            await prepare_database(options.url, options.seed_patrons)
            counted = run_child(options.url, path, count_sql=True)
            print(f"profile at {label(size)}: cProfile ...", flush=True)
            await prepare_database(options.url, options.seed_patrons)
            profiled = run_child(options.url, path, cprofile=options.top)
            profile = (size, counted, profiled)
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir)
    print()
    print(f"CSV import of NORTHFIELD students, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(
        "  mode UPSERT, match ADMIN_SYSTEM_ID, as system_actor(); commit and dry run: every "
        "row is created; re-import: the same file again, every row found and unchanged; "
        "update: a file of the same students with other names, usernames, e-mails and "
        "classes, every row found and changed"
    )
    print("\n".join(facts))
    print()
    print_table(rows)
    if floors:
        print_floors(floors)
    if profile:
        print_profile(*profile)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--url", required=True, help="postgresql://user@host:port/database")
    parser.add_argument("--sizes", default="1k,10k,100k", help="comma-separated, e.g. 1k,10k")
    parser.add_argument("--seed-patrons", type=int, default=20, help="seed_demo patrons each")
    parser.add_argument(
        "--no-dry-run",
        dest="dry_run_largest",
        action="store_false",
        help="skip the dry run at the largest size",
    )
    parser.add_argument(
        "--no-reimport",
        dest="reimport",
        action="store_false",
        help="skip importing each committed file a second time (every row unchanged)",
    )
    parser.add_argument(
        "--no-update",
        dest="update",
        action="store_false",
        help="skip importing, after each committed file, a file that changes every row",
    )
    parser.add_argument(
        "--update-profile",
        action="store_true",
        help="count the update import's SQL statements per row (adds a little to its time)",
    )
    parser.add_argument(
        "--cprofile-run",
        choices=("re-import", "update"),
        default="",
        help="run that import under cProfile and print the profile",
    )
    parser.add_argument(
        "--write-floor",
        action="store_true",
        help="after each committed import, COPY the rows it wrote back into the database "
        "as it was before it, and report that time (the database's share)",
    )
    parser.add_argument("--profile", default="", help="also profile an import of this size")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=0,
        help="stop an import after this many seconds (cancelled: rolled back) and report "
        "the rows it got through (default: no limit)",
    )
    parser.add_argument("--top", type=int, default=25, help="cProfile functions to list")
    # One import in a child process (run_child): not for direct use.
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--dry-run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--count-sql", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cprofile", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.file = args.child
        print(json.dumps(asyncio.run(child_import(args))))
        return
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
