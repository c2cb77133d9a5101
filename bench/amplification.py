"""What the heaviest query the limits let through does to everyone else.

    .venv/bin/python -m bench.amplification --url postgresql://postgres@127.0.0.1:5432/bench_pl

The attack of the hardening issue: aliases of a page of 100 patrons, each asking for
the per-patron relations `consortialAccounts`, `linkedAccounts`, `alerts` and
`linkedFrom`. Thirty aliases (4 KB) are refused before they run; five are the most
the cost rule lets through. This benchmark sends those five aliases again and again on
one connection while a second connection sends the point lookup of bench.point_lookup
one request at a time, and compares the point lookup's latency with the same lookups
sent alone, in interleaved rounds on the same server (uvicorn, 1 worker, the real app)
and data. It prints p50 and p99 of each and their ratio (the issue's bar: at most 3x),
and how long the heavy query and the refusal of the 30-alias one take.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Sequence

import orjson

from bench import point_lookup as pl

PER_PATRON = (
    "consortialAccounts { ref } linkedAccounts { linkedAt } alerts { code } linkedFrom { ref }"
)


def attack(aliases: int) -> str:
    page = (
        f'patrons(institution: "{pl.INSTITUTION}", first: 100) '
        f"{{ edges {{ node {{ {PER_PATRON} }} }} }}"
    )
    return "{ " + " ".join(f"a{i}: {page}" for i in range(aliases)) + " }"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def measure_size(url: str, size: int, *, rounds: int, lookups: int) -> None:
    patrons = await pl.sample_patrons(url, 200)
    async with pl.Server(url) as server:
        token = await server.login(*pl.STAFF)
        desk = await pl.Connection.open(server.port)
        heavy_conn = await pl.Connection.open(server.port)

        async def lookup(barcode: str) -> float:
            raw = pl.http_post(
                "/graphql", {"query": pl.SEARCH_QUERY, "variables": {"barcode": barcode}}, token
            )
            t0 = time.perf_counter()
            status, body = await desk.request(raw)
            elapsed = time.perf_counter() - t0
            if status != 200 or not orjson.loads(body)["data"]["patrons"]["edges"]:
                raise RuntimeError(f"point lookup of {barcode}: {status} {body[:200]!r}")
            return elapsed

        async def heavy(aliases: int) -> tuple[float, dict]:
            raw = pl.http_post("/graphql", {"query": attack(aliases)}, token)
            t0 = time.perf_counter()
            status, body = await heavy_conn.request(raw)
            return time.perf_counter() - t0, orjson.loads(body)

        refused_time, refused = await heavy(30)
        codes = [e["extensions"]["code"] for e in refused.get("errors", [])]
        if codes != ["QUERY_TOO_COSTLY"]:
            raise RuntimeError(f"30 aliases were not refused: {str(refused)[:300]}")
        heavy_times: list[float] = []
        seconds, answer = await heavy(5)
        if answer.get("errors"):
            raise RuntimeError(f"5 aliases failed: {answer['errors']}")
        alone: list[float] = []
        during: list[float] = []
        for _ in range(rounds):
            for n in range(lookups):
                alone.append(await lookup(patrons[n % len(patrons)][0]))
            stop = asyncio.Event()

            async def keep_busy(stop: asyncio.Event) -> None:
                while not stop.is_set():
                    took, answer = await heavy(5)
                    if answer.get("errors"):
                        raise RuntimeError(f"5 aliases failed: {answer['errors']}")
                    heavy_times.append(took)

            busy = asyncio.create_task(keep_busy(stop))
            await asyncio.sleep(0.05)
            for n in range(lookups):
                during.append(await lookup(patrons[n % len(patrons)][0]))
            stop.set()
            await busy
        await desk.close()
        await heavy_conn.close()
    base50, base99 = pct(alone, 0.5), pct(alone, 0.99)
    print()
    print(f"{pl.label(size)} patrons: the point lookup alone and beside the heaviest allowed query")
    print(f"  30 aliases refused (QUERY_TOO_COSTLY) in {refused_time * 1000:.1f} ms")
    print(
        f"  5 aliases ({len(heavy_times)} runs): p50 {pct(heavy_times, 0.5):.0f} ms, "
        f"p99 {pct(heavy_times, 0.99):.0f} ms"
    )
    print(f"  {'measure':<28} {'runs':>5} {'p50 ms':>8} {'p99 ms':>8} {'p50 x':>7} {'p99 x':>7}")
    for name, values in (("point lookup alone", alone), ("point lookup beside", during)):
        p50, p99 = pct(values, 0.5), pct(values, 0.99)
        print(
            f"  {name:<28} {len(values):>5} {p50:>8.2f} {p99:>8.2f} "
            f"{p50 / base50:>6.2f}x {p99 / base99:>6.2f}x"
        )


async def run(args: argparse.Namespace) -> None:
    for size in [pl.parse_size(s) for s in args.sizes.split(",") if s.strip()]:
        url = pl.size_url(args.url, size)
        await pl.prepare(url, size, args.reuse)
        await measure_size(url, size, rounds=args.rounds, lookups=args.lookups)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    pl.add_arguments(parser)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per size")
    parser.add_argument("--lookups", type=int, default=100, help="lookups per round and side")
    args = parser.parse_args(argv)
    asyncio.run(run(args))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
