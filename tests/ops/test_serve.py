"""`netzone serve --workers 2`: the metrics port adds up what every worker counted, and
every worker logs JSON lines with the request ids it answered with."""

from __future__ import annotations

import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.db import create_engine
from app.observability.metrics import MULTIPROC_ENV
from app.settings import Settings
from tests.reliability.live_server import (
    ROOT,
    STARTUP_SECONDS,
    LiveDatabase,
    free_port,
    netzone_command,
    service_env,
)

WORKERS = 2
REQUESTS = 12


@pytest.fixture
async def live_db(database_url: str, tmp_path: Path) -> AsyncIterator[LiveDatabase]:
    db = await LiveDatabase.create(database_url, "ops", tmp_path)
    try:
        yield db
    finally:
        await db.drop()


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """`netzone serve --port PORT` in the background, its output in `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            netzone_command("serve", "--port", str(port)),
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"netzone serve did not start:\n{log.read_text(errors='replace')}")


def test_several_workers_add_up_on_the_metrics_port(live_db: LiveDatabase, tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    env = service_env(live_db.url, metrics_port=str(metrics_port), log_format="json")
    env["NETZONE_LOG_LEVEL"] = "INFO"
    env.pop(MULTIPROC_ENV, None)  # `serve` prepares a directory of its own
    log = tmp_path / "serve.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            netzone_command("serve", "--port", str(port), "--workers", str(WORKERS)),
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(process, f"{base}/healthz", log)
        request_ids = []
        for _ in range(REQUESTS):
            # A new connection each time: the workers share the listening socket.
            with httpx.Client(base_url=base) as http:
                response = http.post(
                    "/graphql", json={"query": "query Mine { viewer { systemGroups } }"}
                )
            assert response.status_code == 200
            request_ids.append(response.headers["x-request-id"])
        # The API port does not serve the metrics; the metrics port does.
        with httpx.Client() as http:
            assert http.get(f"{base}/metrics").status_code == 404
            scraped = http.get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert scraped.status_code == 200
        samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(scraped.text)
            for sample in family.samples
        }
        ok = (
            "netzone_graphql_requests_total",
            frozenset({("operation", "viewer"), ("outcome", "ok")}),
        )
        assert samples[ok] == REQUESTS
        # Each worker keeps a request pool (on PostgreSQL of NETZONE_DB_POOL_SIZE, 20):
        # their sizes add up.
        settings = Settings(DATABASE_URL=live_db.url)  # type: ignore[call-arg]
        engine = create_engine(settings)
        one = engine.sync_engine.pool.size()  # type: ignore[attr-defined]  # never connected
        if not settings.is_sqlite:
            one = settings.db_pool_size
            assert one == 20
        assert samples[("netzone_db_pool_size", frozenset({("pool", "requests")}))] == WORKERS * one
    finally:
        process.terminate()
        process.wait(timeout=30)
    lines = [
        orjson.loads(line)
        for line in log.read_text(errors="replace").splitlines()
        if line.startswith("{")
    ]
    access = {line["request_id"]: line for line in lines if line.get("logger") == "netzone.access"}
    for request_id in request_ids:
        assert access[request_id]["path"] == "/graphql"
        assert access[request_id]["graphql_fields"] == ["viewer"]
        assert access[request_id]["status"] == 200
    # uvicorn's lines are JSON too, from every worker.
    started = [line for line in lines if line.get("logger") == "uvicorn.error"]
    assert (
        len({line["message"] for line in started if "Started server process" in line["message"]})
        == WORKERS
    )


LOGIN = (
    'mutation($p: String!) { login(input: {username: "lansing.librarian", password: $p, '
    'library: "LANSING"}) { token errors { code } } }'
)


def test_several_workers_share_the_login_counters(live_db: LiveDatabase, tmp_path: Path) -> None:
    """Counters live in the database, not in a worker: failed logins spread over the
    workers lock the account after the threshold, as with one worker."""
    live_db.seed()
    port = free_port()
    # The number of workers from the environment, as the Docker image takes it.
    env = service_env(live_db.url, lockout_threshold="4", log_format="json", workers="2")
    env["NETZONE_LOG_LEVEL"] = "INFO"
    log = tmp_path / "serve.log"
    process = _serve(env, port, log)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(process, f"{base}/healthz", log)

        def login(password: str) -> list[str]:
            # A new connection each time: the workers share the listening socket.
            with httpx.Client(base_url=base) as http:
                response = http.post(
                    "/graphql", json={"query": LOGIN, "variables": {"p": password}}
                )
            assert response.status_code == 200, response.text
            result = response.json()["data"]["login"]
            return [e["code"] for e in result["errors"]]

        for _ in range(3):
            assert login("not-the-password") == ["INVALID_CREDENTIALS"]
        # The right password still works before the threshold (and resets the counter).
        assert login("netzone-demo") == []
        for _ in range(4):
            login("not-the-password")
        # Locked now, on whichever worker answers, right password or not: asked until
        # every worker has answered it.
        already = len(_access_pids(log))
        for _ in range(100):
            assert login("netzone-demo") == ["ACCOUNT_LOCKED"]
            if len(set(_access_pids(log)[already:])) == WORKERS:
                break
        assert len(set(_access_pids(log)[already:])) == WORKERS
    finally:
        process.terminate()
        process.wait(timeout=30)


def _access_pids(log: Path) -> list[int]:
    """The process of each GraphQL request in the access log, in order."""
    return [
        line["pid"]
        for line in (
            orjson.loads(text)
            for text in log.read_text(errors="replace").splitlines()
            if text.startswith("{")
        )
        if line.get("logger") == "netzone.access" and line.get("path") == "/graphql"
    ]


def _scheduled_runs(metrics_url: str) -> dict[tuple[str, str], float]:
    with httpx.Client() as http:
        scraped = http.get(metrics_url)
    assert scraped.status_code == 200
    return {
        (sample.labels["job"], sample.labels["outcome"]): sample.value
        for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
        if sample.name == "netzone_scheduled_job_runs_total"
    }


def test_several_workers_on_sqlite_run_the_scheduled_jobs_in_one_of_them(
    live_db: LiveDatabase, tmp_path: Path
) -> None:
    """On SQLite `serve` runs the purge and the email check itself: with two workers,
    each job runs at start in one of them (the other counts it as run `elsewhere`),
    not once in each."""
    if not live_db.url.startswith("sqlite"):
        pytest.skip("on PostgreSQL `netzone worker` runs the scheduled jobs (tests/worker)")
    port, metrics_port = free_port(), free_port()
    env = service_env(
        live_db.url, metrics_port=str(metrics_port), scheduled_jobs="true", workers=str(WORKERS)
    )
    env.pop(MULTIPROC_ENV, None)
    log = tmp_path / "serve.log"
    process = _serve(env, port, log)
    try:
        _wait_until_up(process, f"http://127.0.0.1:{port}/healthz", log)
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        runs: dict[tuple[str, str], float] = {}
        for _ in range(300):  # until both workers have had their first turn at both jobs
            runs = _scheduled_runs(metrics_url)
            if all(
                sum(v for (job, _), v in runs.items() if job == name) >= WORKERS
                for name in ("purge", "check_emails")
            ):
                break
            time.sleep(0.1)
        for name in ("purge", "check_emails"):
            assert runs.get((name, "ok"), 0) == 1, runs
            assert runs.get((name, "elsewhere"), 0) == WORKERS - 1, runs
            assert runs.get((name, "failed"), 0) == 0, (runs, log.read_text(errors="replace"))
    finally:
        process.terminate()
        process.wait(timeout=30)
