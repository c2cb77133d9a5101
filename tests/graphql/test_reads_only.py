"""Requests that only read run without a transaction (PostgreSQL) or without the write
lock (SQLite), and their sessions refuse to write; everything else keeps its transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, event, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db import Database, ReadOnlyViolation, SerialSession
from app.graphql.reads import reads_only
from app.keys import DeploymentSecret, forget_cached_keys
from app.main import create_app
from app.patrons.models import Patron
from app.settings import Settings
from tests.support.database import committed_token
from tests.support.graphql import GraphQL

LOOKUP = """query Lookup($barcode: String!) {
  patrons(institution: "NEKLS", filter: {search: $barcode}, first: 1) {
    edges { node { id surname barcode userGroup { code } } }
  }
}"""

FIRST_BARCODE = """{ patrons(institution: "NEKLS", first: 1) { edges { node { barcode } } } }"""
# The same with a cursor, which is sealed with the deployment's key.
FIRST_WITH_CURSOR = (
    """{ patrons(institution: "NEKLS", first: 1) { edges { cursor node { barcode } } } }"""
)

# A mutation that is refused after reading (the patron's version is stale): it writes
# nothing, yet runs its statements in a transaction.
STALE_UPDATE = """mutation Stale($id: ID!) {
  updatePatron(input: {id: $id, expectedVersion: -1, surname: "Changed"}) {
    errors { code }
  }
}"""


class Statements:
    """Every statement the engine sends, with whether it ran inside a transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.seen: list[tuple[str, bool | None]] = []

    def __call__(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        driver = conn.connection.driver_connection
        in_transaction = (
            driver.is_in_transaction() if hasattr(driver, "is_in_transaction") else None
        )
        self.seen.append((" ".join(statement.split()[:2]).upper(), in_transaction))

    def texts(self) -> list[str]:
        return [start for start, _ in self.seen]


@pytest.fixture
def statements(engine: AsyncEngine) -> Iterator[Statements]:
    recorder = Statements(engine)
    event.listen(engine.sync_engine, "after_cursor_execute", recorder)
    try:
        yield recorder
    finally:
        event.remove(engine.sync_engine, "after_cursor_execute", recorder)


class Own(GraphQL):
    token: str


@pytest.fixture
async def own(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Own]:
    """The app on its own sessions, as it runs in production (not in a test's outer
    transaction), with a session token of lansing.librarian at LANSING written straight
    into the database and deleted afterwards: only operations that change nothing are
    sent through it (a login would leave its audit entry behind)."""
    async with committed_token(engine) as token:
        app = create_app(settings, Database(engine))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
            gql = Own(http)
            gql.token = token
            yield gql


async def test_a_query_runs_without_a_transaction(
    own: Own, statements: Statements, engine: AsyncEngine
) -> None:
    token = own.token
    gql = own
    barcode = (await gql.ok(FIRST_BARCODE, {}, token))["patrons"]["edges"][0]["node"]["barcode"]
    statements.seen.clear()
    data = await own.ok(LOOKUP, {"barcode": barcode}, token)
    assert data["patrons"]["edges"][0]["node"]["barcode"] == barcode
    assert statements.seen, "the lookup sent no statement"
    if engine.dialect.name == "postgresql":
        # The token check, the search and the fields: none inside a transaction.
        assert [t for _, t in statements.seen] == [False] * len(statements.seen), statements.seen
    else:
        # A plain (deferred) BEGIN: the request takes no write lock while it reads.
        assert "BEGIN" in statements.texts(), statements.seen
        assert "BEGIN IMMEDIATE" not in statements.texts(), statements.seen


async def test_a_query_makes_a_missing_deployment_secret_on_a_connection_of_its_own(
    own: Own, engine: AsyncEngine
) -> None:
    """A database migrated before the secret was seeded gets it on first use; a request
    that only reads writes it apart, committed, and its own session still writes nothing."""
    async with engine.begin() as conn:
        saved = (await conn.execute(select(DeploymentSecret))).one()
        await conn.execute(delete(DeploymentSecret))
    forget_cached_keys()
    try:
        data = await own.ok(FIRST_WITH_CURSOR, {}, own.token)
        assert data["patrons"]["edges"][0]["node"]["barcode"]
        assert data["patrons"]["edges"][0]["cursor"]
        async with engine.connect() as conn:
            made = (await conn.execute(select(DeploymentSecret))).one()
        assert made.name == "root"
        assert made.value != saved.value
    finally:
        async with engine.begin() as conn:
            await conn.execute(delete(DeploymentSecret))
            await conn.execute(insert(DeploymentSecret).values(name=saved.name, value=saved.value))
        forget_cached_keys()


async def test_a_mutation_runs_in_a_transaction(
    own: Own, statements: Statements, engine: AsyncEngine
) -> None:
    token = own.token
    gql = own
    patron = (
        await gql.ok(
            '{ patrons(institution: "NEKLS", first: 1) { edges { node { id } } } }', {}, token
        )
    )["patrons"]["edges"][0]["node"]["id"]
    statements.seen.clear()
    data = await own.ok(STALE_UPDATE, {"id": patron}, token)
    assert data["updatePatron"]["errors"][0]["code"] == "STALE_VERSION"
    if engine.dialect.name == "postgresql":
        # After the token check, the use case's statements run in a transaction.
        assert any(t for _, t in statements.seen), statements.seen
    else:
        assert "BEGIN IMMEDIATE" in statements.texts(), statements.seen


async def test_a_query_that_writes_keeps_its_transaction(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    """networkPatronSearch records the search in the audit trail: it is not counted as
    only reading, or its session would refuse the entry (and the search would fail)."""
    token = await gql.login("lansing.librarian", "LANSING")
    count = text("SELECT count(*) FROM audit_entry WHERE action = 'network_patron_search'")
    before = (await connection.execute(count)).scalar_one()
    data = await gql.ok(
        """{ networkPatronSearch(input: {identifier: "no-such-barcode-000"}) {
               matches { institution { code } } errors { code } } }""",
        {},
        token,
    )
    assert data["networkPatronSearch"] == {"matches": [], "errors": []}
    assert (await connection.execute(count)).scalar_one() == before + 1


async def test_a_session_that_only_reads_refuses_to_write(database: Database) -> None:
    async with database.session() as session:
        before = await session.scalar(
            select(func.count()).select_from(Patron).where(Patron.surname == "Written")
        )
        reader = SerialSession(session)
        reader.reads_only = True
        async with reader.use() as raw:
            some = await raw.scalar(select(Patron.id).limit(1))
            with pytest.raises(ReadOnlyViolation):
                await raw.execute(update(Patron).where(Patron.id == some).values(surname="Written"))
            with pytest.raises(ReadOnlyViolation):
                await raw.execute(select(Patron).where(Patron.id == some).with_for_update())
            patron = await raw.get(Patron, some)
            assert patron is not None
            patron.surname = "Written"
            with pytest.raises(ReadOnlyViolation):
                await raw.flush()
            await raw.rollback()
        session.info.clear()
        after = await session.scalar(
            select(func.count()).select_from(Patron).where(Patron.surname == "Written")
        )
        assert before == after == 0


@pytest.mark.parametrize(
    ("query", "name", "expected"),
    [
        ("{ viewer { username } }", None, True),
        ('query A { patrons(institution: "X") { count } } mutation B { logout }', "A", True),
        ('query A { patrons(institution: "X") { count } } mutation B { logout }', "B", False),
        ("query A { viewer { username } } query B { viewer { username } }", None, False),
        ("mutation { logout }", None, False),
        ('{ networkPatronSearch(input: {identifier: "1"}) { matches { id } } }', None, False),
        (
            '{ viewer { username } networkPatronSearch(input: {identifier: "1"}) { errors { code } } }',
            None,
            False,
        ),
        ("{ ...F } fragment F on Query { viewer { username } }", None, False),
        (
            '{ attributeDiscrepancies(type: "K", kind: MISSING_IN_SCOPE) { totalCount } }',
            None,
            False,
        ),
        ("{ viewer { username }", None, False),
        ("subscription { x }", None, False),
        (None, None, False),
    ],
)
def test_which_operations_only_read(query: str | None, name: str | None, expected: bool) -> None:
    assert reads_only(query, name) is expected
