"""Password guessing, tried as an attacker would: in parallel, from one address, against
known and unknown names, through forwarded headers.

The parallel tests go over TCP to `netzone serve` in a subprocess (its own pool) on a
committed database, so checks really race on PostgreSQL (SQLite serialises writers)."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from app.db import Database
from app.main import create_app
from app.settings import Settings
from tests.reliability.counts import record
from tests.reliability.live_server import LiveDatabase, LiveServer, live_server
from tests.support.graphql import GraphQL

CREATE = """mutation($u: String!) {
  createPatron(input: {institution: "NEKLS", homeLibrary: "LANSING", surname: "Target",
                       username: $u, password: "the-right-password"}) {
    patron { id } errors { code message } } }"""

GUESSES = 100
NAMES = 80


@pytest.fixture(scope="module")
async def live_db(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveDatabase]:
    db = await LiveDatabase.create(database_url, "guess", tmp_path_factory.mktemp("guess"))
    try:
        await asyncio.to_thread(db.seed)
        yield db
    finally:
        await db.drop()


@pytest.fixture(scope="module")
def roomy(live_db: LiveDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose address budget does not get in the way of the account lockout."""
    log = tmp_path_factory.mktemp("guess-roomy") / "serve.log"
    with live_server(live_db.url, log, address_failures_per_minute="100000") as running:
        yield running


@pytest.fixture(scope="module")
def strict(live_db: LiveDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with the default budget of 50 failures per address and minute."""
    log = tmp_path_factory.mktemp("guess-strict") / "serve.log"
    with live_server(live_db.url, log) as running:
        yield running


async def test_parallel_guesses_on_one_account_check_at_most_the_lockout(roomy: LiveServer) -> None:
    async with roomy.client() as http:
        gql = GraphQL(http)
        admin = await gql.login("nekls.admin", "LANSING")
        created = await gql.ok(CREATE, {"u": "guess.target"}, admin)
        assert created["createPatron"]["errors"] == [], created
        # When 100 wrong passwords arrive at once
        answers = await asyncio.gather(
            *(
                GraphQL(http).login_payload("guess.target", "LANSING", f"wrong-{n}")
                for n in range(GUESSES)
            )
        )
        # Then none opens a session, and at most the lockout threshold (10) were checked:
        # the rest were refused before their password was looked at
        assert all(a["token"] is None for a in answers)
        codes = Counter(a["errors"][0]["code"] for a in answers)
        assert set(codes) <= {"INVALID_CREDENTIALS", "ACCOUNT_LOCKED", "TOO_MANY_ATTEMPTS"}, codes
        assert codes["INVALID_CREDENTIALS"] <= 10, codes
        assert codes["ACCOUNT_LOCKED"] >= GUESSES - 10, codes
        # And the right password is refused now too (locked)
        right = await GraphQL(http).login_payload("guess.target", "LANSING", "the-right-password")
        assert right["token"] is None
        assert right["errors"][0]["code"] == "ACCOUNT_LOCKED"
        record("login attacks: parallel guesses sent", GUESSES + 1)


async def test_parallel_failures_from_one_address_stay_within_its_budget(
    strict: LiveServer,
) -> None:
    async with strict.client() as http:
        # When 80 logins with different unknown names fail at once from one address
        answers = await asyncio.gather(
            *(
                GraphQL(http).login_payload(f"nobody.{n}", "LANSING", "wrong-password")
                for n in range(NAMES)
            )
        )
        codes = Counter(a["errors"][0]["code"] for a in answers)
        # Then at most the budget (50 a minute) were checked
        assert codes["INVALID_CREDENTIALS"] <= 50, codes
        assert codes["TOO_MANY_ATTEMPTS"] >= NAMES - 50, codes
        # And a forwarded address header does not give a fresh budget (no proxy trusted):
        # failures with a new X-Forwarded-For each still use up the same one
        checked = codes["INVALID_CREDENTIALS"]
        for n in range(60):
            more = await GraphQL(http).login_payload(
                f"later.{n}",
                "LANSING",
                "wrong-password",
                headers={"x-forwarded-for": f"203.0.113.{n}"},
            )
            if more["errors"][0]["code"] == "TOO_MANY_ATTEMPTS":
                break
            checked += 1
        assert checked <= 50
        right = await GraphQL(http).login_payload(
            "lansing.librarian",
            "LANSING",
            "netzone-demo",
            headers={"x-forwarded-for": "203.0.113.99"},
        )
        assert right["token"] is None
        assert right["errors"][0]["code"] == "TOO_MANY_ATTEMPTS"
        record("login attacks: parallel guesses sent", NAMES + 61)


def _shape(answer: dict[str, Any]) -> tuple[Any, ...]:
    """The answer, with the time a lock ends made neutral (the two may straddle a minute)."""
    return (
        answer["token"],
        [(e["code"], re.sub(r"\d\d:\d\d", "HH:MM", e["message"])) for e in answer["errors"]],
    )


async def test_an_unknown_name_answers_like_a_known_one(
    settings: Settings, database: Database
) -> None:
    # Two callers from addresses of their own: one guesses a real account's password,
    # the other a name nobody has
    answers: dict[str, list[tuple[Any, ...]]] = {}
    app = create_app(settings, database)
    for name, address in (("lansing.librarian", "198.51.100.1"), ("no.such.name", "198.51.100.2")):
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
            answers[name] = [
                _shape(await GraphQL(http).login_payload(name, "LANSING", f"wrong-{n}"))
                for n in range(12)
            ]
    # Then both get the same answers, attempt by attempt: ten times "not correct", then
    # locked (an unknown name locks like a known one, so locking reveals nothing)
    assert answers["lansing.librarian"] == answers["no.such.name"]
    codes = [shape[1][0][0] for shape in answers["no.such.name"]]
    assert codes == ["INVALID_CREDENTIALS"] * 10 + ["ACCOUNT_LOCKED"] * 2
    record("login attacks: enumeration attempts", 24)
