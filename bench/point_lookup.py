"""Point lookup over HTTP: GraphQL against a plain Starlette + asyncpg endpoint.

    .venv/bin/python -m bench.point_lookup --url postgresql://postgres@127.0.0.1:5432/bench_pl

Per size (10k, 100k, 1M patrons by default; one database per size, named after the
URL's with the size appended, e.g. bench_pl_100k, made by bench.generate unless
`--reuse` finds one already made for that size):

- a server process: uvicorn, 1 worker, uvloop + httptools, access log off, running
  the real app (`app.main.create_app`) with four more routes added to the same
  Starlette app, so both go through the same server, router and middleware:
  `/plain/search` and `/plain/node` are plain Starlette endpoints on an asyncpg pool
  (10 connections, as the app's engine) that send the same SQL statements the GraphQL
  request sends (the token check, the institution, the patron) and answer the same
  JSON fields with orjson; `/bench/sql/start` and `/bench/sql/stop` count the
  statements the app's engine sends in between;
- the load from this process (a second process): a minimal HTTP/1.1 keep-alive
  client on asyncio (no dependency, cheap per request), `--connections` concurrent
  connections, each sending its next request when the answer to the last is in;
- four measures, interleaved in every round (plain search, GraphQL search, plain
  node, GraphQL node, the order reversed every other round) so the machine's noise
  falls on all of them: `patrons(institution: "NEKLS", filter: {search: <barcode>},
  first: 1)` and `node(id)` of one random NEKLS patron, as lansing.librarian (a real
  staff login; the bearer token is checked on every request, by both endpoints).

It prints throughput (requests/s), p50 and p99 latency per measure and size, and the
ratio of GraphQL's throughput to the plain endpoint's (all rounds pooled, and the
median of the per-round ratios). `--profile` also runs pyinstrument (if installed:
`pip install pyinstrument`; bench-only, not a dependency of the app) in the server
process during extra GraphQL rounds and prints where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson

from bench import generate as gen
from bench.attribute_reports import label, parse_size

INSTITUTION = "NEKLS"
STAFF = ("lansing.librarian", "LANSING")
PASSWORD = "netzone-demo"

SEARCH_QUERY = (
    'query Lookup($barcode: String!) { patrons(institution: "NEKLS", '
    "filter: {search: $barcode}, first: 1) { edges { node { id surname givenName "
    "expiryDate } } } }"
)
NODE_QUERY = (
    "query Node($id: ID!) { node(id: $id) { id ... on Patron { surname givenName expiryDate } } }"
)

# ---------------------------------------------------------------------------------------
# The server process: the real app plus the plain endpoints.
# ---------------------------------------------------------------------------------------

# The statements the GraphQL point lookup sends (see app.auth.service.authenticate,
# app.patrons.search and app.graphql.patrons.dataloaders), written out for asyncpg.
# The token check: the token, its account, the account's institution code and its
# roles in one statement (app.auth.service._TOKEN_ACTOR).
TOKEN_SQL = """
SELECT auth_token.library_id, auth_token.expires_at, auth_token.revoked_at, patron.id,
       patron.institution_id, patron.username, patron.enabled, patron.until,
       institution.code, patron_system_group.system_group
  FROM auth_token JOIN patron ON patron.id = auth_token.patron_id
  JOIN institution ON institution.id = patron.institution_id
  LEFT OUTER JOIN patron_system_group ON patron_system_group.patron_id = patron.id
 WHERE auth_token.token_hash = $1::VARCHAR
"""
# Only when the institution asked for is not the caller's own (never in this benchmark).
INSTITUTION_SQL = "SELECT institution.* FROM institution WHERE institution.code = $1"
SEARCH_SQL = """
SELECT patron.* FROM patron
 WHERE patron.institution_id = $1
   AND patron.id IN (
       SELECT patron_identifier.patron_id FROM patron_identifier
        WHERE patron_identifier.institution_id = $2 AND patron_identifier.value_key = $3
       UNION
       SELECT patron.id FROM patron WHERE patron.institution_id = $4 AND patron.username_key = $5
       UNION
       SELECT patron.id FROM patron
        WHERE patron.institution_id = $6
          AND (patron.surname_key LIKE $7 ESCAPE '\\' OR patron.given_key LIKE $8 ESCAPE '\\'
               OR lower(patron.preferred_name) LIKE $9 ESCAPE '\\'))
 ORDER BY coalesce(patron.surname_key, ''), coalesce(patron.given_key, ''), patron.id
 LIMIT $10
