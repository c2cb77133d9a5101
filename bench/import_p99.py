"""Point-lookup latency while an import runs through the API and `netzone worker`.

    .venv/bin/python -m bench.import_p99 --url postgresql://postgres@127.0.0.1:5432/bench_p99 \\
        --rows 100000

The network is bench.generate's (`--patrons`, 10k by default; `--reuse` keeps one made
for that size). Two processes run on it: the netzone server as bench.point_lookup runs
it (uvicorn, 1 process, production settings, scheduled jobs off) and one `netzone
worker` (scheduled jobs off). The import file is bench.import_throughput's: `--rows`
valid NORTHFIELD students, all new.

The load is the point lookup of bench.point_lookup (LOOKUP_QUERY, a random NEKLS barcode
per request, as lansing.librarian) sent open-loop at `--rate` requests/s over up to
`--connections` keep-alive connections, each request timed from the moment it was due
(so a stalled server counts the wait of the requests queued behind it). In the same run:

- idle: `--idle-seconds` of lookups with nothing else running (after a warm-up);
- upload: northfield.admin sends the file to importPatrons (multipart, through the
  API); the server checks it (header, UTF-8 CSV, row count, SHA-256), stores it with
  the job and answers QUEUED;
- import: from that answer until the job has ended, the worker imports the rows.

Printed per phase: seconds, lookups, p50 and p99 (ms) and p99 / idle p99; the server's
and the worker's CPU seconds in the phase; the job's outcome and rows/s. The goal
(issue 14): p99 during the import <= 2 x idle p99.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench import generate as gen
from bench import import_throughput
from bench.attribute_reports import parse_size
from bench.point_lookup import (
    LOOKUP_QUERY,
    STAFF,
    Connection,
    Process,
    Server,
    cpu_seconds,
    http_post,
    sample_patrons,
)

IMPORTER = ("northfield.admin", "NORTHFIELD-MAIN")
IMPORT = (
    "mutation($input: ImportPatronsInput!) { importPatrons(input: $input) { "
    "job { id status totalRows } errors { code message } } }"
)
JOB = (
    "query($id: ID!) { node(id: $id) { ... on ImportJob { status processedRows totalRows "
    "created failed message } } }"
)


class Worker(Process):
    """`netzone worker` on the benchmark's database (scheduled jobs off)."""

    name = "netzone worker"

    def __init__(self, url: str, log_dir: Path | None = None) -> None:
        super().__init__(log_dir)
        self.url = url

    def command(self) -> tuple[list[str], dict[str, str]]:
        env = {**os.environ, "DATABASE_URL": gen.app_url(self.url)}
        env |= {"NETZONE_SCHEDULED_JOBS": "false", "NETZONE_ENVIRONMENT": "production"}
        return [str(Path(sys.executable).with_name("netzone")), "worker"], env

    async def ready(self) -> bool:
        await asyncio.sleep(1)  # it has connected and listens, or it has exited
        return True


