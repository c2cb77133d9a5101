"""Benchmark data: the demo network grown to 50 institutions and N patrons, in PostgreSQL.

    python -m bench.generate --url postgresql://postgres@127.0.0.1:5432/netzone_bench \\
        --patrons 100000

The database is dropped and created again (only an empty one, or one this generator
made, which it marks with a database comment), migrated with `app.migrate.upgrade`,
seeded with the demo network structure (`app.demo.seed.seed_demo` without generated
patrons: NEKLS, EASTERN, WESTERN, NORTHFIELD, the staff logins and the KANOPY_LANSING
attribute type), given 46 more institutions through the network services, and then
bulk-loaded with asyncpg COPY:

- N patrons, interleaved over the 50 institutions (NEKLS holds `--nekls-share` of
  them, the other 49 share the rest evenly), each with a BARCODE; universities and
  schools add ADMIN_SYSTEM_ID, universities UNIV_ID;
- one LIBRARY_USERS system group row per patron;
- KANOPY_LANSING values for the NEKLS patrons (staff accounts aside): mostly by the
  home-library rule, with `--discrepancy-rate` (5%) of the LANSING patrons blank, as
  many NOT_ALLOWED (MISSING_IN_SCOPE) and that share of the other NEKLS patrons
  ALLOWED (PRESENT_OUT_OF_SCOPE).

The rows are valid by construction, so the load runs with foreign-key triggers off
(`session_replication_role = replica`) and the non-unique indexes of the loaded tables
dropped and created again afterwards (the same definitions, read from the catalog).
Then VACUUM ANALYZE, so the benchmarks start from a settled, analysed database.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import select
from sqlalchemy.engine import make_url

from app.attributes import service as attributes
from app.auth.policy import system_actor
from app.db import create_engine, create_session_factory
from app.demo.names import GIVEN_NAMES, SURNAMES
from app.demo.seed import INSTITUTIONS, KANOPY, seed_demo
from app.migrate import upgrade
from app.network import service as network
from app.network.models import IdentifierType, Institution, Library, UserGroup
from app.settings import Settings

MARKER = "netzone-bench"
INSTITUTION_COUNT = 50
CHUNK = 50_000
LOADED_TABLES = ("patron", "patron_identifier", "patron_system_group", "patron_attribute")

# Towns for the 46 generated institutions (public systems, universities, schools).
TOWNS = (
    "Abilene Atchison Augusta Baldwin Belleville Beloit Chanute Colby Concordia Derby Dodge "
    "Emporia Eudora Fredonia Garnett Girard Goodland Hays Hiawatha Holton Hutchinson "
    "Independence Iola Junction Larned Leavenworth Liberal Lindsborg Marysville McPherson "
    "Newton Norton Olathe Osawatomie Ottawa Paola Parsons Pittsburg Pratt Russell Salina "
    "Seneca Wamego Wellington Winfield Yates"
).split()

# (kind, user groups (code, name, loan days, weight)); each institution takes 1 to 3.
KINDS: dict[str, list[tuple[str, str, int, int]]] = {
    "PL": [
        ("ADULT", "Adult", 21, 70),
        ("JUVENILE", "Juvenile", 21, 25),
        ("STAFF", "Library staff", 28, 5),
    ],
    "U": [
        ("STUDENT", "Student", 28, 75),
        ("FACULTY", "Faculty", 120, 15),
        ("VISITOR", "Visitor", 14, 10),
    ],
    "SCH": [
        ("STUDENT", "Student", 14, 90),
        ("STAFF", "Staff", 28, 10),
        ("VISITOR", "Visitor", 7, 2),
    ],
}
KIND_NAMES = {
    "PL": "{town} Public Library System",
    "U": "{town} State University",
    "SCH": "{town} School District",
}
BRANCHES = ("MAIN", "EAST", "WEST")


@dataclass
class Plan:
    """One institution as the bulk load sees it."""

    id: int
    code: str
    library_ids: list[int]
    group_ids: list[int]
    group_weights: list[int]
    staff_group_ids: frozenset[int]
    barcode_prefix: str
    admin_ids: bool = False
    univ_ids: bool = False
    school: bool = False
    count: int = 0
    next_n: int = 0


@dataclass
class Result:
    patrons: int
    identifiers: int
    attributes: int
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)
    nekls_patrons: int = 0
    lansing_patrons: int = 0


def _log(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, flush=True)


def asyncpg_dsn(url: str, database: str | None = None) -> str:
    """The URL as a plain postgresql:// DSN asyncpg accepts (optionally another database)."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def app_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def database_name(url: str) -> str:
    name = make_url(url).database
    if not name:
        raise SystemExit("The URL must name a database, e.g. .../netzone_bench")
    return name


