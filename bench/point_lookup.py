"""Point lookup and listing over HTTP: netzone against what users would pick instead.

    .venv/bin/python -m bench.point_lookup --url postgresql://postgres@127.0.0.1:5432/bench_h6 \
        --sizes 100k

Per size (10k, 100k, 1M patrons by default; one database per size, named after the
URL's with the size appended, e.g. bench_h6_100k, made by bench.generate unless
`--reuse` finds one already made for that size), three servers on the same database:

- **netzone**: a server process running uvicorn as a deployment does (1 worker, uvloop +
  httptools, access log off) with the real app (`app.main.create_app`) and production
  settings (`environment="production"`, every request limit, the request timeout and
  its statement timeout, the body limit, the bearer token checked on every request,
  INFO logging). Only the scheduled jobs (purge and e-mail check, run at start and then
  hourly/daily) are off: they are not part of a request, and measuring during them would
  measure them.
- **plain**: an independent plain Starlette + asyncpg endpoint added to the SAME
  Starlette app in the SAME server process (same uvicorn, router and middleware; its
  own asyncpg pool of 10 connections, as the app's engine). It does what a hand-written
  service would: checks the same bearer token with ONE statement of its own (SHA-256 of
  the token against `auth_token`, not revoked, not expired, joined to the account, its
  institution and whether it holds a reading role) and answers the same fields with ONE
  more (the patron by barcode in the institution, joined to its user group; for the list,
  one statement with the identifiers and blocks aggregated as JSON). It does not replay
  netzone's statements. The answers are the same JSON as netzone's (checked).
- **PostGraphile 4** (Node.js), installed with `npm install postgraphile@4` into
  `~/.cache/netzone-bench/postgraphile` (skipped with a message when npm or the package
  cannot be had), run as `postgraphile -c postgres://... --schema public
  --disable-graphiql --cors --disable-query-log` with `NODE_ENV=production`, one Node
  process. Its natural queries: the unique lookup of the barcode identifier
  (`patronIdentifierByInstitutionIdAndIdentifierTypeIdAndValueKey`) with its patron and
  user group, and `allPatrons(condition: {institutionId}, first: 50, orderBy: name)`
  with identifiers, blocks and user group. PostGraphile runs WITHOUT authentication (no
  token, no role check), so netzone's ratio to it is conservative.

The load is `wrk -t1 -c16` (bench/wrk_random.lua: a random line of a file per request,
i.e. a random existing NEKLS barcode per lookup), `--seconds` per target and round; in
each round every target runs once, in an order shuffled per round (`--seed`), so the
machine's noise falls on all of them alike; before each run the benchmark waits until
the servers are idle, so that requests still in flight when wrk stopped do not fall into
the next run. Measured, as lansing.librarian (a real staff
login at LANSING, password netzone-demo):

- lookup: `patrons(institution: "NEKLS", filter: {search: $barcode}, first: 1) { edges {
  node { id givenName surname barcode userGroup { code } } } }` against both baselines;
- list: `patrons(institution: "NEKLS", first: 50) { edges { node { id givenName surname
  barcode identifiers { type { code } value } blocks { type { code } note expiresAt }
  userGroup { code } } } }` against both baselines;
- the per-request floor of netzone: `{ __typename }` without a token, `{ __typename }`
  with the token, and the lookup asking for `id` only.

Printed per target: requests/s (all rounds pooled), the median over rounds of wrk's p50
and p99, the SQL statements netzone's engine sends for one request, the server's CPU per
request (/proc of the server process) and wrk's own CPU (to show the client is not the
bottleneck); then the ratios netzone/plain, netzone/PostGraphile and PostGraphile/plain,
pooled and as the median (range) of the per-round ratios. `--profile` runs pyinstrument
in the netzone server during 5 more seconds of lookups (`pip install pyinstrument`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import asyncpg
import orjson

from bench import generate as gen
from bench.attribute_reports import label, parse_size

INSTITUTION = "NEKLS"
STAFF = ("lansing.librarian", "LANSING")
PASSWORD = "netzone-demo"

LOOKUP_QUERY = (
    'query Lookup($barcode: String!) { patrons(institution: "NEKLS", '
    "filter: {search: $barcode}, first: 1) { edges { node { id givenName surname barcode "
    "userGroup { code } } } } }"
)
# The point lookup other benchmarks (walk-in, amplification) use as their baseline.
SEARCH_QUERY = LOOKUP_QUERY
LIST_QUERY = (
    'query List { patrons(institution: "NEKLS", first: 50) { edges { node { id givenName '
    "surname barcode identifiers { type { code } value } blocks { type { code } note "
    "expiresAt } userGroup { code } } } } }"
)
ID_ONLY_QUERY = (
    'query Lookup($barcode: String!) { patrons(institution: "NEKLS", '
    "filter: {search: $barcode}, first: 1) { edges { node { id } } } }"
)
TYPENAME_QUERY = "{ __typename }"

# PostGraphile 4's natural queries for the same data (its default inflection).
PG_LOOKUP_QUERY = (
    "query Lookup($institutionId: Int!, $typeId: Int!, $barcode: String!) { "
    "patronIdentifierByInstitutionIdAndIdentifierTypeIdAndValueKey(institutionId: "
    "$institutionId, identifierTypeId: $typeId, valueKey: $barcode) { value patronByPatronId "
    "{ id givenName surname userGroupByUserGroupId { code } } } }"
)
PG_LIST_QUERY = (
    "query List($institutionId: Int!) { allPatrons(condition: {institutionId: "
    "$institutionId}, first: 50, orderBy: [SURNAME_KEY_ASC, GIVEN_KEY_ASC, ID_ASC]) { edges "
    "{ node { id givenName surname userGroupByUserGroupId { code } patronIdentifiersByPatronId "
    "{ nodes { value identifierTypeByIdentifierTypeId { code } } } patronBlocksByPatronId { "
    "nodes { note expiresAt blockTypeByBlockTypeId { code } } } } } } }"
)

# ---------------------------------------------------------------------------------------
# The plain endpoint's own SQL.
# ---------------------------------------------------------------------------------------

PLAIN_TOKEN_SQL = """
SELECT patron.id, patron.institution_id, institution.code AS institution_code,
       EXISTS (SELECT 1 FROM patron_system_group AS role
                WHERE role.patron_id = patron.id
                  AND role.system_group IN ('CIRCULATION', 'LIBRARIAN', 'SYSTEM_ADMIN'))
       AS may_read
  FROM auth_token
  JOIN patron ON patron.id = auth_token.patron_id
  JOIN institution ON institution.id = patron.institution_id
 WHERE auth_token.token_hash = $1
   AND auth_token.revoked_at IS NULL
   AND auth_token.expires_at > now()
   AND patron.enabled
   AND (patron.until IS NULL OR patron.until >= current_date)
