"""How fast the attribute discrepancy reports are at 10k, 100k and 1M patrons.

    .venv/bin/python -m bench.attribute_reports \\
        --url postgresql://postgres@127.0.0.1:5432/netzone_bench

For each size the database is generated again (bench.generate; `--reuse` keeps one
already generated for that size), then both reports of the KANOPY_LANSING type
(MISSING_IN_SCOPE and PRESENT_OUT_OF_SCOPE) are timed through the service layer
(`app.attributes.service.discrepancies`, first page of 100 rows, and
`count_discrepancies`, the connection's totalCount) as a LIBRARIAN logged in at
LANSING, each call in its own session as a request would. The baseline, measured in
the same process on the same data and engine, interleaved with the reports, is an
indexed point lookup of one NEKLS patron by barcode. The table gives median and p95
of the runs, the ratio of each median to the baseline's median, and the median time
spent in SQL statements (sent to all rows received; the rest is Python: SQLAlchemy,
the ORM objects, the service's own work).

At the largest size the main query of each call (the one the service sent last) is
shown with EXPLAIN (ANALYZE, BUFFERS), as the custom plan PostgreSQL makes for the
first five executions of a prepared statement and as the generic plan it may use
from the sixth; each plan is summarised by how many patron rows or index entries it
reads, and a read of most of the patron table (a sequential scan, or a walk of
pk_patron that filters out most rows) is flagged as a FULL SCAN.

`--proposed` times bench/proposed.py (covering indexes, a page query that finds the
discrepancies before ordering them, custom plans) in place of the service functions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import re
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.attributes import service
from app.auth.policy import Actor
from app.auth.roles import SystemGroup
from app.db import create_engine, create_session_factory
from app.demo.seed import KANOPY
from app.network.models import Institution, Library
from app.patrons.models import Patron, PatronIdentifier
from app.settings import Settings
from bench import generate as gen
from bench import proposed

KINDS = ("MISSING_IN_SCOPE", "PRESENT_OUT_OF_SCOPE")
PAGE = 100
BASELINE = "baseline: barcode lookup"


@dataclass(frozen=True)
class Options:
    url: str
    sizes: list[int]
    runs: int = 20
    warmup: int = 3
    reuse: bool = False
    explain_all: bool = False
    plan_cache_mode: str | None = None
    proposed_indexes: bool = False
    proposed_query: bool = False
    discrepancy_rate: float = 0.05


@dataclass
class Measure:
    size: int
    name: str
    rows: int
    statements: int
    times: list[float] = field(default_factory=list)
    sql_times: list[float] = field(default_factory=list)

    @property
    def sql_median_ms(self) -> float:
        return statistics.median(self.sql_times) * 1000

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.times)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000


class StatementLog:
    """The SQL statements an engine sends while capturing is on, and the time spent in
    them (from sending a statement to having all its rows)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.capturing = False
        self.statements: list[tuple[str, Any]] = []
        self.sql_seconds = 0.0
        self._started = 0.0
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if self.capturing:
            self.statements.append((statement, params))
        self._started = time.perf_counter()

    def _after(self, *_: Any) -> None:
        self.sql_seconds += time.perf_counter() - self._started

    async def run(self, call: Callable[[], Awaitable[Any]]) -> tuple[Any, list[tuple[str, Any]]]:
        self.statements = []
        self.capturing = True
        try:
            result = await call()
        finally:
            self.capturing = False
        return result, self.statements


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    factor = 1
    if text.endswith("k"):
        factor, text = 1_000, text[:-1]
    elif text.endswith("m"):
        factor, text = 1_000_000, text[:-1]
    return int(float(text) * factor)


def label(size: int) -> str:
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size >= 1_000 and size % 1_000 == 0:
        return f"{size // 1_000}k"
    return str(size)


async def prepare(options: Options, size: int) -> float | None:
    """Generate the data for this size (unless reusable); returns generation seconds."""
    url, rate = options.url, options.discrepancy_rate
    if options.reuse and await gen.read_marker(url) == gen.marker_for(size, discrepancy_rate=rate):
        print(f"Reusing {gen.database_name(url)} ({size:,} patrons)")
        return None
    result = await gen.generate(url, size, discrepancy_rate=rate)
    return result.seconds


