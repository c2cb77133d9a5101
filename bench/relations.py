"""Per-patron relations at scale: time linear in the objects returned, statements fixed.

    .venv/bin/python -m bench.relations --url postgresql://postgres@127.0.0.1:5432/bench_rel

The query of the speed issue's second goal: N aliases of a page of 100 NEKLS patrons,
each patron asking for the relations computed per patron (`consortialAccounts`,
`linkedAccounts`, `alerts`, `linkedFrom`, and `borrowing`). The cost rule refuses more
than five such aliases in a deployment; here its limits are raised so that the work
itself is measured. Before measuring, the page's patrons are given work to do: each
gets a consortial id shared with a patron of EASTERN (who then shows as a consortial
account) and a linked copy at WESTERN.

The app runs in this process (create_app on the database, requests through httpx's
ASGI transport, no HTTP server): every figure is the server's own work. For each
number of aliases it prints the best of `--rounds` runs, the objects in the answer
(every JSON object and list item), objects per second, and the SQL statements sent.
Linear means objects/s stays flat as aliases grow; fixed means the statements grow by
one page statement per alias only.

Run it from another checkout to compare (`PYTHONPATH=<checkout> python <this file>`):
it uses only create_app, Settings, Database and create_engine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import time
from collections.abc import Sequence
from typing import Any

import httpx
import orjson
from sqlalchemy import event, text

from app.db import Database, create_engine
from app.main import create_app
from app.settings import Settings
from bench import point_lookup as pl

PER_PATRON = (
    "id consortialAccounts { ref institution { code } } linkedAccounts { linkedAt "
    "institution { code } } alerts { code } linkedFrom { ref } borrowing { allowed "
    "reasons { code } }"
)


def query(aliases: int) -> str:
    page = f'patrons(institution: "NEKLS", first: 100) {{ edges {{ node {{ {PER_PATRON} }} }} }}'
    return "{ " + " ".join(f"a{i}: {page}" for i in range(aliases)) + " }"


def objects(value: Any) -> int:
    """The JSON objects in an answer, and the items of its lists that are not objects."""
    if isinstance(value, dict):
        return 1 + sum(objects(v) for v in value.values())
    if isinstance(value, list):
        return sum(objects(v) if isinstance(v, dict | list) else 1 for v in value)
    return 0


def patron_id(global_id: str) -> int:
    raw = base64.b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return int(raw.split(":")[1])


GIVE_WORK = """
WITH page AS (SELECT unnest(CAST(:ids AS integer[])) AS id),
consortial AS (SELECT id FROM identifier_type WHERE code = 'CONSORTIAL_ID'),
eastern AS (
    SELECT p.id, row_number() OVER (ORDER BY p.id) AS n
    FROM patron p JOIN institution i ON i.id = p.institution_id
    WHERE i.code = 'EASTERN' AND p.account_type = 'HOME' AND p.enabled
),
mine AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM page)
INSERT INTO patron_identifier (patron_id, institution_id, identifier_type_id, value, value_key)
SELECT p.id, p.institution_id, (SELECT id FROM consortial), 'BENCH-C' || m.n,
       'bench-c' || m.n
FROM mine m JOIN patron p ON p.id = m.id
UNION ALL
SELECT p.id, p.institution_id, (SELECT id FROM consortial), 'BENCH-C' || m.n,
       'bench-c' || m.n
FROM mine m JOIN eastern e ON e.n = m.n JOIN patron p ON p.id = e.id
"""

COPY_TO_WESTERN = """
INSERT INTO patron (institution_id, home_library_id, user_group_id, account_type,
    surname, surname_key, given_name, given_key, enabled, is_staff, is_generic, version,
    failed_logins, created_at, updated_at, link_source_patron_id,
    link_source_institution_id, link_rule_id, linked_at, link_status, link_reason)