"""
PLAIN_LOOKUP_SQL = """
SELECT patron.id, patron.given_name, patron.surname, barcode.value AS barcode,
       user_group.code AS user_group
  FROM patron_identifier AS barcode
  JOIN identifier_type ON identifier_type.id = barcode.identifier_type_id
  JOIN patron ON patron.id = barcode.patron_id
  LEFT JOIN user_group ON user_group.id = patron.user_group_id
 WHERE barcode.institution_id = $1
   AND barcode.value_key = $2
   AND identifier_type.code = 'BARCODE'
"""
PLAIN_LIST_SQL = """
SELECT patron.id, patron.given_name, patron.surname, user_group.code AS user_group,
       coalesce(identifiers.list, '[]') AS identifiers, coalesce(blocks.list, '[]') AS blocks
  FROM patron
  LEFT JOIN user_group ON user_group.id = patron.user_group_id
  LEFT JOIN LATERAL (
       SELECT json_agg(json_build_object('type', json_build_object('code', type.code),
                                         'value', identifier.value) ORDER BY type.code) AS list
         FROM patron_identifier AS identifier
         JOIN identifier_type AS type ON type.id = identifier.identifier_type_id
        WHERE identifier.patron_id = patron.id) AS identifiers ON true
  LEFT JOIN LATERAL (
       SELECT json_agg(json_build_object('type', json_build_object('code', type.code),
                                         'note', block.note, 'expiresAt', block.expires_at)
                       ORDER BY block.id) AS list
         FROM patron_block AS block
         JOIN block_type AS type ON type.id = block.block_type_id
        WHERE block.patron_id = patron.id) AS blocks ON true
 WHERE patron.institution_id = $1
 ORDER BY patron.surname_key, patron.given_key, patron.id
 LIMIT $2