async def read_marker(url: str) -> str | None:
    """The generator's comment on the database, or None (also when it does not exist)."""
    conn = await asyncpg.connect(asyncpg_dsn(url, "postgres"))
    try:
        return await conn.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            database_name(url),
        )
    finally:
        await conn.close()


async def recreate_database(url: str) -> None:
    """Drop and create the database; refuse one with tables that this generator did not make."""
    name = database_name(url)
    quoted = '"' + name.replace('"', '""') + '"'
    admin = await asyncpg.connect(asyncpg_dsn(url, "postgres"))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            marker = await admin.fetchval(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
                name,
            )
            if not (marker or "").startswith(MARKER):
                conn = await asyncpg.connect(asyncpg_dsn(url))
                try:
                    tables = await conn.fetchval(
                        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                    )
                finally:
                    await conn.close()
                if tables:
                    raise SystemExit(
                        f"Database {name} has tables and was not made by bench.generate; "
                        "refusing to drop it. Use an empty database or a new name."
                    )
            await admin.execute(f"DROP DATABASE {quoted} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {quoted}")
    finally:
        await admin.close()


async def seed_structure(url: str, seed: int) -> None:
    """Demo network without generated patrons, then institutions up to 50 (via the services)."""
    settings = Settings(DATABASE_URL=app_url(url))  # type: ignore[call-arg]
    engine = create_engine(settings)
    factory = create_session_factory(engine)
    actor = system_actor("bench")
    rng = random.Random(f"bench-structure-{seed}")
    try:
        async with factory() as session:
            await seed_demo(session, settings, patrons_per_institution=0)
        async with factory() as session:
            existing = len(list((await session.execute(select(Institution.id))).scalars()))
            for n, town in enumerate(TOWNS[: INSTITUTION_COUNT - existing]):
                kind = ("PL", "U", "SCH")[n % 3]
                code = f"{kind}-{town.upper()}"
                await network.create_institution(
                    session=session,
                    actor=actor,
                    code=code,
                    name=KIND_NAMES[kind].format(town=town),
                )
                for branch in BRANCHES[: rng.randint(1, 3)]:
                    await network.create_library(
                        session=session,
                        actor=actor,
                        institution_code=code,
                        code=f"{code}-{branch}",
                        name=f"{town} {branch.title()} Library",
                    )
                for group_code, name, days, _ in KINDS[kind][: rng.randint(1, 3)]:
                    await network.create_user_group(
                        session=session,
                        actor=actor,
                        institution_code=code,
                        code=group_code,
                        name=name,
                        loan_period_days=days,
                    )
    finally:
        await engine.dispose()


async def _plans(conn: asyncpg.Connection) -> list[Plan]:
    """Every institution with its libraries, user groups, patron mix and identifier habits."""
    demo = {spec.code: spec for spec in INSTITUTIONS}
    institutions = await conn.fetch("SELECT id, code FROM institution ORDER BY id")
    libraries = await conn.fetch("SELECT id, institution_id FROM library ORDER BY id")
    groups = await conn.fetch("SELECT id, institution_id, code FROM user_group ORDER BY id")
    plans: list[Plan] = []
    for number, row in enumerate(institutions):
        code = row["code"]
        own_groups = {g["code"]: g["id"] for g in groups if g["institution_id"] == row["id"]}
        if code in demo:
            spec = demo[code]
            mix = list(spec.patron_mix)
            if code == "NEKLS":
                mix.append(("STAFF", 1))  # staff accounts: no Kanopy value, excluded from reports
            prefix = spec.barcode_prefix
            admin_ids = spec.univ_ids or spec.school
            univ_ids = spec.univ_ids
            school = spec.school
        else:
            kind = code.split("-", 1)[0]
            weights = {c: w for c, _, _, w in KINDS[kind]}
            mix = [(c, weights[c]) for c in own_groups]
            prefix = f"2{500 + number:04d}"
            admin_ids = kind in ("U", "SCH")
            univ_ids = kind == "U"
            school = kind == "SCH"
        plans.append(
            Plan(
                id=row["id"],
                code=code,
                library_ids=[lib["id"] for lib in libraries if lib["institution_id"] == row["id"]],
                group_ids=[own_groups[c] for c, _ in mix],
                group_weights=[w for _, w in mix],
                staff_group_ids=frozenset(v for c, v in own_groups.items() if c == "STAFF"),
                barcode_prefix=prefix,
                admin_ids=admin_ids,
                univ_ids=univ_ids,
                school=school,
            )
        )
    return plans