"""
NODE_SQL = "SELECT patron.* FROM patron WHERE patron.id IN ($1::integer)"
READ_ROLES = {"CIRCULATION", "LIBRARIAN", "SYSTEM_ADMIN"}


def _b64id(type_name: str, pk: int) -> str:
    from app.graphql.ids import encode_id

    return encode_id(type_name, pk)


def build_server_app(url: str) -> Any:
    """The real app with the plain endpoints and the statement counter added."""
    from sqlalchemy import event
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from app.auth.service import token_digest
    from app.clock import today
    from app.db import utcnow
    from app.graphql.ids import decode_id
    from app.main import create_app
    from app.settings import Settings

    settings = Settings(  # type: ignore[call-arg]
        DATABASE_URL=gen.app_url(url),
        scheduled_jobs=False,
        log_level="WARNING",
    )
    app = create_app(settings)
    engine = app.state.database.engine
    pool: asyncpg.Pool | None = None
    pool_lock = asyncio.Lock()
    counted: list[int] = [0]

    def count(*_: Any) -> None:
        counted[0] += 1

    async def get_pool() -> asyncpg.Pool:
        nonlocal pool
        async with pool_lock:
            if pool is None:
                pool = await asyncpg.create_pool(gen.asyncpg_dsn(url), min_size=10, max_size=10)
        return pool

    def unauthenticated() -> Response:
        return Response(
            orjson.dumps({"error": "UNAUTHENTICATED"}), 401, media_type="application/json"
        )

    async def actor_of(conn: asyncpg.Connection, request: Request) -> dict[str, Any] | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        rows = await conn.fetch(TOKEN_SQL, token_digest(token.strip()))
        if not rows:
            return None
        row = rows[0]
        if row["revoked_at"] is not None or row["expires_at"] <= utcnow():
            return None
        if not row["enabled"] or (row["until"] is not None and row["until"] < today()):
            return None
        return {
            "patron_id": row["id"],
            "institution_id": row["institution_id"],
            "institution_code": row["code"],
            "groups": {r["system_group"] for r in rows if r["system_group"] is not None},
        }

    def patron_json(row: asyncpg.Record) -> dict[str, Any]:
        return {
            "id": _b64id("Patron", row["id"]),
            "surname": row["surname"],
            "givenName": row["given_name"],
            "expiryDate": row["expiry_date"].isoformat() if row["expiry_date"] else None,
        }

    async def plain_search(request: Request) -> Response:
        term = request.query_params.get("barcode", "").strip().lower()[:200]
        async with (await get_pool()).acquire() as conn:
            actor = await actor_of(conn, request)
            if actor is None:
                return unauthenticated()
            institution_id = actor["institution_id"]
            if INSTITUTION != actor["institution_code"]:
                found = await conn.fetchrow(INSTITUTION_SQL, INSTITUTION)
                institution_id = found["id"] if found else None
            nodes: list[dict[str, Any]] = []
            if institution_id == actor["institution_id"] and READ_ROLES & actor["groups"]:
                pattern = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                rows = await conn.fetch(
                    SEARCH_SQL, institution_id, institution_id, term, institution_id, term,
                    institution_id, pattern, pattern, pattern, 2,
                )  # fmt: skip
                nodes = [patron_json(r) for r in rows[:1]]
        body = {"data": {"patrons": {"edges": [{"node": n} for n in nodes]}}}
        return Response(orjson.dumps(body), media_type="application/json")

    async def plain_node(request: Request) -> Response:
        decoded = decode_id(request.query_params.get("id", ""))
        async with (await get_pool()).acquire() as conn:
            actor = await actor_of(conn, request)
            if actor is None:
                return unauthenticated()
            node = None
            if decoded is not None and decoded[0] == "Patron":
                row = await conn.fetchrow(NODE_SQL, decoded[1])
                if row is not None and (
                    row["id"] == actor["patron_id"]
                    or (
                        row["institution_id"] == actor["institution_id"]
                        and READ_ROLES & actor["groups"]
                    )
                ):
                    node = patron_json(row)
        return Response(orjson.dumps({"data": {"node": node}}), media_type="application/json")

    async def sql_start(_: Request) -> Response:
        counted[0] = 0
        if not event.contains(engine.sync_engine, "before_cursor_execute", count):
            event.listen(engine.sync_engine, "before_cursor_execute", count)
        return Response(b"{}", media_type="application/json")

    async def sql_stop(_: Request) -> Response:
        if event.contains(engine.sync_engine, "before_cursor_execute", count):
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        return Response(orjson.dumps({"statements": counted[0]}), media_type="application/json")

    profiler: list[Any] = []

    async def profile_start(_: Request) -> Response:
        from pyinstrument import Profiler

        profiler[:] = [Profiler(async_mode="disabled", interval=0.0005)]
        profiler[0].start()
        return Response(b"{}", media_type="application/json")

    async def profile_stop(_: Request) -> Response:
        if not profiler:
            return Response(b"{}", media_type="application/json")
        p = profiler.pop()
        p.stop()
        text = p.output_text(unicode=False, color=False, show_all=False)
        return Response(orjson.dumps({"text": text}), media_type="application/json")

    app.router.routes.extend(
        [
            Route("/plain/search", plain_search, methods=["GET"]),
            Route("/plain/node", plain_node, methods=["GET"]),
            Route("/bench/sql/start", sql_start, methods=["POST"]),
            Route("/bench/sql/stop", sql_stop, methods=["POST"]),
            Route("/bench/profile/start", profile_start, methods=["POST"]),
            Route("/bench/profile/stop", profile_stop, methods=["POST"]),
        ]
    )
    return app


def serve(url: str, port: int) -> None:
    import uvicorn

    uvicorn.run(
        build_server_app(url),
        host="127.0.0.1",
        port=port,
        workers=1,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


# ---------------------------------------------------------------------------------------
# The load: a minimal HTTP/1.1 keep-alive client.
# ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(path: str, token: str | None = None) -> bytes:
    auth = f"authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nhost: bench\r\n{auth}\r\n".encode()


def http_post(path: str, body: object, token: str | None = None) -> bytes:
    data = orjson.dumps(body)
    auth = f"authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"POST {path} HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
        f"{auth}content-length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


class Connection:
    """One keep-alive HTTP/1.1 connection; answers must carry a content-length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
                break
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


