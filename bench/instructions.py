"""The point lookup (or the 50-patron list) in process, straight into the ASGI app: the
work of one request without HTTP, for counting instructions with callgrind.

Seconds on a shared machine vary by tens of percent from run to run; instructions do not.
Count N requests and N + 100 and take the difference over 100 (start-up cancels out):

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.20 \\
        .venv/bin/python -m bench.instructions --url ... --count 20
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.120 \\
        .venv/bin/python -m bench.instructions --url ... --count 120
    # (totals of cg.120 - totals of cg.20) / 100: the instructions per request

Without valgrind it prints the process's CPU per request and that of the PostgreSQL
backends it used (from /proc: run it on the database's machine). The database is one
bench.generate made (e.g. bench_pl_10k); the token of lansing.librarian is made once
with a login (argon2 is slow under valgrind: pass --token to reuse one).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time
from typing import Any

import orjson

from app.main import create_app
from app.settings import Settings
from bench.point_lookup import LIST_QUERY, LOOKUP_QUERY, PASSWORD, STAFF

LOGIN = (
    "mutation($u: String!, $p: String!, $l: String!) "
    "{ login(input: {username: $u, password: $p, library: $l}) { token } }"
)
BARCODES = '{ patrons(institution: "NEKLS", first: 100) { edges { node { barcode } } } }'


def _backend_ticks(database: str) -> int:
    """CPU clock ticks of the PostgreSQL backends connected to this database."""
    pids = subprocess.run(
        ["pgrep", "-f", f"postgres: .* {database} "], capture_output=True, text=True, check=False
    ).stdout.split()
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


async def _run(args: argparse.Namespace) -> None:
    url = args.url.replace("postgresql://", "postgresql+asyncpg://", 1)
    settings = Settings(DATABASE_URL=url, compiled_reads=not args.general)  # type: ignore[call-arg]
    app = create_app(settings)

    async def call(body: bytes, token: str | None) -> Any:
        sent: list[Any] = []

        async def receive() -> Any:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        headers = [(b"host", b"bench"), (b"content-type", b"application/json")]
        if token:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        await app(scope, receive, send)
        return orjson.loads(sent[-1]["body"])

    def body(query: str, variables: dict[str, Any]) -> bytes:
        return orjson.dumps({"query": query, "variables": variables})

    async with app.router.lifespan_context(app):
        token = args.token
        if not token:
            variables = {"u": STAFF[0], "p": PASSWORD, "l": STAFF[1]}
            token = (await call(body(LOGIN, variables), None))["data"]["login"]["token"]
            print(f"token: {token}")
        page = await call(body(BARCODES, {}), token)
        barcodes = [e["node"]["barcode"] for e in page["data"]["patrons"]["edges"]]
        if args.query == "list":
            bodies = [body(LIST_QUERY, {})]
        else:
            bodies = [body(LOOKUP_QUERY, {"barcode": b}) for b in barcodes if b]
        for sent in bodies[:20]:
            answer = await call(sent, token)
            assert "errors" not in answer, answer
        database = args.url.rsplit("/", 1)[1]
        ticks, started = _backend_ticks(database), time.process_time()
        for index in range(args.count):
            await call(bodies[index % len(bodies)], token)
        cpu = (time.process_time() - started) / args.count
        backends = (_backend_ticks(database) - ticks) / 100 / args.count
        print(
            f"{args.query}, {'general' if args.general else 'compiled'} path: "
            f"{cpu * 1e6:,.0f} µs CPU per request, PostgreSQL backends {backends * 1e6:,.0f} µs"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="postgresql://... of a bench database")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--query", choices=["lookup", "list"], default="lookup")
    parser.add_argument("--general", action="store_true", help="compiled reads off")
    parser.add_argument("--token", help="a session token of lansing.librarian to reuse")
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