SELECT w.id, (SELECT id FROM library WHERE institution_id = w.id ORDER BY id LIMIT 1),
    (SELECT id FROM user_group WHERE institution_id = w.id ORDER BY id LIMIT 1),
    'LINKED', p.surname, p.surname_key, p.given_name, p.given_key, true, false, false, 1,
    0, now(), now(), p.id, p.institution_id,
    (SELECT id FROM linked_account_rule WHERE institution_id = w.id ORDER BY id LIMIT 1),
    now(), 'ACTIVE', 'WALK_IN'
FROM patron p, institution w
WHERE w.code = 'WESTERN' AND p.id = ANY(CAST(:ids AS integer[]))
"""


async def give_work(database: Database, ids: list[int]) -> None:
    async with database.engine.begin() as connection:
        done = await connection.scalar(
            text("SELECT count(*) FROM patron_identifier WHERE value_key LIKE 'bench-c%'")
        )
        if done:
            return
        await connection.execute(text(GIVE_WORK), {"ids": ids})
        await connection.execute(text(COPY_TO_WESTERN), {"ids": ids})
        await connection.execute(text("ANALYZE patron"))
        await connection.execute(text("ANALYZE patron_identifier"))


async def measure(url: str, rounds: int, sizes: Sequence[int]) -> None:
    settings = Settings(
        DATABASE_URL=url,  # type: ignore[call-arg]
        max_cost=10**9,
        max_aliases=100,
        max_tokens=10**6,
        request_timeout=600,
    )
    engine = create_engine(settings)
    database = Database(engine)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    app = create_app(settings, database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

        async def post(body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
            headers = {"authorization": f"Bearer {token}"} if token else {}
            response = await http.post("/graphql", json=body, headers=headers)
            answer: dict[str, Any] = orjson.loads(response.content)
            if answer.get("errors"):
                raise RuntimeError(str(answer["errors"])[:500])
            return answer

        login = await post(
            {
                "query": "mutation($u: String!, $p: String!, $l: String!) { login(input: "
                "{username: $u, password: $p, library: $l}) { token errors { code } } }",
                "variables": {"u": pl.STAFF[0], "p": pl.PASSWORD, "l": pl.STAFF[1]},
            }
        )
        token = login["data"]["login"]["token"]
        page = await post({"query": query(1)}, token)
        ids = [patron_id(e["node"]["id"]) for e in page["data"]["a0"]["edges"]]
        await give_work(database, ids)
        print(f"{len(ids)} patrons a page; each with a consortial account and a linked copy")
        print(
            f"  {'aliases':>7} {'seconds':>8} {'objects':>8} {'objects/s':>10} {'statements':>10}"
        )
        for aliases in sizes:
            best = float("inf")
            answer: dict[str, Any] = {}
            for _ in range(rounds):
                statements.clear()
                started = time.perf_counter()
                answer = await post({"query": query(aliases)}, token)
                best = min(best, time.perf_counter() - started)
            made = objects(answer["data"])
            nodes = [e["node"] for e in answer["data"]["a0"]["edges"]]
            found = sum(1 for n in nodes if n["consortialAccounts"] and n["linkedAccounts"])
            if found < len(nodes) // 2:
                # (an EASTERN patron restricted, disabled or expired is not shown)
                raise RuntimeError(f"only {found} of the page's patrons show their relations")
            print(
                f"  {aliases:>7} {best:>8.3f} {made:>8} {made / best:>10.0f} {len(statements):>10}"
            )
    await engine.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    pl.add_arguments(parser)
    parser.add_argument("--rounds", type=int, default=3, help="runs per alias count (best kept)")
    parser.add_argument("--aliases", default="1,5,10,30", help="alias counts, comma-separated")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.aliases.split(",") if s.strip()]

    async def run() -> None:
        for size in [pl.parse_size(s) for s in args.sizes.split(",") if s.strip()]:
            url = pl.size_url(args.url, size)
            await pl.prepare(url, size, args.reuse)
            await measure(url, args.rounds, sizes)

    asyncio.run(run())


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