async def call(port: int, raw: bytes) -> Any:
    conn = await Connection.open(port)
    try:
        status, body = await conn.request(raw)
    finally:
        await conn.close()
    if status != 200:
        raise RuntimeError(f"HTTP {status}: {body[:300]!r}")
    return orjson.loads(body)


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    failures: int = 0
    first_failure: str = ""

    def add(self, other: Sample) -> None:
        self.latencies += other.latencies
        self.seconds += other.seconds
        self.failures += other.failures
        self.first_failure = self.first_failure or other.first_failure

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def load(
    port: int,
    requests: Sequence[bytes],
    check: Callable[[bytes], bool],
    *,
    seconds: float,
    connections: int,
) -> Sample:
    """`connections` clients sending random requests of the list for `seconds`."""
    conns = [await Connection.open(port) for _ in range(connections)]
    sample = Sample()
    started = time.perf_counter()
    deadline = started + seconds

    async def worker(conn: Connection) -> None:
        rnd = random.Random()
        while True:
            raw = requests[rnd.randrange(len(requests))]
            t0 = time.perf_counter()
            if t0 >= deadline:
                return
            status, body = await conn.request(raw)
            sample.latencies.append(time.perf_counter() - t0)
            if status != 200 or not check(body):
                sample.failures += 1
                sample.first_failure = sample.first_failure or f"{status} {body[:300]!r}"

    try:
        await asyncio.gather(*(worker(c) for c in conns))
    finally:
        sample.seconds = time.perf_counter() - started
        for c in conns:
            await c.close()
    return sample


# ---------------------------------------------------------------------------------------
# Running a server and measuring.
# ---------------------------------------------------------------------------------------