async def set_proposed_indexes(url: str, wanted: bool) -> None:
    """Create the proposed indexes, or drop them if an earlier run left them."""
    conn = await asyncpg.connect(gen.asyncpg_dsn(url))
    try:
        changed = False
        for name, definition in proposed.PROPOSED_INDEXES.items():
            present = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", name)
            if wanted and not present:
                await conn.execute("SET maintenance_work_mem = '256MB'")
                await conn.execute(definition)
                changed = True
            elif present and not wanted:
                await conn.execute(f"DROP INDEX {name}")
                changed = True
        if changed:
            await conn.execute("VACUUM (ANALYZE) patron")
    finally:
        await conn.close()


def _use_plan_cache_mode(engine: AsyncEngine, mode: str) -> None:
    """Every pooled connection of the engine runs with this plan_cache_mode."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # On the driver connection itself: a SET through the DB-API adapter would run in
        # the adapter's transaction and be undone by the pool's rollback.
        dbapi_connection.run_async(lambda conn: conn.execute(f"SET plan_cache_mode = {mode}"))

    event.listen(engine.sync_engine, "connect", on_connect)


async def measure_size(
    options: Options, size: int, explain: bool
) -> tuple[list[Measure], list[str]]:
    settings = Settings(DATABASE_URL=gen.app_url(options.url))  # type: ignore[call-arg]
    engine = create_engine(settings)
    if options.plan_cache_mode:
        _use_plan_cache_mode(engine, options.plan_cache_mode)
    factory: async_sessionmaker[AsyncSession] = create_session_factory(engine)
    log = StatementLog(engine)
    page_of = proposed.discrepancies if options.proposed_query else service.discrepancies
    count_of = (
        proposed.count_discrepancies if options.proposed_query else service.count_discrepancies
    )
    try:
        async with factory() as session:
            nekls = (
                await session.execute(select(Institution).where(Institution.code == "NEKLS"))
            ).scalar_one()
            lansing = (
                await session.execute(select(Library).where(Library.code == "LANSING"))
            ).scalar_one()
            barcodes = list(
                (
                    await session.execute(
                        select(PatronIdentifier.value_key)
                        .where(
                            PatronIdentifier.institution_id == nekls.id,
                            PatronIdentifier.value_key.like("2100%"),
                        )
                        .order_by(PatronIdentifier.id)
                    )
                ).scalars()
            )
        actor = Actor(
            kind="staff",
            name="bench",
            institution_id=nekls.id,
            library_id=lansing.id,
            groups=frozenset({SystemGroup.LIBRARIAN}),
        )
        rng = random.Random(size)
        sample = rng.sample(barcodes, min(len(barcodes), 1000))

        async def lookup() -> int:
            barcode = sample[rng.randrange(len(sample))]
            async with factory() as session:
                patron = (
                    await session.execute(
                        select(Patron)
                        .join(PatronIdentifier, PatronIdentifier.patron_id == Patron.id)
                        .where(
                            PatronIdentifier.value_key == barcode,
                            PatronIdentifier.institution_id == nekls.id,
                        )
                    )
                ).scalar_one()
                return 1 if patron.id else 0

        def page(kind: str) -> Callable[[], Awaitable[int]]:
            async def call() -> int:
                async with factory() as session:
                    rows, _ = await page_of(
                        session=session,
                        actor=actor,
                        type_code=KANOPY.code,
                        kind=kind,
                        first=PAGE,
                        after_id=None,
                    )
                    return len(rows)

            return call

        def count(kind: str) -> Callable[[], Awaitable[int]]:
            async def call() -> int:
                async with factory() as session:
                    return await count_of(
                        session=session, actor=actor, type_code=KANOPY.code, kind=kind
                    )

            return call

        calls: dict[str, Callable[[], Awaitable[int]]] = {BASELINE: lookup}
        for kind in KINDS:
            calls[f"{kind} page of {PAGE}"] = page(kind)
            calls[f"{kind} totalCount"] = count(kind)

        measures: dict[str, Measure] = {}
        captured: dict[str, list[tuple[str, Any]]] = {}
        for name, call in calls.items():
            found, statements = await log.run(call)
            measures[name] = Measure(size, name, found, len(statements))
            captured[name] = statements
        if measures[BASELINE].rows != 1:
            raise SystemExit("The baseline lookup found no patron: is the data generated?")
        for _ in range(options.warmup):
            for call in calls.values():
                await call()
        # Interleaved, so that noise from the machine falls on every measure alike.
        for _ in range(options.runs):
            for name, call in calls.items():
                log.sql_seconds = 0.0
                started = time.perf_counter()
                await call()
                measures[name].times.append(time.perf_counter() - started)
                measures[name].sql_times.append(log.sql_seconds)

        plans: list[str] = []
        if explain:
            plans = await explain_reports(options.url, captured)
        return list(measures.values()), plans
    finally:
        await engine.dispose()


async def explain_reports(url: str, captured: dict[str, list[tuple[str, Any]]]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the main (last) statement of each call, as the custom
    and as the generic plan (asyncpg prepares each statement once per pooled connection,
    and from the sixth execution PostgreSQL may switch to the generic plan)."""
    out: list[str] = []
    conn = await asyncpg.connect(gen.asyncpg_dsn(url))
    try:
        table_rows = int(
            await conn.fetchval("SELECT reltuples FROM pg_class WHERE relname = 'patron'")
        )
        for name, statements in captured.items():
            statement, params = statements[-1]
            args = ", ".join(_literal(v) for v in params or ())
            execute = f"EXECUTE bench_report({args})" if args else "EXECUTE bench_report"
            out.append(f"=== {name}\n{_inline(statement, params)}\n")
            for mode in ("force_custom_plan", "force_generic_plan"):
                await conn.execute(f"SET plan_cache_mode = {mode}")
                await conn.execute(f"PREPARE bench_report AS {statement}")
                try:
                    shape = json.loads(
                        await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {execute}")
                    )[0]
                    rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {execute}")
                finally:
                    await conn.execute("DEALLOCATE bench_report")
                plan = "\n".join(row[0] for row in rows)
                kind = "custom" if mode == "force_custom_plan" else "generic"
                took = re.search(r"Execution Time: ([\d.]+) ms", plan)
                summary = summarise(shape["Plan"], table_rows)
                out.append(
                    f"--- {kind} plan, {took.group(1) if took else '?'} ms: {summary}\n{plan}\n"
                )
            await conn.execute("RESET plan_cache_mode")
    finally:
        await conn.close()
    return out


