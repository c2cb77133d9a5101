"""Walk-in round trip over HTTP: networkPatronSearch then linkAccount, against the point lookup.

    .venv/bin/python -m bench.walk_in --url postgresql://postgres@127.0.0.1:5432/bench_pl

A NEKLS patron walks into Western University's library: western.librarian (logged in
at WESTERN-MAIN, a real staff login) finds the patron by barcode across the network
(`networkPatronSearch(input: {identifier})`, every other member searched, audited)
and links the account (`linkAccount(input: {sourcePatron: ref, reason: WALK_IN})`;
the rule "Public library patrons" makes a COMMUNITY copy). One round trip is both
requests, one after the other, on one keep-alive connection, as a librarian's desk
client would send them. Each walk-in takes a different random NEKLS patron that can
be found (HOME, enabled, not expired) and has no linked account yet.

The baseline, in the same run on the same server and data, interleaved with the
walk-ins (one point lookup after every walk-in): the point lookup of
bench.point_lookup, `patrons(institution: "NEKLS", filter: {search: <barcode>})`
as lansing.librarian, also one request at a time. It prints p50 and p99 of each, the
ratio of the walk-in's to the point lookup's, and the SQL statements each request
sends. Same server as bench.point_lookup (uvicorn, 1 worker, the real app) and the
same databases (NAME_10k, NAME_100k, NAME_1m). Every run adds linked accounts at
Western (`--runs` per size): the database stays valid for the other benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from bench import generate as gen
from bench import point_lookup as pl

WALK_IN_STAFF = ("western.librarian", "WESTERN-MAIN")
SEARCH = (
    "query Walk($id: String!) { networkPatronSearch(input: {identifier: $id}) { "
    "matches { ref institution { code } surname givenName expiryDate "
    "linkedAccount { id } } errors { code message } } }"
)
LINK = (
    "mutation Link($ref: ID!) { linkAccount(input: {sourcePatron: $ref, reason: WALK_IN}) "
    "{ created linkedAccount { id userGroup { code } expiryDate } errors { code message } } }"
)


async def walk_in_patrons(url: str, count: int) -> list[str]:
    """Barcodes of random NEKLS patrons network search finds, not linked anywhere yet."""
    conn = await asyncpg.connect(gen.asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            """
            SELECT i.value FROM patron p
              JOIN institution n ON n.id = p.institution_id AND n.code = $1
              JOIN patron_identifier i ON i.patron_id = p.id
              JOIN identifier_type t ON t.id = i.identifier_type_id AND t.code = 'BARCODE'
             WHERE NOT p.is_staff AND p.account_type = 'HOME' AND p.enabled
               AND (p.expiry_date IS NULL OR p.expiry_date >= current_date)
               AND (p.until IS NULL OR p.until >= current_date)
               AND NOT EXISTS (SELECT 1 FROM patron c WHERE c.link_source_patron_id = p.id)
             ORDER BY random() LIMIT $2
            """,
            pl.INSTITUTION,
            count,
        )
    finally:
        await conn.close()
    return [r[0] for r in rows]


@dataclass
class WalkInResult:
    size: int
    walk_in: list[float]
    search: list[float]
    link: list[float]
    lookup: list[float]
    statements: dict[str, int]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def measure_size(url: str, size: int, *, runs: int, warmup: int) -> WalkInResult:
    import time

    sources = await walk_in_patrons(url, runs + warmup + 1)
    if len(sources) < runs + warmup + 1:
        raise SystemExit(f"Only {len(sources)} NEKLS patrons left to link in {url}")
    lookups = await pl.sample_patrons(url, 200)
    async with pl.Server(url) as server:
        staff = await server.login(*WALK_IN_STAFF)
        reader = await server.login(*pl.STAFF)
        conn = await pl.Connection.open(server.port)

        async def post(query: str, variables: dict[str, object], token: str) -> dict:
            status, body = await conn.request(
                pl.http_post("/graphql", {"query": query, "variables": variables}, token)
            )
            answer = pl.orjson.loads(body)
            if status != 200 or answer.get("errors"):
                raise RuntimeError(f"HTTP {status}: {body[:300]!r}")
            return answer["data"]  # type: ignore[no-any-return]

        async def walk_in(barcode: str) -> tuple[float, float]:
            t0 = time.perf_counter()
            found = (await post(SEARCH, {"id": barcode}, staff))["networkPatronSearch"]
            t1 = time.perf_counter()
            matches = found["matches"]
            if found["errors"] or len(matches) != 1 or matches[0]["linkedAccount"] is not None:
                raise RuntimeError(f"search for {barcode}: {found}")
            linked = (await post(LINK, {"ref": matches[0]["ref"]}, staff))["linkAccount"]
            t2 = time.perf_counter()
            if linked["errors"] or not linked["created"]:
                raise RuntimeError(f"link of {barcode}: {linked}")
            return t1 - t0, t2 - t1

        async def lookup(barcode: str) -> float:
            t0 = time.perf_counter()
            data = await post(pl.SEARCH_QUERY, {"barcode": barcode}, reader)
            if not data["patrons"]["edges"]:
                raise RuntimeError(f"point lookup of {barcode} found nothing")
            return time.perf_counter() - t0

        # Statements per request (a patron of its own, not timed).
        first = sources.pop()
        statements = {
            "networkPatronSearch": await server.statements(
                pl.http_post("/graphql", {"query": SEARCH, "variables": {"id": first}}, staff)
            )
        }
        ref = (await post(SEARCH, {"id": first}, staff))["networkPatronSearch"]["matches"][0]
        statements["linkAccount"] = await server.statements(
            pl.http_post("/graphql", {"query": LINK, "variables": {"ref": ref["ref"]}}, staff)
        )
        statements["point lookup"] = await server.statements(
            pl.http_post(
                "/graphql",
                {"query": pl.SEARCH_QUERY, "variables": {"barcode": lookups[0][0]}},
                reader,
            )
        )
        result = WalkInResult(size, [], [], [], [], statements)
        try:
            for n, barcode in enumerate(sources[: runs + warmup]):
                searched, linked = await walk_in(barcode)
                looked = await lookup(lookups[n % len(lookups)][0])
                if n >= warmup:
                    result.search.append(searched)
                    result.link.append(linked)
                    result.walk_in.append(searched + linked)
                    result.lookup.append(looked)
        finally:
            await conn.close()
    return result


def print_results(results: list[WalkInResult]) -> None:
    print()
    print("Walk-in round trip over HTTP (uvicorn, 1 worker), one request at a time")
    header = (
        f"{'size':>5}  {'measure':<26} {'runs':>5} {'SQL':>4} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'p50 x lookup':>13} {'p99 x lookup':>13}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        base50, base99 = pct(r.lookup, 0.5), pct(r.lookup, 0.99)
        rows = (
            ("point lookup (baseline)", r.lookup, r.statements["point lookup"]),
            ("networkPatronSearch", r.search, r.statements["networkPatronSearch"]),
            ("linkAccount", r.link, r.statements["linkAccount"]),
            (
                "walk-in round trip",
                r.walk_in,
                r.statements["networkPatronSearch"] + r.statements["linkAccount"],
            ),
        )
        for name, values, sql in rows:
            p50, p99 = pct(values, 0.5), pct(values, 0.99)
            print(
                f"{pl.label(r.size):>5}  {name:<26} {len(values):>5} {sql:>4} {p50:>8.2f} "
                f"{p99:>8.2f} {p50 / base50:>12.1f}x {p99 / base99:>12.1f}x"
            )
    if len(results) > 1:
        growth = ", ".join(
            f"{pl.label(r.size)} {statistics.median(r.walk_in) * 1000:.1f} ms" for r in results
        )
        print(f"  walk-in median by size: {growth}")


async def run(args: argparse.Namespace) -> list[WalkInResult]:
    results = []
    for size in [pl.parse_size(s) for s in args.sizes.split(",") if s.strip()]:
        url = pl.size_url(args.url, size)
        await pl.prepare(url, size, args.reuse)
        print(f"Timing walk-ins at {pl.label(size)} ...", flush=True)
        results.append(await measure_size(url, size, runs=args.runs, warmup=args.warmup))
    print_results(results)
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    pl.add_arguments(parser)
    parser.add_argument("--runs", type=int, default=200, help="timed walk-ins per size")
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args(argv)
    asyncio.run(run(args))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
