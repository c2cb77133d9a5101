"""Every benchmark in turn, from a fresh clone: `python -m bench [--quick]`.

    .venv/bin/python -m bench --url postgresql://postgres@127.0.0.1:5432/bench_pl

1. bench.point_lookup: the GraphQL point lookup (by barcode) and listing over HTTP (wrk)
   against a plain Starlette + asyncpg endpoint and PostGraphile 4, with the ratios;
2. bench.walk_in: networkPatronSearch + linkAccount round trips, p50/p99 and their
   ratio to the point lookup;
3. bench.attribute_reports: the attribute discrepancy reports against a barcode lookup;
4. bench.amplification: the point lookup beside the heaviest query the limits allow;
5. bench.relations: the per-patron relations of 1 to 30 aliases of a 100-patron page,
   objects/s and statements;
6. bench.import_throughput: the CSV importer against a raw COPY of the same file;
7. bench.import_scale: the same import into a brand-new network and after VACUUM
   ANALYZE, against a raw COPY, with peak RSS;
8. bench.import_p99: point-lookup p50/p99 idle and while a 100k-row import runs through
   the API and `netzone worker`, and the ratio.

The first five share one database per size (NAME_10k, NAME_100k, NAME_1m, made by
bench.generate; `--reuse` keeps those already made); the import benchmark makes its
own (NAME_import, NAME_scale, NAME_p99). Each module prints its figures and ratios as it finishes.
`--quick`: 10k patrons only and few runs (a few minutes), to see that everything
runs; the full run (10k, 100k, 1M) takes an hour or more on 2 cores, most of it the
1M generation, walk-ins and imports.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Sequence

from sqlalchemy.engine import make_url

from bench import (
    amplification,
    attribute_reports,
    import_p99,
    import_scale,
    import_throughput,
    point_lookup,
    relations,
    walk_in,
)
from bench import generate as gen

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/bench_pl"


def _banner(text: str) -> None:
    print()
    print("=" * 88)
    print(text)
    print("=" * 88, flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--url",
        default=DEFAULT_URL,
        help=f"postgresql://user@host:port/NAME (default {DEFAULT_URL}); "
        "databases NAME_10k, NAME_100k, NAME_1m and NAME_import are dropped and made again",
    )
    parser.add_argument("--quick", action="store_true", help="10k patrons, few runs")
    parser.add_argument("--sizes", help="override the sizes, e.g. 10k,100k")
    parser.add_argument("--reuse", action="store_true", help="keep databases made for a size")
    parser.add_argument(
        "--only",
        default="point_lookup,walk_in,attribute_reports,amplification,relations,"
        "import_throughput,import_scale,import_p99",
        help="comma-separated subset of the modules, in that order",
    )
    args = parser.parse_args(argv)
    sizes = args.sizes or ("10k" if args.quick else "10k,100k,1M")
    only = {name.strip() for name in args.only.split(",")}
    started = time.perf_counter()
    generated: set[int] = set()

    if "point_lookup" in only:
        _banner(f"bench.point_lookup ({sizes})")
        point = ["--url", args.url, "--sizes", sizes]
        quick = ["--rounds", "2", "--seconds", "2", "--warmup", "1"]
        point += quick if args.quick else ["--rounds", "5"]
        if args.reuse:
            point.append("--reuse")
        point_lookup.main(point)
        generated = {point_lookup.parse_size(s) for s in sizes.split(",")}

    if "walk_in" in only:
        _banner(f"bench.walk_in ({sizes})")
        walk = ["--url", args.url, "--sizes", sizes]
        walk += ["--runs", "20", "--warmup", "3"] if args.quick else ["--runs", "200"]
        if args.reuse or generated:
            walk.append("--reuse")
        walk_in.main(walk)

    if "attribute_reports" in only:
        for size in sizes.split(","):
            url = point_lookup.size_url(args.url, point_lookup.parse_size(size))
            _banner(f"bench.attribute_reports ({size}, {gen.database_name(url)})")
            reports = ["--url", url, "--sizes", size]
            reports += ["--runs", "5", "--warmup", "1"] if args.quick else ["--runs", "20"]
            if args.reuse or generated:
                reports.append("--reuse")
            attribute_reports.main(reports)

    if "amplification" in only:
        _banner(f"bench.amplification ({sizes})")
        heavy = ["--url", args.url, "--sizes", sizes]
        heavy += ["--rounds", "2", "--lookups", "50"] if args.quick else ["--rounds", "5"]
        if args.reuse or generated:
            heavy.append("--reuse")
        amplification.main(heavy)

    if "relations" in only:
        _banner(f"bench.relations ({sizes})")
        related = ["--url", args.url, "--sizes", sizes]
        related += ["--rounds", "1", "--aliases", "1,5"] if args.quick else ["--rounds", "3"]
        if args.reuse or generated:
            related.append("--reuse")
        relations.main(related)

    if "import_throughput" in only:
        name = f"{gen.database_name(args.url)}_import"
        url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
        _banner(f"bench.import_throughput ({name})")
        if args.quick:
            imports = ["--url", url, "--sizes", "1k", "--no-dry-run"]
        else:
            # quality.md: rows/s at 100k, peak RSS at 100k and 1M. The time limit bounds
            # a slow import (one stopped by it reports the rows it got through).
            imports = ["--url", url, "--sizes", "10k,100k,1M", "--time-limit", "1200"]
        import_throughput.main(imports)

    if "import_scale" in only:
        name = f"{gen.database_name(args.url)}_scale"
        url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
        _banner(f"bench.import_scale ({name})")
        scale = ["--url", url, "--sizes", "10k" if args.quick else "10k,100k,1M"]
        import_scale.main(scale)

    if "import_p99" in only:
        name = f"{gen.database_name(args.url)}_p99"
        url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
        _banner(f"bench.import_p99 ({name})")
        p99 = ["--url", url, "--rows", "10k" if args.quick else "100k"]
        import_p99.main(p99 + (["--idle-seconds", "10"] if args.quick else []))

    print(f"\nAll benchmarks done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