class Server:
    """The server process, started with `python -m bench.point_lookup --serve`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Server:
        self.process = await asyncio.create_subprocess_exec(
            *[
                sys.executable,
                "-m",
                "bench.point_lookup",
                "--serve",
                self.url,
                "--port",
                str(self.port),
            ],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        for _ in range(300):
            if self.process.returncode is not None:
                raise RuntimeError("the benchmark server did not start")
            try:
                await call(self.port, http_get("/healthz"))
                return self
            except OSError:
                await asyncio.sleep(0.1)
        await self.__aexit__()
        raise RuntimeError("the benchmark server did not answer in 30 s")

    async def __aexit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    async def graphql(self, query: str, variables: dict[str, Any], token: str | None = None) -> Any:
        body = {"query": query, "variables": variables}
        answer = await call(self.port, http_post("/graphql", body, token))
        if answer.get("errors"):
            raise RuntimeError(f"GraphQL errors: {answer['errors']}")
        return answer["data"]

    async def login(self, username: str, library: str) -> str:
        data = await self.graphql(
            "mutation($i: LoginInput!) { login(input: $i) { token errors { code message } } }",
            {"i": {"username": username, "password": PASSWORD, "library": library}},
        )
        if data["login"]["errors"] or not data["login"]["token"]:
            raise RuntimeError(f"login of {username} failed: {data['login']['errors']}")
        return str(data["login"]["token"])

    async def statements(self, raw: bytes) -> int:
        """SQL statements the app's engine sends for one request."""
        await call(self.port, http_post("/bench/sql/start", {}))
        await call(self.port, raw)
        return int((await call(self.port, http_post("/bench/sql/stop", {})))["statements"])

    async def profile(self, requests: Sequence[bytes], seconds: float, connections: int) -> str:
        await call(self.port, http_post("/bench/profile/start", {}))
        await load(self.port, requests, lambda _: True, seconds=seconds, connections=connections)
        return str((await call(self.port, http_post("/bench/profile/stop", {})))["text"])


async def sample_patrons(url: str, count: int = 1000) -> list[tuple[str, int]]:
    """(barcode, patron id) of random NEKLS patrons."""
    conn = await asyncpg.connect(gen.asyncpg_dsn(url))
    try:
        rows = await conn.fetch(
            """
            SELECT i.value, p.id FROM patron p
              JOIN institution n ON n.id = p.institution_id AND n.code = $1
              JOIN patron_identifier i ON i.patron_id = p.id
              JOIN identifier_type t ON t.id = i.identifier_type_id AND t.code = 'BARCODE'
             WHERE NOT p.is_staff
             ORDER BY random() LIMIT $2
            """,
            INSTITUTION,
            count,
        )
    finally:
        await conn.close()
    return [(r[0], r[1]) for r in rows]


def size_url(url: str, size: int) -> str:
    from sqlalchemy.engine import make_url

    name = f"{gen.database_name(url)}_{label(size).lower()}"
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def prepare(url: str, size: int, reuse: bool) -> float | None:
    """Generate this size's database unless `reuse` and it is there; generation seconds."""
    if reuse and await gen.read_marker(url) == gen.marker_for(size):
        print(f"Reusing {gen.database_name(url)} ({size:,} patrons)", flush=True)
        return None
    result = await gen.generate(url, size, quiet=True)
    print(f"Generated {gen.database_name(url)}: {size:,} patrons in {result.seconds:.1f} s")
    return result.seconds


@dataclass
class Workload:
    name: str
    requests: list[bytes]
    check: Callable[[bytes], bool]


def workloads(patrons: list[tuple[str, int]], token: str) -> list[Workload]:
    def found(body: bytes) -> bool:
        return b'"errors"' not in body and b'"surname"' in body

    return [
        Workload(
            "plain search",
            [http_get(f"/plain/search?barcode={b}", token) for b, _ in patrons],
            found,
        ),
        Workload(
            "GraphQL search",
            [
                http_post("/graphql", {"query": SEARCH_QUERY, "variables": {"barcode": b}}, token)
                for b, _ in patrons
            ],
            found,
        ),
        Workload(
            "plain node",
            [http_get(f"/plain/node?id={_b64id('Patron', p)}", token) for _, p in patrons],
            found,
        ),
        Workload(
            "GraphQL node",
            [
                http_post(
                    "/graphql",
                    {"query": NODE_QUERY, "variables": {"id": _b64id("Patron", p)}},
                    token,
                )
                for _, p in patrons
            ],
            found,
        ),
    ]


@dataclass
class SizeResult:
    size: int
    samples: dict[str, Sample]
    round_ratios: dict[str, list[float]]
    statements: dict[str, int]
    profile: str = ""


async def check_same_answers(server: Server, token: str, patrons: list[tuple[str, int]]) -> None:
    """The plain endpoints answer what GraphQL answers."""
    for barcode, patron_id in patrons[:5]:
        gql = await server.graphql(SEARCH_QUERY, {"barcode": barcode}, token)
        plain = await call(server.port, http_get(f"/plain/search?barcode={barcode}", token))
        if gql != plain["data"] or gql["patrons"]["edges"][0]["node"]["id"] != _b64id(
            "Patron", patron_id
        ):
            raise RuntimeError(f"search answers differ: {gql} / {plain}")
        gid = _b64id("Patron", patron_id)
        gql = await server.graphql(NODE_QUERY, {"id": gid}, token)
        plain = await call(server.port, http_get(f"/plain/node?id={gid}", token))
        if gql != plain["data"]:
            raise RuntimeError(f"node answers differ: {gql} / {plain}")


