"""Prometheus metrics: bounded labels, latency histograms, pools, logins, imports, SIP2."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from app.db import Database, create_engine
from app.graphql.schema import build_schema
from app.main import create_app
from app.observability import metrics as metrics_module
from app.settings import Settings
from tests.support.graphql import GraphQL
from tests.support.imports import HEADER, Importer, student, to_csv
from tests.support.ops import Metrics, delta, value
from tests.support.sip2 import SECRET, SipClient, running_server

REQUESTS = "netzone_graphql_requests_total"
DURATION = "netzone_graphql_request_duration_seconds"


def root_field_names(settings: Settings) -> set[str]:
    schema = build_schema(settings)._schema  # type: ignore[attr-defined]
    return set(schema.query_type.fields) | set(schema.mutation_type.fields)


async def test_operations_are_counted_by_root_field_and_outcome_with_bounded_labels(
    gql: GraphQL, client: httpx.AsyncClient, metrics: Metrics, settings: Settings
) -> None:
    before = await metrics.scrape()
    token = await gql.login("lansing.librarian", "LANSING")
    await gql.ok("query ClientChosenName_q7 { viewer { systemGroups } }", token=token)
    # A root field the schema does not have, under a made-up operation name: `other`.
    refused = await gql("query MadeUpOperation_z3 { dropAllTables_k9 }")
    assert refused["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    wrong = await gql.login_errors("lansing.librarian", "LANSING", "not-it")
    assert [e["code"] for e in wrong] == ["INVALID_CREDENTIALS"]
    unauthenticated = await gql('{ patrons(institution: "NEKLS") { totalCount } }')
    assert unauthenticated["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # A batch: each operation counts; two root fields in one operation count under each.
    batch = await client.post(
        "/graphql",
        json=[
            {"query": "{ viewer { systemGroups } }"},
            {"query": "{ network { name } viewer { systemGroups } }"},
        ],
        headers={"authorization": f"Bearer {token}"},
    )
    assert batch.status_code == 200
    # Refused before any operation: not JSON.
    bad = await client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400
    after = await metrics.scrape()

    def counted(operation: str, outcome: str) -> float:
        return delta(before, after, REQUESTS, operation=operation, outcome=outcome)

    assert counted("login", "ok") == 1
    assert counted("login", "user_error") == 1
    assert counted("viewer", "ok") == 3
    assert counted("network", "ok") == 1
    assert counted("patrons", "user_error") == 1
    assert counted("other", "refused") == 2
    # Latency histograms, per root field.
    assert delta(before, after, f"{DURATION}_count", operation="viewer") == 3
    assert value(after, f"{DURATION}_bucket", operation="viewer", le="+Inf") >= 3
    assert value(after, f"{DURATION}_bucket", operation="viewer", le="0.005") >= 0
    # Names chosen by clients never become label values.
    for chosen in ("ClientChosenName_q7", "MadeUpOperation_z3", "dropAllTables_k9"):
        assert chosen not in metrics.text
    allowed = root_field_names(settings) | {"other"}
    operations = {
        dict(labels)["operation"]
        for (name, labels) in after
        if name.startswith(("netzone_graphql_requests", DURATION))
    }
    assert operations <= allowed
    outcomes = {dict(labels)["outcome"] for (name, labels) in after if name == REQUESTS}
    assert outcomes <= {"ok", "user_error", "error", "refused"}
    # HTTP requests by route.
    assert (
        delta(
            before,
            after,
            "netzone_http_requests_total",
            route="/graphql",
            method="POST",
            status="400",
        )
        == 1
    )


async def test_metrics_are_not_served_by_the_api_by_default(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    assert Settings().metrics_port is None
    await gql.ok("{ viewer { systemGroups } }")
    response = await client.get("/metrics")
    assert response.status_code == 404
    assert "netzone_graphql_requests" not in response.text


async def test_the_database_pool_in_use_and_its_size(settings: Settings, metrics: Metrics) -> None:
    engine = create_engine(settings)
    metrics_module.watch_pool(engine, "ops_test")
    try:
        async with engine.connect():
            during = await metrics.scrape()
        after = await metrics.scrape()
    finally:
        await engine.dispose()
    assert value(during, "netzone_db_pool_checked_out", pool="ops_test") == 1
    assert value(after, "netzone_db_pool_checked_out", pool="ops_test") == 0
    assert value(after, "netzone_db_pool_size", pool="ops_test") >= 1


async def test_the_api_watches_its_own_pools(settings: Settings, metrics: Metrics) -> None:
    app = create_app(settings)
    database: Database = app.state.database
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
            response = await http.post("/graphql", json={"query": "{ viewer { systemGroups } }"})
            assert response.status_code == 200
    finally:
        await database.dispose()
    samples = await metrics.scrape()
    assert value(samples, "netzone_db_pool_size", pool="requests") >= 1


async def test_login_failures_and_lockouts(
    gql: GraphQL, settings: Settings, metrics: Metrics
) -> None:
    before = await metrics.scrape()
    guess = ("no.such.person", "LANSING", "guess")
    for _ in range(settings.lockout_threshold):
        errors = await gql.login_errors(*guess)
        assert [e["code"] for e in errors] == ["INVALID_CREDENTIALS"]
    errors = await gql.login_errors(*guess)
    assert [e["code"] for e in errors] == ["ACCOUNT_LOCKED"]
    after = await metrics.scrape()
    failures = "netzone_login_failures_total"
    assert (
        delta(before, after, failures, channel="login", reason="invalid_credentials")
        == settings.lockout_threshold
    )
    assert delta(before, after, failures, channel="login", reason="locked") == 1
    assert delta(before, after, "netzone_lockouts_total", channel="login") == 1


async def test_import_jobs_by_state(
    client: httpx.AsyncClient, gql: GraphQL, metrics: Metrics
) -> None:
    token = await gql.login("northfield.admin", "NORTHFIELD-MAIN")
    before = await metrics.scrape()
    job = await Importer(client).job(token, to_csv(HEADER, [student(1)]))
    assert job["status"] == "SUCCEEDED"
    failed = await Importer(client).job(token, to_csv(HEADER, [student(2, home_library="NOPE")]))
    assert failed["status"] == "FAILED"
    after = await metrics.scrape()
    jobs = "netzone_import_jobs_total"
    assert delta(before, after, jobs, state="queued") == 2
    assert delta(before, after, jobs, state="running") == 2
    assert delta(before, after, jobs, state="succeeded") == 1
    assert delta(before, after, jobs, state="failed") == 1
    assert value(after, "netzone_import_jobs_running") == 0


async def test_sip2_sessions_and_messages_by_command(
    database: Database, settings: Settings, metrics: Metrics
) -> None:
    before = await metrics.scrape()
    async with running_server(database, settings) as server:
        sip = await SipClient.connect(server.port)
        refused = await sip.login("kanopy-lansing", "wrong-secret")
        assert refused.fixed["ok"] == "0"
        accepted = await sip.login("kanopy-lansing", SECRET)
        assert accepted.fixed["ok"] == "1"
        await sip.send(b"9900302.00\r")
        await sip.receive()
        await sip.send(b"not a message\r")
        await sip.receive()
        during = await metrics.scrape()
        await sip.close()
        for _ in range(50):
            if server.connections == 0:
                break
            await asyncio.sleep(0.05)
    after = await metrics.scrape()
    messages = "netzone_sip2_messages_total"
    assert delta(before, during, messages, command="login") == 2
    assert delta(before, during, messages, command="sc_status") == 1
    assert delta(before, during, messages, command="unreadable") == 1
    assert delta(before, during, "netzone_sip2_sessions") == 1
    assert delta(before, after, "netzone_sip2_sessions") == 0
    assert delta(before, during, "netzone_sip2_connections_total", outcome="accepted") == 1
    assert (
        delta(
            before,
            during,
            "netzone_login_failures_total",
            channel="sip2_account",
            reason="invalid_credentials",
        )
        == 1
    )
    assert (
        delta(before, during, "netzone_sip2_message_duration_seconds_count", command="login") == 2
    )


def test_a_given_multiprocess_directory_is_emptied_of_an_earlier_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stale = tmp_path / "counter_4242.db"
    stale.write_bytes(b"an earlier run")
    kept = tmp_path / "notes.txt"
    kept.write_text("not ours")
    monkeypatch.setenv(metrics_module.MULTIPROC_ENV, str(tmp_path))
    assert metrics_module.prepare_processes(1) == tmp_path
    assert not stale.exists()
    assert kept.exists()