@dataclass
class Load:
    """Open-loop lookups: (due time, latency in s, answered with the patron)."""

    port: int
    requests: list[bytes]
    rate: float
    connections: int
    samples: list[tuple[float, float, bool]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        idle: asyncio.Queue[Connection] = asyncio.Queue()
        for _ in range(self.connections):
            idle.put_nowait(await Connection.open(self.port))
        pending: set[asyncio.Task[None]] = set()
        due = time.perf_counter()
        while not self.stop.is_set():
            task = asyncio.create_task(self._one(idle, due, random.choice(self.requests)))
            pending.add(task)
            task.add_done_callback(pending.discard)
            due += 1 / self.rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        await asyncio.gather(*pending)
        while not idle.empty():
            await idle.get_nowait().close()

    async def _one(self, idle: asyncio.Queue[Connection], due: float, raw: bytes) -> None:
        conn = await idle.get()
        try:
            status, body = await conn.request(raw)
        finally:
            idle.put_nowait(conn)
        found = status == 200 and b'"errors"' not in body and b'"edges":[]' not in body
        self.samples.append((due, time.perf_counter() - due, found))

    def window(self, start: float, end: float) -> list[tuple[float, bool]]:
        return [(latency, ok) for due, latency, ok in self.samples if start <= due < end]


@dataclass
class Phase:
    name: str
    start: float
    end: float
    server_cpu: float
    worker_cpu: float


def percentiles(latencies: Sequence[float]) -> tuple[float, float]:
    """p50 and p99 in ms."""
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


async def upload(port: int, token: str, path: Path) -> str:
    """importPatrons with the file, as a frontend sends it (multipart); the job's id.

    curl sends it, in a process of its own: building and sending 21 MB in this process
    would hold up the load's own loop, and the lookups due meanwhile would count that
    wait as the server's."""
    operations = {
        "query": IMPORT,
        "variables": {
            "input": {
                "institution": "NORTHFIELD",
                "file": None,
                "matchOn": "ADMIN_SYSTEM_ID",
                "mode": "UPSERT",
                "dryRun": False,
            }
        },
    }
    curl = await asyncio.create_subprocess_exec(
        "curl",
        "--silent",
        "--show-error",
        "--fail-with-body",
        "-H",
        f"authorization: Bearer {token}",
        "--form-string",
        f"operations={orjson.dumps(operations).decode()}",
        "--form-string",
        'map={"0": ["variables.input.file"]}',
        "-F",
        f"0=@{path};type=text/csv",
        f"http://127.0.0.1:{port}/graphql",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await curl.communicate()
    if curl.returncode != 0:
        raise RuntimeError(f"the upload failed: {err.decode() or out.decode()}")
    body = orjson.loads(out)
    payload = body.get("data", {}) and body["data"]["importPatrons"]
    if not payload or payload["errors"] or payload["job"] is None:
        raise RuntimeError(f"the import was refused: {body}")
    return str(payload["job"]["id"])


async def wait_for_job(server: Server, token: str, job_id: str) -> dict[str, Any]:
    while True:
        node: dict[str, Any] = (await server.graphql(JOB, {"id": job_id}, token))["node"]
        if node["status"] not in ("QUEUED", "RUNNING"):
            return node
        await asyncio.sleep(0.5)


async def measure(args: argparse.Namespace) -> None:
    patrons = parse_size(args.patrons)
    if args.reuse and await gen.read_marker(args.url) == gen.marker_for(patrons):
        print(f"Reusing {gen.database_name(args.url)} ({patrons:,} patrons)", flush=True)
    else:
        result = await gen.generate(args.url, patrons, quiet=True)
        print(
            f"Generated {gen.database_name(args.url)}: {patrons:,} patrons "
            f"in {result.seconds:.1f} s",
            flush=True,
        )
    barcodes = [barcode for barcode, _ in await sample_patrons(args.url)]
    directory = Path(tempfile.mkdtemp(prefix="netzone-bench-p99-"))
    path = directory / "students.csv"
    rows = parse_size(args.rows)
    import_throughput.write_csv(path, rows, seed=random.randrange(1 << 30))
    print(f"Import file: {rows:,} rows, {path.stat().st_size / 1e6:.1f} MB", flush=True)
    try:
        async with Server(args.url, directory) as server, Worker(args.url, directory) as worker:
            staff = await server.login(*STAFF)
            importer = await server.login(*IMPORTER)
            requests = [
                http_post("/graphql", {"query": LOOKUP_QUERY, "variables": {"barcode": b}}, staff)
                for b in barcodes
            ]
            load = Load(server.port, requests, args.rate, args.connections)
            running = asyncio.create_task(load.run())
            phases: list[Phase] = []

            def cpu() -> tuple[float, float, float]:
                return time.perf_counter(), cpu_seconds(server.pid), cpu_seconds(worker.pid)

            try:
                await asyncio.sleep(args.warmup)
                t0, s0, w0 = cpu()
                await asyncio.sleep(args.idle_seconds)
                t1, s1, w1 = cpu()
                phases.append(Phase("idle", t0, t1, s1 - s0, w1 - w0))
                job_id = await upload(server.port, importer, path)
                t2, s2, w2 = cpu()
                phases.append(Phase("upload", t1, t2, s2 - s1, w2 - w1))
                final = await wait_for_job(server, importer, job_id)
                t3, s3, w3 = cpu()
                phases.append(Phase("import", t2, t3, s3 - s2, w3 - w2))
            finally:
                load.stop.set()
                await running
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    report(load, phases, final, rows)


def report(load: Load, phases: list[Phase], final: dict[str, Any], rows: int) -> None:
    print()
    print(
        f"{'phase':<8} {'s':>7} {'lookups':>8} {'failed':>6} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'p99/idle':>8} {'server CPU s':>12} {'worker CPU s':>12}"
    )
    idle_p99 = None
    for phase in phases:
        window = load.window(phase.start, phase.end)
        latencies = [latency for latency, _ in window]
        failed = sum(1 for _, ok in window if not ok)
        if len(latencies) < 2:
            print(f"{phase.name:<8} {phase.end - phase.start:7.1f} (too few lookups)")
            continue
        p50, p99 = percentiles(latencies)
        idle_p99 = idle_p99 or p99
        print(
            f"{phase.name:<8} {phase.end - phase.start:7.1f} {len(latencies):8d} {failed:6d} "
            f"{p50:8.2f} {p99:8.2f} {p99 / idle_p99:8.2f} {phase.server_cpu:12.1f} "
            f"{phase.worker_cpu:12.1f}"
        )
    seconds = phases[-1].end - phases[-1].start
    print(
        f"\nThe job: {final['status']}, {final['processedRows']:,} of {final['totalRows']:,} "
        f"rows, {final['created']:,} created, {final['failed']:,} failed "
        f"({rows / seconds:,.0f} rows/s from QUEUED to the end); {final['message'] or ''}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/bench_p99")
    parser.add_argument("--patrons", default="10k", help="the network's size (bench.generate)")
    parser.add_argument("--rows", default="100k", help="rows of the import file")
    parser.add_argument("--rate", type=float, default=50, help="lookups per second")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep a network of that size")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(measure(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