async def measure_size(
    url: str,
    size: int,
    *,
    rounds: int,
    seconds: float,
    connections: int,
    profile: bool = False,
) -> SizeResult:
    patrons = await sample_patrons(url)
    async with Server(url) as server:
        token = await server.login(*STAFF)
        await check_same_answers(server, token, patrons)
        loads = workloads(patrons, token)
        statements = {
            w.name: (await server.statements(w.requests[0])) if "GraphQL" in w.name else 0
            for w in loads
        }
        # Warm-up: prepared statements, caches, pools.
        for w in loads:
            await load(server.port, w.requests, w.check, seconds=1.0, connections=connections)
        samples = {w.name: Sample() for w in loads}
        ratios: dict[str, list[float]] = {"search": [], "node": []}
        for r in range(rounds):
            order = loads if r % 2 == 0 else list(reversed(loads))
            this: dict[str, Sample] = {}
            for w in order:
                s = await load(
                    server.port, w.requests, w.check, seconds=seconds, connections=connections
                )
                if s.failures:
                    raise RuntimeError(f"{w.name}: {s.failures} failures, e.g. {s.first_failure}")
                this[w.name] = s
                samples[w.name].add(s)
            for kind in ratios:
                ratios[kind].append(
                    this[f"GraphQL {kind}"].throughput / this[f"plain {kind}"].throughput
                )
        text = ""
        if profile:
            text = await server.profile(loads[1].requests, 5.0, connections)
    return SizeResult(size, samples, ratios, statements, text)


def print_results(results: list[SizeResult], *, connections: int, rounds: int) -> None:
    print()
    print(
        f"Point lookup over HTTP (uvicorn, 1 worker), {connections} connections, "
        f"{rounds} interleaved rounds"
    )
    header = (
        f"{'size':>5}  {'endpoint':<15} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'SQL':>4} {'GraphQL/plain':>14} {'per round':>16}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        for kind in ("search", "node"):
            plain = result.samples[f"plain {kind}"]
            gql = result.samples[f"GraphQL {kind}"]
            per_round = result.round_ratios[kind]
            for name, s in ((f"plain {kind}", plain), (f"GraphQL {kind}", gql)):
                ratio, spread = "", ""
                if name.startswith("GraphQL"):
                    ratio = f"{gql.throughput / plain.throughput:.2f}x"
                    spread = (
                        f"{statistics.median(per_round):.2f}x "
                        f"({min(per_round):.2f}-{max(per_round):.2f})"
                    )
                sql = str(result.statements.get(name) or "") if name.startswith("GraphQL") else ""
                print(
                    f"{label(result.size):>5}  {name:<15} {s.throughput:>8,.0f} "
                    f"{s.pct(0.5):>7.2f} {s.pct(0.99):>7.2f} {sql:>4} {ratio:>14} {spread:>16}"
                )
    for result in results:
        if result.profile:
            print()
            print(f"pyinstrument, GraphQL search at {label(result.size)} (server process):")
            print(result.profile)


async def run(args: argparse.Namespace) -> list[SizeResult]:
    results = []
    for size in [parse_size(s) for s in args.sizes.split(",") if s.strip()]:
        url = size_url(args.url, size)
        await prepare(url, size, args.reuse)
        print(f"Timing {label(size)} ...", flush=True)
        results.append(
            await measure_size(
                url,
                size,
                rounds=args.rounds,
                seconds=args.seconds,
                connections=args.connections,
                profile=args.profile,
            )
        )
    print_results(results, connections=args.connections, rounds=args.rounds)
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        required=True,
        help="postgresql://user@host:port/NAME; the sizes use NAME_10k, NAME_100k, NAME_1m",
    )
    parser.add_argument("--sizes", default="10k,100k,1M", help="comma-separated, e.g. 10k,1M")
    parser.add_argument("--reuse", action="store_true", help="keep a database made for the size")


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--serve"]:
        serve(argv[1], int(argv[argv.index("--port") + 1]))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0, help="per measure and round")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--profile", action="store_true", help="pyinstrument in the server")
    args = parser.parse_args(argv)
    asyncio.run(run(args))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
