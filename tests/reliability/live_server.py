"""A real netzone for the concurrency and fault tests: a committed database, a server process.

The normal tests run inside one rolled-back transaction, which can show neither real
concurrency nor a database that goes away. These helpers give a test module:

- `LiveDatabase`: a database of its own, migrated and seeded with the demo network by the
  real CLI (`netzone demo`), committed. On PostgreSQL it is named after the suite's test
  database plus a suffix (`test_d` -> `test_d_conc`, `netzone_ci` -> `netzone_ci_conc`) on
  the same server, dropped again afterwards; on SQLite it is a temporary file.
- `LiveServer`: `netzone serve` in a subprocess (uvicorn, one worker) on a free port.
- `PrivateCluster`: a PostgreSQL cluster of its own (initdb + pg_ctl in a temporary
  directory, on a free port) that a test may stop and start again.
- `netzone(...)`: the `netzone` command in a subprocess (imports, ...).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path
from typing import IO, Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from app.settings import normalize_database_url

ROOT = Path(__file__).resolve().parents[2]
DEMO_PATRONS = 40
STARTUP_SECONDS = 60.0

# What the suite's own settings use (tests/conftest.py): cheap argon2, no scheduled jobs.
BASE_ENV = {
    "NETZONE_ENVIRONMENT": "test",
    "NETZONE_ARGON2_TIME_COST": "1",
    "NETZONE_ARGON2_MEMORY_COST_KIB": "1024",
    "NETZONE_ARGON2_PARALLELISM": "1",
    "NETZONE_SCHEDULED_JOBS": "false",
    "NETZONE_LOG_LEVEL": "WARNING",
}


def service_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a netzone process: only what this suite chooses (NETZONE_* of
    the caller do not leak in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETZONE_")}
    env.pop("TEST_DATABASE_URL", None)
    env.update(BASE_ENV)
    env.update({f"NETZONE_{k.upper()}": v for k, v in settings.items()})
    env["DATABASE_URL"] = database_url
    env["PYTHONUNBUFFERED"] = "1"
    return env


def netzone_command(*args: str) -> list[str]:
    """The `netzone` console script, run by this interpreter (the project's venv)."""
    return [sys.executable, "-c", "from app.cli import main; main()", *args]


def netzone(
    *args: str, database_url: str, timeout: float = 120, **settings: str
) -> subprocess.CompletedProcess[str]:
    """Run `netzone ARGS` to the end; its output is returned (and shown when it fails)."""
    return subprocess.run(
        netzone_command(*args),
        env=service_env(database_url, **settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def is_postgres(url: str) -> bool:
    return normalize_database_url(url).startswith("postgresql")


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    """A plain postgresql:// DSN for asyncpg (the driver suffix removed)."""
    parsed = make_url(normalize_database_url(url)).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def pg_admin(url: str, *statements: str) -> None:
    """Run statements in the server's maintenance database `postgres` (autocommit)."""
    conn = await asyncpg.connect(_asyncpg_dsn(url, "postgres"), timeout=10)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@dataclass
class LiveDatabase:
    """A committed database of its own next to the suite's test database."""

    url: str  # SQLAlchemy form (postgresql+asyncpg://, sqlite+aiosqlite:///)

    @property
    def postgres(self) -> bool:
        return is_postgres(self.url)

    @classmethod
    async def create(cls, test_url: str, suffix: str, tmp_dir: Path) -> LiveDatabase:
        """Create (empty) `<test db>_<suffix>`, or a SQLite file in tmp_dir."""
        if is_postgres(test_url):
            base = make_url(normalize_database_url(test_url))
            name = f"{base.database}_{suffix}"
            await pg_admin(
                test_url,
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                f'CREATE DATABASE "{name}"',
            )
            return cls(base.set(database=name).render_as_string(hide_password=False))
        return cls(f"sqlite+aiosqlite:///{tmp_dir / f'netzone-{suffix}.db'}")

    def seed(self) -> None:
        """Migrate and seed the demo network with the real CLI (`netzone demo`)."""
        done = netzone("demo", "--patrons", str(DEMO_PATRONS), database_url=self.url)
        assert done.returncode == 0, done.stdout + done.stderr

    async def drop(self) -> None:
        if self.postgres:
            name = make_url(self.url).database
            await pg_admin(self.url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            path = Path(self.url.split("///", 1)[1])
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)


@dataclass
class LiveServer:
    """`netzone serve` in a subprocess, listening on a free port of 127.0.0.1."""

    database_url: str
    log_path: Path
    settings: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            netzone_command("serve", "--port", str(self.port)),
            env=service_env(self.database_url, **self.settings),
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"netzone serve exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"netzone serve did not start in {STARTUP_SECONDS}s:\n{self.log()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout=15)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20000:]
        except FileNotFoundError:
            return ""

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        return httpx.AsyncClient(
            base_url=self.base_url, timeout=kwargs.pop("timeout", 60), limits=limits, **kwargs
        )


@contextmanager
def live_server(database_url: str, log_path: Path, **settings: str) -> Iterator[LiveServer]:
    server = LiveServer(database_url, log_path, settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def live_worker(database_url: str, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`netzone worker` in a subprocess beside a live server (PostgreSQL: it runs the
    queued jobs, imports among them), without the scheduled jobs; stopped at the end."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            netzone_command("worker"),
            env=service_env(database_url, scheduled_jobs="false"),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=15)


# ------------------------------------------------------------------ a private PostgreSQL


def postgres_binaries() -> Path | None:
    """The directory of initdb and pg_ctl (newest installed version), if any."""
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    return None


def _version_key(path: str) -> int:
    part = path.split("/postgresql/", 1)[1].split("/", 1)[0]
    return int(part) if part.isdigit() else 0


class PrivateCluster:
    """A throw-away PostgreSQL cluster in a temporary directory (trust auth, no fsync).

    initdb refuses to run as root: as root the cluster belongs to the `postgres` user
    and its commands run through `runuser -u postgres --`.
    """

    def __init__(self, binaries: Path) -> None:
        # Not under pytest's tmp_path: its parents are private to the user running the
        # tests, and the server may run as another user (`postgres`).
        self.directory = Path(tempfile.mkdtemp(prefix="netzone-pg-"))
        self.data = self.directory / "data"
        self.binaries = binaries
        self.port = free_port()
        self.log = self.directory / "postgres.log"
        self._as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = list(args)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
            )

    def init(self) -> None:
        if self._as_postgres:
            shutil.chown(self.directory, "postgres")
        self._run(
            str(self.binaries / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            # fsync off: only an OS crash could lose data, and none is simulated here.
            # synchronous_commit stays on: an immediate stop must not lose a commit
            # the server already acknowledged.
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(
            str(self.binaries / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.log),
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        if not (self.data / "postmaster.pid").exists():
            return False
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop(mode="immediate")
            except RuntimeError:
                pass
        shutil.rmtree(self.directory, ignore_errors=True)