async def _drop_secondary_indexes(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    """Drop the indexes of the loaded tables that back no constraint; return their definitions."""
    rows = await conn.fetch(
        """
        SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = 'public' AND t.relname = ANY($1::text[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY i.relname
        """,
        list(LOADED_TABLES),
    )
    for row in rows:
        await conn.execute(f'DROP INDEX "{row["name"]}"')
    return [(row["name"], row["definition"]) for row in rows]


async def _create_indexes(url: str, definitions: list[tuple[str, str]]) -> None:
    """Create the dropped indexes again, two at a time (one per core on a small machine)."""
    queue = list(definitions)

    async def worker() -> None:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await conn.execute("SET maintenance_work_mem = '256MB'")
            while queue:
                _, definition = queue.pop()
                await conn.execute(definition)
        finally:
            await conn.close()

    await asyncio.gather(worker(), worker())


def _chunk_rows(
    plans: list[Plan],
    chosen: Sequence[int],
    first_id: int,
    ids: dict[str, int],
    kanopy: tuple[int, int, int, float] | None,
    rng: random.Random,
    now: datetime,
    today: date,
) -> tuple[
    list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]
]:
    """Rows of one chunk: patrons, identifiers, system groups, Kanopy values."""
    patrons: list[tuple[Any, ...]] = []
    identifiers: list[tuple[Any, ...]] = []
    system_groups: list[tuple[Any, ...]] = []
    values: list[tuple[Any, ...]] = []
    barcode, admin, univ = ids["BARCODE"], ids["ADMIN_SYSTEM_ID"], ids["UNIV_ID"]
    nekls_id, kanopy_type, lansing_id, rate = kanopy if kanopy else (-1, -1, -1, 0.0)
    identifier_id = ids["next_identifier_id"]
    value_id = ids["next_value_id"]
    givens = rng.choices(GIVEN_NAMES, k=len(chosen))
    surnames = rng.choices(SURNAMES, k=len(chosen))
    expiry_offsets = [rng.randint(-60, 3 * 365) for _ in chosen]
    created_offsets = [rng.randint(0, 10 * 365 * 24 * 60) for _ in chosen]
    for offset, index in enumerate(chosen):
        plan = plans[index]
        patron_id = first_id + offset
        n = plan.next_n
        plan.next_n += 1
        given = givens[offset]
        surname = surnames[offset]
        given_key = given.lower()
        surname_key = surname.lower()
        group_id = rng.choices(plan.group_ids, plan.group_weights)[0]
        library_id = plan.library_ids[rng.randrange(len(plan.library_ids))]
        is_staff = group_id in plan.staff_group_ids
        cohort = form_class = None
        if plan.school and not is_staff:
            year = rng.randint(7, 12)
            cohort = str(today.year + 13 - year)
            form_class = f"{year}{'ABC'[rng.randrange(3)]}"
        created = now - timedelta(minutes=created_offsets[offset])
        email_name = surname_key.replace("'", "")
        patrons.append(
            (
                patron_id,
                plan.id,
                library_id,
                group_id,
                "HOME",
                given,
                surname,
                given_key,
                surname_key,
                f"{given_key}.{email_name}{patron_id}@example.org",
                rng.random() > 0.02,
                is_staff,
                False,
                today + timedelta(days=expiry_offsets[offset]),
                cohort,
                form_class,
                1,
                0,
                created,
                created,
            )
        )
        code = f"{plan.barcode_prefix}{n:08d}"
        identifiers.append((identifier_id, patron_id, plan.id, barcode, code, code))
        identifier_id += 1
        if plan.admin_ids:
            code = f"{plan.code[:2]}{1_000_000 + n}"
            identifiers.append((identifier_id, patron_id, plan.id, admin, code, code.lower()))
            identifier_id += 1
        if plan.univ_ids:
            code = f"{plan.code[0]}{plan.id:02d}{n:07d}"
            identifiers.append((identifier_id, patron_id, plan.id, univ, code, code.lower()))
            identifier_id += 1
        system_groups.append((patron_id, "LIBRARY_USERS"))
        if plan.id == nekls_id and not is_staff:
            draw = rng.random()
            if library_id == lansing_id:
                value = None if draw < rate else "NOT_ALLOWED" if draw < 2 * rate else "ALLOWED"
            else:
                value = "ALLOWED" if draw < rate else "NOT_ALLOWED"
            if value is not None:
                values.append((value_id, patron_id, kanopy_type, value))
                value_id += 1
    ids["next_identifier_id"] = identifier_id
    ids["next_value_id"] = value_id
    return patrons, identifiers, system_groups, values