def summarise(plan: dict[str, Any], table_rows: int) -> str:
    """How much of patron a plan reads, from its scans of the patron table and indexes."""
    read = 0
    scans: list[str] = []
    sequential: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        nonlocal read
        relation = node.get("Relation Name")
        if node["Node Type"] == "Seq Scan" and relation:
            sequential.add(relation)
        if relation == "patron":
            loops = node.get("Actual Loops", 1)
            rows = (
                node.get("Actual Rows", 0)
                + node.get("Rows Removed by Filter", 0)
                + node.get("Rows Removed by Index Recheck", 0)
            ) * loops
            # An index scan by primary key probed once per outer row reads 1 row a loop.
            read += int(rows)
            where = node.get("Index Name") or "heap"
            scans.append(f"{node['Node Type']} {where}: {int(rows):,}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    share = read / table_rows if table_rows else 0.0
    verdict = "FULL SCAN of patron" if share > 0.5 else "bounded"
    seq = f"; seq scans: {', '.join(sorted(sequential))}" if sequential else ""
    return (
        f"{verdict}, reads {read:,} patron rows/entries ({share:.1%} of {table_rows:,})"
        f" [{'; '.join(scans)}]{seq}"
    )


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _inline(statement: str, params: Any) -> str:
    """The statement with its parameters written in, for reading."""
    values = list(params or ())

    def value(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return _literal(values[index]) if index < len(values) else match.group(0)

    text = re.sub(r"\$(\d+)(::\w+(?:\[\])?)?", value, statement)
    text = re.sub(r"\s+", " ", text).strip()
    # The long column list of SELECT patron.* says nothing about the plan.
    return re.sub(
        r"SELECT patron\.id, patron\.institution_id, .*? FROM patron ",
        "SELECT patron.* FROM patron ",
        text,
    )


def print_table(measures: list[Measure], baselines: dict[int, float]) -> None:
    header = (
        f"{'size':>6}  {'measure':<36} {'rows':>7} {'SQL':>4} "
        f"{'median ms':>10} {'p95 ms':>9} {'x baseline':>11} {'in SQL ms':>10}"
    )
    print(header)
    print("-" * len(header))
    for m in measures:
        ratio = m.median_ms / baselines[m.size]
        print(
            f"{label(m.size):>6}  {m.name:<36} {m.rows:>7,} {m.statements:>4} "
            f"{m.median_ms:>10.2f} {m.p95_ms:>9.2f} {ratio:>10.1f}x {m.sql_median_ms:>10.2f}"
        )


async def run(options: Options) -> None:
    all_measures: list[Measure] = []
    baselines: dict[int, float] = {}
    generation: dict[int, float | None] = {}
    all_plans: dict[int, list[str]] = {}
    largest = max(options.sizes)
    for size in options.sizes:
        generation[size] = await prepare(options, size)
        await set_proposed_indexes(options.url, options.proposed_indexes)
        print(
            f"Timing {label(size)}: {options.runs} runs after {options.warmup} warm-up runs ...",
            flush=True,
        )
        measures, plans = await measure_size(options, size, options.explain_all or size == largest)
        baselines[size] = measures[0].median_ms
        all_measures += measures
        all_plans[size] = plans
    print()
    print(
        f"Attribute discrepancy reports, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{options.runs} runs each"
    )
    print(
        f"  code: {'bench/proposed.py' if options.proposed_query else 'app.attributes.service'}"
        f"; proposed indexes: {'yes' if options.proposed_indexes else 'no'}"
        f"; plan_cache_mode: {options.plan_cache_mode or 'server default'}"
        f"; discrepancy rate: {options.discrepancy_rate}"
    )
    for size, seconds in generation.items():
        if seconds is not None:
            print(f"  generated {size:>9,} patrons in {seconds:6.1f} s")
    print()
    print_table(all_measures, baselines)
    for size, plans in all_plans.items():
        if plans:
            print()
            print(f"Plans at {label(size)} patrons")
            for plan in plans:
                print(plan)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="postgresql://user@host:port/database")
    parser.add_argument("--sizes", default="10k,100k,1M", help="comma-separated, e.g. 10k,1M")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--reuse", action="store_true", help="keep a database already generated for the size"
    )
    parser.add_argument("--explain-all", action="store_true", help="plans at every size")
    parser.add_argument(
        "--discrepancy-rate",
        type=float,
        default=0.05,
        help="generator's share of patrons in each discrepancy state (see bench.generate)",
    )
    parser.add_argument(
        "--plan-cache-mode",
        choices=["auto", "force_custom_plan", "force_generic_plan"],
        help="run the app's engine with this PostgreSQL plan_cache_mode (default: server's)",
    )
    parser.add_argument(
        "--proposed-indexes", action="store_true", help="create bench/proposed.py's indexes"
    )
    parser.add_argument(
        "--proposed-query", action="store_true", help="time bench/proposed.py's queries"
    )
    parser.add_argument(
        "--proposed", action="store_true", help="both: the whole change bench/proposed.py makes"
    )
    args = parser.parse_args(argv)
    options = Options(
        url=args.url,
        sizes=[parse_size(s) for s in args.sizes.split(",") if s.strip()],
        runs=args.runs,
        warmup=args.warmup,
        reuse=args.reuse,
        explain_all=args.explain_all,
        plan_cache_mode=args.plan_cache_mode,
        proposed_indexes=args.proposed or args.proposed_indexes,
        proposed_query=args.proposed or args.proposed_query,
        discrepancy_rate=args.discrepancy_rate,
    )
    asyncio.run(run(options))


if __name__ == "__main__":
    main()