"""

# ---------------------------------------------------------------------------------------
# The netzone server process: the real app, the plain endpoints beside it.
# ---------------------------------------------------------------------------------------


def server_settings(url: str) -> Any:
    """What a deployment runs (docker-compose.yml: NETZONE_ENVIRONMENT=production),
    without the scheduled jobs (see the module's docstring)."""
    from app.settings import Settings

    return Settings(DATABASE_URL=gen.app_url(url), environment="production", scheduled_jobs=False)


def global_id(type_name: str, pk: int) -> str:
    """netzone's opaque ids, written out (base64url of "Type:pk", unpadded)."""
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("=")


def build_server_app(url: str) -> Any:
    """The real app with the plain endpoints, the statement counter and the profiler."""
    from sqlalchemy import event
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from app.main import create_app

    app = create_app(server_settings(url))
    database = app.state.database
    engines = [e.sync_engine for e in (database.engine, database.request_engine) if e is not None]
    pool: asyncpg.Pool | None = None
    pool_lock = asyncio.Lock()
    counted: list[int] = [0]

    def count(*_: Any) -> None:
        counted[0] += 1

    async def init_connection(conn: asyncpg.Connection) -> None:
        await conn.set_type_codec(
            "json", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads,
            schema="pg_catalog",
        )  # fmt: skip

    async def get_pool() -> asyncpg.Pool:
        nonlocal pool
        if pool is None:
            async with pool_lock:
                if pool is None:
                    pool = await asyncpg.create_pool(
                        gen.asyncpg_dsn(url), min_size=10, max_size=10, init=init_connection
                    )
        return pool

    def json_response(body: object, status: int = 200) -> Response:
        return Response(orjson.dumps(body), status, media_type="application/json")

    async def caller(conn: asyncpg.Connection, request: Request) -> asyncpg.Record | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        digest = hashlib.sha256(token.strip().encode()).hexdigest()
        return await conn.fetchrow(PLAIN_TOKEN_SQL, digest)

    def may_read(account: asyncpg.Record, institution: str) -> bool:
        return bool(account["institution_code"] == institution and account["may_read"])

    async def plain_patron(request: Request) -> Response:
        institution = request.query_params.get("institution", "")
        barcode = request.query_params.get("barcode", "").strip().lower()
        edges = []
        async with (await get_pool()).acquire() as conn:
            account = await caller(conn, request)
            if account is None:
                return json_response({"error": "UNAUTHENTICATED"}, 401)
            if may_read(account, institution):
                row = await conn.fetchrow(PLAIN_LOOKUP_SQL, account["institution_id"], barcode)
                if row is not None:
                    node = {
                        "id": global_id("Patron", row["id"]),
                        "givenName": row["given_name"],
                        "surname": row["surname"],
                        "barcode": row["barcode"],
                        "userGroup": {"code": row["user_group"]} if row["user_group"] else None,
                    }
                    edges.append({"node": node})
        return json_response({"data": {"patrons": {"edges": edges}}})

    async def plain_patrons(request: Request) -> Response:
        institution = request.query_params.get("institution", "")
        first = min(int(request.query_params.get("first", "50")), 100)
        edges = []
        async with (await get_pool()).acquire() as conn:
            account = await caller(conn, request)
            if account is None:
                return json_response({"error": "UNAUTHENTICATED"}, 401)
            if may_read(account, institution):
                for row in await conn.fetch(PLAIN_LIST_SQL, account["institution_id"], first):
                    identifiers = row["identifiers"]
                    barcodes = [i["value"] for i in identifiers if i["type"]["code"] == "BARCODE"]
                    node = {
                        "id": global_id("Patron", row["id"]),
                        "givenName": row["given_name"],
                        "surname": row["surname"],
                        "barcode": barcodes[0] if barcodes else None,
                        "identifiers": identifiers,
                        "blocks": row["blocks"],
                        "userGroup": {"code": row["user_group"]} if row["user_group"] else None,
                    }
                    edges.append({"node": node})
        return json_response({"data": {"patrons": {"edges": edges}}})

    async def sql_start(_: Request) -> Response:
        counted[0] = 0
        for engine in engines:
            if not event.contains(engine, "before_cursor_execute", count):
                event.listen(engine, "before_cursor_execute", count)
        return json_response({})

    async def sql_stop(_: Request) -> Response:
        for engine in engines:
            if event.contains(engine, "before_cursor_execute", count):
                event.remove(engine, "before_cursor_execute", count)
        return json_response({"statements": counted[0]})

    profiler: list[Any] = []

    async def profile_start(_: Request) -> Response:
        from pyinstrument import Profiler

        profiler[:] = [Profiler(async_mode="disabled", interval=0.0005)]
        profiler[0].start()
        return json_response({})

    async def profile_stop(_: Request) -> Response:
        if not profiler:
            return json_response({})
        p = profiler.pop()
        p.stop()
        return json_response({"text": p.output_text(unicode=False, color=False)})

    app.router.routes.extend(
        [
            Route("/plain/patron", plain_patron, methods=["GET"]),
            Route("/plain/patrons", plain_patrons, methods=["GET"]),
            Route("/bench/sql/start", sql_start, methods=["POST"]),
            Route("/bench/sql/stop", sql_stop, methods=["POST"]),
            Route("/bench/profile/start", profile_start, methods=["POST"]),
            Route("/bench/profile/stop", profile_stop, methods=["POST"]),
        ]
    )
    return app


def serve(url: str, port: int, workers: int = 1) -> None:
    """As `netzone serve` runs uvicorn (logging included), with the access log off; with
    several workers, each builds the app itself (from NETZONE_BENCH_URL)."""
    import logging

    import uvicorn

    settings = server_settings(url)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    os.environ[BENCH_URL_ENV] = url
    uvicorn.run(
        "bench.point_lookup:server_app_from_env" if workers > 1 else build_server_app(url),
        factory=workers > 1,
        host="127.0.0.1",
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
    )


BENCH_URL_ENV = "NETZONE_BENCH_URL"


def server_app_from_env() -> Any:
    """build_server_app in each worker process of a server with several."""
    return build_server_app(os.environ[BENCH_URL_ENV])


# ---------------------------------------------------------------------------------------
# A minimal HTTP/1.1 client (set-up, checks; the walk-in and amplification benchmarks).
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
    """One keep-alive HTTP/1.1 connection (content-length or chunked answers)."""

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
        headers = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = b""
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                body += await self.reader.readexactly(size)
                await self.reader.readexactly(2)
            await self.reader.readuntil(b"\r\n")
            return status, body
        length = int(headers.get(b"content-length", b"0"))
        return status, (await self.reader.readexactly(length) if length else b"")

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


async def graphql(port: int, query: str, variables: dict[str, Any], token: str | None) -> Any:
    answer = await call(
        port, http_post("/graphql", {"query": query, "variables": variables}, token)
    )
    if answer.get("errors"):
        raise RuntimeError(f"GraphQL errors: {answer['errors']}")
    return answer["data"]


# ---------------------------------------------------------------------------------------
# The servers.
# ---------------------------------------------------------------------------------------


class Process:
    """A server process on a free port, its output in a log file, stopped on exit."""

    name = "server"

    def __init__(self, log_dir: Path | None = None) -> None:
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None
        self._log_dir = log_dir or Path(tempfile.mkdtemp(prefix="netzone-bench-"))
        self.log_path = self._log_dir / f"{self.name}-{self.port}.log"

    def command(self) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    async def ready(self) -> bool:
        raise NotImplementedError

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        return ""

    async def __aenter__(self) -> Self:
        argv, env = self.command()
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                *argv, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        for _ in range(600):
            if self.process.returncode is not None:
                raise RuntimeError(f"the {self.name} did not start:\n{self.log_tail()}")
            with contextlib.suppress(OSError, RuntimeError, asyncio.IncompleteReadError):
                if await self.ready():
                    return self
            await asyncio.sleep(0.1)
        await self.__aexit__()
        raise RuntimeError(f"the {self.name} did not answer in 60 s:\n{self.log_tail()}")

    async def __aexit__(self, *_: object) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


class Server(Process):
    """The netzone server process (`python -m bench.point_lookup --serve URL --port N`)."""

    name = "netzone server"

    def __init__(self, url: str, log_dir: Path | None = None, workers: int = 1) -> None:
        super().__init__(log_dir)
        self.url = url
        self.workers = workers
        if workers > 1:
            self.name = f"netzone server ({workers} workers)"

    def command(self) -> tuple[list[str], dict[str, str]]:
        argv = [sys.executable, "-m", "bench.point_lookup", "--serve", self.url]
        argv += ["--port", str(self.port), "--workers", str(self.workers)]
        return argv, {**os.environ, "PYTHONUNBUFFERED": "1"}

    async def ready(self) -> bool:
        await call(self.port, http_get("/healthz"))
        return True

    async def graphql(self, query: str, variables: dict[str, Any], token: str | None = None) -> Any:
        return await graphql(self.port, query, variables, token)

    async def login(self, username: str, library: str) -> str:
        data = await self.graphql(
            "mutation($i: LoginInput!) { login(input: $i) { token errors { code message } } }",
            {"i": {"username": username, "password": PASSWORD, "library": library}},
        )
        if data["login"]["errors"] or not data["login"]["token"]:
            raise RuntimeError(f"login of {username} failed: {data['login']['errors']}")
        return str(data["login"]["token"])

    async def statements(self, raw: bytes) -> int:
        """SQL statements the app's engines send for one request."""
        await call(self.port, http_post("/bench/sql/start", {}))
        await call(self.port, raw)
        return int((await call(self.port, http_post("/bench/sql/stop", {})))["statements"])


POSTGRAPHILE_DIR = Path.home() / ".cache" / "netzone-bench" / "postgraphile"


def postgraphile_cli(directory: Path) -> Path | str:
    """PostGraphile 4's cli.js, installed with npm if it is not there yet; or why not."""
    cli = directory / "node_modules" / "postgraphile" / "cli.js"
    if cli.exists():
        return cli
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        return "npm/node not found: install Node.js (with npm) for the PostGraphile baseline"
    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / "package.json").exists():
        (directory / "package.json").write_text('{"name": "netzone-bench-postgraphile"}\n')
    print(f"Installing postgraphile@4 into {directory} (npm) ...", flush=True)
    try:
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "postgraphile@4"],
            cwd=directory, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return "npm install postgraphile@4 did not finish in 10 minutes"
    if done.returncode != 0 or not cli.exists():
        return f"npm install postgraphile@4 failed: {(done.stdout + done.stderr)[-500:]}"
    return cli