PATRON_COLUMNS = [
    "id",
    "institution_id",
    "home_library_id",
    "user_group_id",
    "account_type",
    "given_name",
    "surname",
    "given_key",
    "surname_key",
    "primary_email",
    "enabled",
    "is_staff",
    "is_generic",
    "expiry_date",
    "cohort",
    "form_class",
    "version",
    "failed_logins",
    "created_at",
    "updated_at",
]
IDENTIFIER_COLUMNS = [
    "id",
    "patron_id",
    "institution_id",
    "identifier_type_id",
    "value",
    "value_key",
]
ATTRIBUTE_COLUMNS = ["id", "patron_id", "attribute_type_id", "value"]


async def bulk_load(
    url: str,
    count: int,
    *,
    seed: int,
    nekls_share: float,
    discrepancy_rate: float,
    quiet: bool,
    phases: dict[str, float],
) -> Result:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    started = time.perf_counter()
    try:
        plans = await _plans(conn)
        by_code = {p.code: p for p in plans}
        type_ids = {
            r["code"]: r["id"] for r in await conn.fetch("SELECT id, code FROM identifier_type")
        }
        nekls = by_code["NEKLS"]
        lansing_id = await conn.fetchval("SELECT id FROM library WHERE code = 'LANSING'")
        kanopy_type = await conn.fetchval(
            "SELECT id FROM attribute_type WHERE institution_id = $1 AND code = $2",
            nekls.id,
            KANOPY.code,
        )
        ids: dict[str, int] = {
            "BARCODE": type_ids[network.BARCODE],
            "ADMIN_SYSTEM_ID": type_ids[network.ADMIN_SYSTEM_ID],
            "UNIV_ID": type_ids["UNIV_ID"],
            "next_identifier_id": await conn.fetchval(
                "SELECT coalesce(max(id), 0) + 1 FROM patron_identifier"
            ),
            "next_value_id": await conn.fetchval(
                "SELECT coalesce(max(id), 0) + 1 FROM patron_attribute"
            ),
        }
        first_id = await conn.fetchval("SELECT coalesce(max(id), 0) + 1 FROM patron")
        rng = random.Random(f"bench-patrons-{seed}")
        weights = [
            nekls_share if p is nekls else (1 - nekls_share) / (len(plans) - 1) for p in plans
        ]
        # Patrons registered over the years: the institutions interleave in id order.
        chosen = rng.choices(range(len(plans)), weights, k=count)
        now = datetime.now(UTC)
        today = now.date()

        await conn.execute("SET synchronous_commit = off")
        await conn.execute("SET session_replication_role = replica")  # no FK triggers
        dropped = await _drop_secondary_indexes(conn)
        phases["prepare"] = time.perf_counter() - started

        totals = {"identifiers": 0, "attributes": 0}
        generate_s = copy_s = 0.0
        for start in range(0, count, CHUNK):
            t0 = time.perf_counter()
            rows = _chunk_rows(
                plans,
                chosen[start : start + CHUNK],
                first_id + start,
                ids,
                (nekls.id, kanopy_type, lansing_id, discrepancy_rate),
                rng,
                now,
                today,
            )
            t1 = time.perf_counter()
            patrons, identifiers, system_groups, values = rows
            await conn.copy_records_to_table("patron", records=patrons, columns=PATRON_COLUMNS)
            await conn.copy_records_to_table(
                "patron_identifier", records=identifiers, columns=IDENTIFIER_COLUMNS
            )
            await conn.copy_records_to_table(
                "patron_system_group", records=system_groups, columns=["patron_id", "system_group"]
            )
            if values:
                await conn.copy_records_to_table(
                    "patron_attribute", records=values, columns=ATTRIBUTE_COLUMNS
                )
            t2 = time.perf_counter()
            generate_s += t1 - t0
            copy_s += t2 - t1
            totals["identifiers"] += len(identifiers)
            totals["attributes"] += len(values)
            done = min(start + CHUNK, count)
            _log(quiet, f"  {done:>9,} patrons  ({time.perf_counter() - started:6.1f} s)")
        phases["generate rows (Python)"] = generate_s
        phases["COPY"] = copy_s
        await conn.execute("SET session_replication_role = origin")
        for table in ("patron", "patron_identifier", "patron_attribute"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        t0 = time.perf_counter()
        await _create_indexes(url, dropped)
        phases["create indexes"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for table in LOADED_TABLES:
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        await conn.execute("ANALYZE")
        phases["VACUUM ANALYZE"] = time.perf_counter() - t0
        nekls_count = sum(1 for i in chosen if plans[i] is nekls)
        lansing_count = await conn.fetchval(
            "SELECT count(*) FROM patron WHERE home_library_id = $1", lansing_id
        )
        return Result(
            patrons=count,
            identifiers=totals["identifiers"],
            attributes=totals["attributes"],
            seconds=0.0,
            nekls_patrons=nekls_count,
            lansing_patrons=lansing_count,
        )
    finally:
        await conn.close()


async def generate(
    url: str,
    patrons: int,
    *,
    seed: int = 1,
    nekls_share: float = 0.1,
    discrepancy_rate: float = 0.05,
    quiet: bool = False,
) -> Result:
    """Build the benchmark database from nothing; returns counts and timings."""
    phases: dict[str, float] = {}
    started = time.perf_counter()
    _log(quiet, f"Generating {patrons:,} patrons in {database_name(url)}")
    await recreate_database(url)
    t0 = time.perf_counter()
    await asyncio.to_thread(upgrade, app_url(url))
    phases["migrate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    await seed_structure(url, seed)
    phases["seed network (services)"] = time.perf_counter() - t0
    result = await bulk_load(
        url,
        patrons,
        seed=seed,
        nekls_share=nekls_share,
        discrepancy_rate=discrepancy_rate,
        quiet=quiet,
        phases=phases,
    )
    result.seconds = time.perf_counter() - started
    result.phases = phases
    admin = await asyncpg.connect(asyncpg_dsn(url, "postgres"))
    try:
        name = database_name(url).replace('"', '""')
        comment = marker_for(patrons, seed, nekls_share, discrepancy_rate)
        await admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{comment}'")
    finally:
        await admin.close()
    if not quiet:
        for phase, seconds in phases.items():
            print(f"  {phase:<26} {seconds:8.1f} s")
        print(
            f"Done in {result.seconds:.1f} s: {result.patrons:,} patrons "
            f"({result.nekls_patrons:,} NEKLS, {result.lansing_patrons:,} at LANSING), "
            f"{result.identifiers:,} identifiers, {result.attributes:,} Kanopy values"
        )
    return result


def marker_for(
    patrons: int, seed: int = 1, nekls_share: float = 0.1, discrepancy_rate: float = 0.05
) -> str:
    return (
        f"{MARKER} patrons={patrons} seed={seed} nekls_share={nekls_share} "
        f"discrepancy_rate={discrepancy_rate}"
    )


async def _verify_services(url: str) -> None:
    """A cheap check that the app's services read the generated data."""
    settings = Settings(DATABASE_URL=app_url(url))  # type: ignore[call-arg]
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            nekls = await network.institution_by_code(session, "NEKLS")
            info = None
            if nekls is not None and nekls.id is not None:
                info = await attributes.type_by_code(session, nekls.id, KANOPY.code)
            institutions = len((await session.execute(select(Institution.id))).all())
            groups = (await session.execute(select(UserGroup.id))).all()
            libraries = (await session.execute(select(Library.id))).all()
            types = (await session.execute(select(IdentifierType.code))).scalars().all()
    finally:
        await engine.dispose()
    problems = [
        text
        for text, ok in (
            ("the KANOPY_LANSING type with its rule", info is not None and info.has_rule),
            (f"{INSTITUTION_COUNT} institutions", institutions == INSTITUTION_COUNT),
            ("user groups and libraries", bool(groups and libraries)),
            ("the UNIV_ID identifier type", "UNIV_ID" in types),
        )
        if not ok
    ]
    if problems:
        raise SystemExit("Generated data is missing " + "; ".join(problems))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="postgresql://user@host:port/database")
    parser.add_argument("--patrons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--nekls-share", type=float, default=0.1, help="share of the patrons in NEKLS"
    )
    parser.add_argument(
        "--discrepancy-rate",
        type=float,
        default=0.05,
        help="share of LANSING patrons left blank, and again set NOT_ALLOWED, and of the "
        "other NEKLS patrons set ALLOWED (0.05; try 0.0002 for a report that is nearly clean)",
    )
    args = parser.parse_args(argv)
    asyncio.run(
        generate(
            args.url,
            args.patrons,
            seed=args.seed,
            nekls_share=args.nekls_share,
            discrepancy_rate=args.discrepancy_rate,
        )
    )
    asyncio.run(_verify_services(args.url))


if __name__ == "__main__":
    main()