class PostGraphile(Process):
    """PostGraphile 4 on the benchmark's database, one Node process, no authentication."""

    name = "PostGraphile"

    def __init__(self, cli: Path, url: str, log_dir: Path | None = None) -> None:
        super().__init__(log_dir)
        self.cli, self.url = cli, url

    def command(self) -> tuple[list[str], dict[str, str]]:
        node = shutil.which("node") or "node"
        argv = [node, str(self.cli), "-c", gen.asyncpg_dsn(self.url), "--schema", "public"]
        argv += ["--host", "127.0.0.1", "--port", str(self.port), "--disable-graphiql", "--cors"]
        argv += ["--disable-query-log"]
        return argv, {**os.environ, "NODE_ENV": "production"}

    async def ready(self) -> bool:
        await graphql(self.port, TYPENAME_QUERY, {}, None)
        return True


# ---------------------------------------------------------------------------------------
# wrk.
# ---------------------------------------------------------------------------------------

WRK_SCRIPT = Path(__file__).with_name("wrk_random.lua")


@dataclass
class Run:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    server_cpu: float  # seconds of the server process
    client_cpu: float  # seconds of wrk
    failures: int
    first_failure: str

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Target:
    measure: str  # lookup, list, floor
    name: str
    server: Process
    path: str  # the URL's path (POST) or "" (GET: the lines are paths)
    lines: Path
    expect: str
    token: str | None

    @property
    def method(self) -> str:
        return "POST" if self.path else "GET"

    @property
    def key(self) -> str:
        return f"{self.measure}: {self.name}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) and of its running child
    processes (a server's workers), from /proc."""
    total = 0
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    todo = [pid]
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        todo.extend(children.get(current, []))
    return total / os.sysconf("SC_CLK_TCK")


def settle(pids: Sequence[int], *, quiet_cpu: float = 0.01, limit: float = 10.0) -> None:
    """Wait until the servers are idle: a run's requests still in flight when wrk stops
    are finished by the server after it, and must not fall into the next run."""
    started = time.perf_counter()
    before = sum(cpu_seconds(p) for p in pids)
    while time.perf_counter() - started < limit:
        time.sleep(0.2)
        now = sum(cpu_seconds(p) for p in pids)
        if now - before <= quiet_cpu:
            return
        before = now


def run_wrk(target: Target, seconds: int, connections: int) -> Run:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is needed for the load (apt-get install wrk)")
    argv = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s"]
    argv += ["-s", str(WRK_SCRIPT)]
    if target.token:
        argv += ["-H", f"Authorization: Bearer {target.token}"]
    if target.method == "POST":
        argv += ["-H", "Content-Type: application/json"]
    argv += [f"http://127.0.0.1:{target.server.port}{target.path or '/'}"]
    argv += ["--", str(target.lines), target.method, target.expect]
    server_before = cpu_seconds(target.server.pid)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    output = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    server_cpu = cpu_seconds(target.server.pid) - server_before
    line = next((x for x in output.splitlines() if x.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({target.key}): {output[-1000:]}")
    r = json.loads(line[len("WRKJSON ") :])
    failures = r["failures"] + r["socket_errors"] + r["timeouts"]
    return Run(
        requests=r["requests"],
        seconds=r["duration_us"] / 1e6,
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        server_cpu=server_cpu,
        client_cpu=usage.ru_utime + usage.ru_stime,
        failures=failures,
        first_failure=r["first_failure"]
        or (f"{r['socket_errors']} socket errors, {r['timeouts']} timeouts" if failures else ""),
    )


# ---------------------------------------------------------------------------------------
# Data, checks and the measurement.
# ---------------------------------------------------------------------------------------


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


async def reference_ids(url: str) -> tuple[int, int]:
    """The ids of NEKLS and of the BARCODE identifier type (PostGraphile's arguments)."""
    conn = await asyncpg.connect(gen.asyncpg_dsn(url))
    try:
        institution = await conn.fetchval("SELECT id FROM institution WHERE code = $1", INSTITUTION)
        barcode = await conn.fetchval("SELECT id FROM identifier_type WHERE code = 'BARCODE'")
    finally:
        await conn.close()
    return int(institution), int(barcode)


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


def _pg_patron(node: dict[str, Any], barcode: str | None = None) -> tuple[Any, ...]:
    group = node["userGroupByUserGroupId"]
    return (node["givenName"], node["surname"], barcode, group["code"] if group else None)


def _nz_patron(node: dict[str, Any]) -> tuple[Any, ...]:
    group = node["userGroup"]
    return (node["givenName"], node["surname"], node["barcode"], group["code"] if group else None)


async def check_answers(
    server: Server,
    postgraphile: PostGraphile | None,
    token: str,
    patrons: list[tuple[str, int]],
    ids: tuple[int, int],
) -> None:
    """Every target answers the same patrons with the same fields."""
    for barcode, patron_id in patrons[:5]:
        nz = await server.graphql(LOOKUP_QUERY, {"barcode": barcode}, token)
        plain = await call(
            server.port,
            http_get(f"/plain/patron?institution={INSTITUTION}&barcode={barcode}", token),
        )
        edges = nz["patrons"]["edges"]
        if nz != plain["data"] or len(edges) != 1:
            raise RuntimeError(f"lookup answers differ: {nz} / {plain}")
        if edges[0]["node"]["id"] != global_id("Patron", patron_id):
            raise RuntimeError(f"lookup of {barcode} found {edges[0]} instead of {patron_id}")
        if postgraphile is not None:
            variables = {"institutionId": ids[0], "typeId": ids[1], "barcode": barcode.lower()}
            pg = await graphql(postgraphile.port, PG_LOOKUP_QUERY, variables, None)
            found = pg["patronIdentifierByInstitutionIdAndIdentifierTypeIdAndValueKey"]
            if _pg_patron(found["patronByPatronId"], found["value"]) != _nz_patron(
                edges[0]["node"]
            ):
                raise RuntimeError(f"PostGraphile's lookup differs: {pg} / {nz}")
    nz = await server.graphql(LIST_QUERY, {}, token)
    plain = await call(server.port, http_get(f"/plain/patrons?institution={INSTITUTION}", token))
    if nz != plain["data"] or len(nz["patrons"]["edges"]) != 50:
        raise RuntimeError(f"list answers differ:\n{nz}\n{plain}")
    if postgraphile is not None:
        pg = await graphql(postgraphile.port, PG_LIST_QUERY, {"institutionId": ids[0]}, None)

        def pg_row(node: dict[str, Any]) -> tuple[Any, ...]:
            pairs = {
                (i["identifierTypeByIdentifierTypeId"]["code"], i["value"])
                for i in node["patronIdentifiersByPatronId"]["nodes"]
            }
            barcode = next((v for c, v in pairs if c == "BARCODE"), None)
            blocks = len(node["patronBlocksByPatronId"]["nodes"])
            return (*_pg_patron(node, barcode), pairs, blocks)

        def nz_row(node: dict[str, Any]) -> tuple[Any, ...]:
            pairs = {(i["type"]["code"], i["value"]) for i in node["identifiers"]}
            return (*_nz_patron(node), pairs, len(node["blocks"]))

        mine = [nz_row(e["node"]) for e in nz["patrons"]["edges"]]
        theirs = [pg_row(e["node"]) for e in pg["allPatrons"]["edges"]]
        if mine != theirs:
            raise RuntimeError(f"PostGraphile's list differs:\n{theirs}\n{mine}")


def write_lines(directory: Path, name: str, lines: Sequence[str]) -> Path:
    path = directory / f"{name}.txt"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def targets(
    directory: Path,
    server: Server,
    postgraphile: PostGraphile | None,
    token: str,
    patrons: list[tuple[str, int]],
    ids: tuple[int, int],
) -> list[Target]:
    def bodies(query: str, variables: Sequence[dict[str, Any]]) -> list[str]:
        return [orjson.dumps({"query": query, "variables": v}).decode() for v in variables]

    barcodes = [{"barcode": b} for b, _ in patrons]
    w = {
        "lookup": write_lines(directory, "lookup", bodies(LOOKUP_QUERY, barcodes)),
        "plain-lookup": write_lines(
            directory,
            "plain-lookup",
            [f"/plain/patron?institution={INSTITUTION}&barcode={b}" for b, _ in patrons],
        ),
        "list": write_lines(directory, "list", bodies(LIST_QUERY, [{}])),
        "plain-list": write_lines(
            directory, "plain-list", [f"/plain/patrons?institution={INSTITUTION}&first=50"]
        ),
        "typename": write_lines(directory, "typename", bodies(TYPENAME_QUERY, [{}])),
        "id-only": write_lines(directory, "id-only", bodies(ID_ONLY_QUERY, barcodes)),
    }
    found = '"surname"'
    result = [
        Target("lookup", "netzone", server, "/graphql", w["lookup"], found, token),
        Target("lookup", "plain", server, "", w["plain-lookup"], found, token),
        Target("list", "netzone", server, "/graphql", w["list"], found, token),
        Target("list", "plain", server, "", w["plain-list"], found, token),
        Target("floor", "{ __typename } anonymous", server, "/graphql", w["typename"],
               '"__typename"', None),
        Target("floor", "{ __typename } with token", server, "/graphql", w["typename"],
               '"__typename"', token),
        Target("floor", "lookup, id only", server, "/graphql", w["id-only"], '"id"', token),
    ]  # fmt: skip
    if postgraphile is not None:
        pg_lookup = write_lines(
            directory,
            "pg-lookup",
            bodies(
                PG_LOOKUP_QUERY,
                [
                    {"institutionId": ids[0], "typeId": ids[1], "barcode": b.lower()}
                    for b, _ in patrons
                ],
            ),
        )
        pg_list = write_lines(
            directory, "pg-list", bodies(PG_LIST_QUERY, [{"institutionId": ids[0]}])
        )
        result.insert(2, Target("lookup", "PostGraphile", postgraphile, "/graphql", pg_lookup,
                                found, None))  # fmt: skip
        result.insert(5, Target("list", "PostGraphile", postgraphile, "/graphql", pg_list,
                                found, None))  # fmt: skip
    return result


@dataclass
class SizeResult:
    size: int
    runs: dict[str, list[Run]]
    statements: dict[str, int]
    postgraphile: str  # "" when it ran, else why not
    profile: str = ""
    orders: list[list[str]] = field(default_factory=list)


def pooled(runs: list[Run]) -> float:
    seconds = sum(r.seconds for r in runs)
    return sum(r.requests for r in runs) / seconds if seconds else 0.0


async def measure_size(
    url: str,
    size: int,
    *,
    rounds: int,
    seconds: int,
    warmup: int,
    connections: int,
    seed: int,
    postgraphile_dir: Path | None,
    profile: bool = False,
    workers: int = 1,
) -> SizeResult:
    patrons = await sample_patrons(url)
    ids = await reference_ids(url)
    why_not = "skipped (--no-postgraphile)"
    cli: Path | str = why_not
    if postgraphile_dir is not None:
        cli = postgraphile_cli(postgraphile_dir)
    if isinstance(cli, str):
        why_not = cli
        print(f"PostGraphile baseline not run: {cli}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="netzone-bench-"))
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(Server(url, work))
        postgraphile = None
        if isinstance(cli, Path):
            postgraphile = await stack.enter_async_context(PostGraphile(cli, url, work))
            why_not = ""
        token = await server.login(*STAFF)
        await check_answers(server, postgraphile, token, patrons, ids)
        plan = targets(work, server, postgraphile, token, patrons, ids)
        if workers > 1:
            several = await stack.enter_async_context(Server(url, work, workers))
            lookup = plan[0]
            plan.insert(1, Target("lookup", f"netzone, {workers} workers", several,
                                  "/graphql", lookup.lines, lookup.expect, token))  # fmt: skip
        statements = {}
        for t in plan:
            if t.server is server and t.path:
                first = t.lines.read_text().splitlines()[0]
                statements[t.key] = await server.statements(
                    http_post("/graphql", orjson.loads(first), t.token)
                )
        print(f"Warming up ({warmup} s a target) ...", flush=True)
        pids = sorted({t.server.pid for t in plan})
        for t in plan:
            settle(pids)
            run_wrk(t, warmup, connections)
        runs: dict[str, list[Run]] = {t.key: [] for t in plan}
        orders = []
        for r in range(rounds):
            order = list(plan)
            random.Random(seed * 1000 + r).shuffle(order)
            orders.append([t.key for t in order])
            for t in order:
                settle(pids)
                run = run_wrk(t, seconds, connections)
                if run.failures:
                    raise RuntimeError(
                        f"{t.key}: {run.failures} failures, e.g. {run.first_failure}"
                    )
                runs[t.key].append(run)
            print(f"  round {r + 1}/{rounds} done", flush=True)
        text = ""
        if profile:
            settle(pids)
            await call(server.port, http_post("/bench/profile/start", {}))
            run_wrk(plan[0], 5, connections)
            text = str((await call(server.port, http_post("/bench/profile/stop", {})))["text"])
    shutil.rmtree(work, ignore_errors=True)
    return SizeResult(size, runs, statements, why_not, text, orders)


def print_results(
    results: list[SizeResult], *, connections: int, rounds: int, seconds: int
) -> None:
    print()
    print(
        f"Over HTTP: wrk -t1 -c{connections}, {rounds} rounds of {seconds} s per target, "
        "the order shuffled per round; req/s pooled over the rounds, p50/p99 the median of "
        "the rounds' figures; CPU per request of the server process; wrk's own CPU"
    )
    header = (
        f"{'size':>5}  {'measure':<7} {'target':<26} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'SQL':>4} {'server CPU/req':>14} {'wrk CPU':>8}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        for key, runs in result.runs.items():
            measure, name = key.split(": ", 1)
            requests = sum(r.requests for r in runs)
            duration = sum(r.seconds for r in runs)
            cpu_us = sum(r.server_cpu for r in runs) / requests * 1e6 if requests else 0.0
            client = sum(r.client_cpu for r in runs) / duration * 100 if duration else 0.0
            sql = result.statements.get(key)
            sql_text = str(sql) if sql is not None else ("2" if name == "plain" else "")
            print(
                f"{label(result.size):>5}  {measure:<7} {name:<26} {pooled(runs):>8,.0f} "
                f"{statistics.median(r.p50_ms for r in runs):>7.2f} "
                f"{statistics.median(r.p99_ms for r in runs):>7.2f} {sql_text:>4} "
                f"{cpu_us:>11,.0f} µs {client:>7.0f}%"
            )
    print()
    print("Throughput ratios: pooled, and the median (range) of the per-round ratios")
    for result in results:
        if result.postgraphile:
            print(f"{label(result.size):>5}  PostGraphile not measured: {result.postgraphile}")
        for measure in ("lookup", "list"):
            pairs = [("netzone", "plain"), ("netzone", "PostGraphile"), ("PostGraphile", "plain")]
            pairs += [
                (key.split(": ", 1)[1], "netzone")
                for key in result.runs
                if key.startswith(f"{measure}: netzone, ")
            ]
            for a, b in pairs:
                ra, rb = result.runs.get(f"{measure}: {a}"), result.runs.get(f"{measure}: {b}")
                if not ra or not rb:
                    continue
                per_round = [x.throughput / y.throughput for x, y in zip(ra, rb, strict=True)]
                print(
                    f"{label(result.size):>5}  {measure:<7} {a + '/' + b:<22} "
                    f"{pooled(ra) / pooled(rb):>6.3f}x   {statistics.median(per_round):.3f}x "
                    f"({min(per_round):.3f}-{max(per_round):.3f})"
                )
    for result in results:
        if result.profile:
            print()
            print(f"pyinstrument, netzone lookups at {label(result.size)} (server process):")
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
                warmup=args.warmup,
                connections=args.connections,
                seed=args.seed,
                postgraphile_dir=None if args.no_postgraphile else Path(args.postgraphile_dir),
                profile=args.profile,
                workers=args.workers,
            )
        )
    print_results(results, connections=args.connections, rounds=args.rounds, seconds=args.seconds)
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
        workers = int(argv[argv.index("--workers") + 1]) if "--workers" in argv else 1
        serve(argv[1], int(argv[argv.index("--port") + 1]), workers)
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=3, help="per target and round")
    parser.add_argument("--warmup", type=int, default=2, help="seconds per target, once")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c")
    parser.add_argument("--seed", type=int, default=1, help="of the per-round orders")
    parser.add_argument(
        "--postgraphile-dir",
        default=str(POSTGRAPHILE_DIR),
        help="where postgraphile@4 is (or gets) installed with npm",
    )
    parser.add_argument("--no-postgraphile", action="store_true", help="skip that baseline")
    parser.add_argument("--profile", action="store_true", help="pyinstrument in the server")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="N > 1: also run the lookup against a netzone server of N worker processes",
    )
    args = parser.parse_args(argv)
    asyncio.run(run(args))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
