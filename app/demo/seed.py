"""Seeds the demo network; every step checks what exists first, so it can run again."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app import clock, queue
from app.attributes import service as attributes
from app.attributes.models import PatronAttribute
from app.attributes.type_creation import AttributeTypeSpec, create_attribute_type
from app.auth import clients
from app.auth.models import ApiClient
from app.auth.policy import system_actor
from app.db import utcnow
from app.demo.names import GIVEN_NAMES, SURNAMES
from app.linking import rules, sharing
from app.linking.rules import RuleSpec
from app.network import service as network
from app.network.models import IdentifierType, Institution, Library, LibraryGroup, UserGroup
from app.patrons import service as patrons
from app.patrons.models import Patron, PatronIdentifier, PatronSystemGroup
from app.settings import Settings
from app.sip2.demo import seed_demo_sip
from app.sql import pk

DEMO_PASSWORD = "netzone-demo"


@dataclass(frozen=True)
class DemoInstitution:
    code: str
    name: str
    libraries: list[tuple[str, str]]
    user_groups: list[tuple[str, str, int]]
    library_groups: list[tuple[str, str]] = field(default_factory=list)
    barcode_prefix: str = "2"
    # (user group code, weight) for generated patrons
    patron_mix: list[tuple[str, int]] = field(default_factory=list)
    univ_ids: bool = False
    school: bool = False


INSTITUTIONS = [
    DemoInstitution(
        code="NEKLS",
        name="Northeast Kansas Library System",
        libraries=[
            ("LANSING", "Lansing Community Library"),
            ("BASEHOR", "Basehor Community Library"),
            ("TONGANOXIE", "Tonganoxie Public Library"),
        ],
        user_groups=[
            ("ADULT", "Adult", 21),
            ("JUVENILE", "Juvenile", 21),
            ("STAFF", "Library staff", 28),
            ("ILL", "Interlibrary loan", 42),
            ("STATISTIC", "Statistical", 1),
        ],
        barcode_prefix="2100",
        patron_mix=[("ADULT", 70), ("JUVENILE", 25), ("ILL", 3), ("STATISTIC", 2)],
    ),
    DemoInstitution(
        code="EASTERN",
        name="Eastern State University",
        libraries=[
            ("EASTERN-MAIN", "Eastern Main Library"),
            ("EASTERN-LAW", "Eastern Law Library"),
        ],
        user_groups=[
            ("UNDERGRAD", "Undergraduate", 28),
            ("GRAD", "Graduate student", 56),
            ("FACULTY", "Faculty", 120),
            ("VISITOR", "Visitor", 14),
            ("WALKIN", "Walk-in (linked)", 14),
        ],
        barcode_prefix="2200",
        patron_mix=[("UNDERGRAD", 60), ("GRAD", 20), ("FACULTY", 12), ("VISITOR", 8)],
        univ_ids=True,
    ),
    DemoInstitution(
        code="WESTERN",
        name="Western University",
        libraries=[("WESTERN-MAIN", "Western Main Library")],
        user_groups=[
            ("STUDENT", "Student", 28),
            ("FACULTY", "Faculty", 120),
            ("COMMUNITY", "Community borrower", 21),
            ("WALKIN", "Walk-in (linked)", 14),
        ],
        barcode_prefix="2300",
        patron_mix=[("STUDENT", 70), ("FACULTY", 15), ("COMMUNITY", 15)],
        univ_ids=True,
    ),
    DemoInstitution(
        code="NORTHFIELD",
        name="Northfield School",
        libraries=[("NORTHFIELD-MAIN", "Northfield School Library")],
        user_groups=[("STUDENT", "Student", 14), ("STAFF", "Staff", 28)],
        library_groups=[("Teachers", "Teaching staff who may borrow class sets")],
        barcode_prefix="2400",
        patron_mix=[("STUDENT", 90), ("STAFF", 10)],
        school=True,
    ),
]

IDENTIFIER_TYPES = [
    ("UNIV_ID", "University ID", False),
    ("CONSORTIAL_ID", "Consortial ID", True),
]

BLOCK_TYPES = [
    ("FINES", "Fines over the limit", True),
    ("LOST", "Library card reported lost", False),
    ("CONDUCT", "Conduct: see the circulation manager", False),
]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    institution: str
    home_library: str
    groups: list[str]
    libraries: list[str]
    given_name: str
    surname: str
    user_group: str | None


LOGINS = [
    DemoLogin(
        "lansing.librarian",
        "NEKLS",
        "LANSING",
        ["LIBRARIAN"],
        ["LANSING"],
        "Laura",
        "Lansing",
        "STAFF",
    ),
    DemoLogin(
        "basehor.librarian",
        "NEKLS",
        "BASEHOR",
        ["LIBRARIAN"],
        ["BASEHOR"],
        "Ben",
        "Basehor",
        "STAFF",
    ),
    DemoLogin(
        "nekls.admin",
        "NEKLS",
        "LANSING",
        ["SYSTEM_ADMIN"],
        ["LANSING", "BASEHOR", "TONGANOXIE"],
        "Nadia",
        "Admin",
        "STAFF",
    ),
    DemoLogin(
        "eastern.admin",
        "EASTERN",
        "EASTERN-MAIN",
        ["SYSTEM_ADMIN"],
        ["EASTERN-MAIN"],
        "Ed",
        "Eastman",
        None,
    ),
    DemoLogin(
        "eastern.circ",
        "EASTERN",
        "EASTERN-MAIN",
        ["CIRCULATION"],
        ["EASTERN-MAIN"],
        "Erin",
        "Circ",
        None,
    ),
    DemoLogin(
        "western.librarian",
        "WESTERN",
        "WESTERN-MAIN",
        ["LIBRARIAN"],
        ["WESTERN-MAIN"],
        "Wendy",
        "Westfall",
        None,
    ),
    DemoLogin(
        "western.admin",
        "WESTERN",
        "WESTERN-MAIN",
        ["SYSTEM_ADMIN"],
        ["WESTERN-MAIN"],
        "Walt",
        "Admin",
        None,
    ),
    DemoLogin(
        "northfield.admin",
        "NORTHFIELD",
        "NORTHFIELD-MAIN",
        ["SYSTEM_ADMIN"],
        ["NORTHFIELD-MAIN"],
        "Nora",
        "Fields",
        "STAFF",
    ),
    DemoLogin(
        "network.admin",
        "NEKLS",
        "LANSING",
        ["NETWORK_ADMIN"],
        ["LANSING"],
        "Nick",
        "Network",
        "STAFF",
    ),
]


class DemoRefused(Exception):
    """The demo network may not be seeded into this database."""


async def seed_demo(
    session: AsyncSession,
    settings: Settings,
    *,
    patrons_per_institution: int = 750,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[DemoLogin]:
    """Create whatever part of the demo network is missing; returns the staff logins.

    `progress` is told (steps done, steps in all, what comes next) as it goes.
    The demo's passwords and secrets are published: it is refused in production, and in
    a database that holds institutions of a real network."""
    # Its policy changes refresh copies before it returns, with or without a worker.
    queue.in_process(session)
    if settings.environment == "production":
        raise DemoRefused(
            "The demo network is not seeded in production (NETZONE_ENVIRONMENT=production): "
            "its passwords and secrets are published."
        )
    demo_codes = {spec.code for spec in INSTITUTIONS}
    others = sorted(
        code
        for code in (await session.execute(select(col(Institution.code)))).scalars()
        if code not in demo_codes
    )
    if others:
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        raise DemoRefused(
            f"This database holds institutions that are not the demo's ({shown}): the demo "
            "network, with its published passwords, is seeded only into an empty database "
            "or one that holds the demo alone."
        )
    total = 1 + 2 * len(INSTITUTIONS) + len(LOGINS) + 3
    done = 0

    def step(what: str) -> None:
        nonlocal done
        if progress is not None:
            progress(done, total, what)
        done += 1

    actor = system_actor("demo")
    step("identifier types")
    await network.ensure_network(session, "Kansas Library Network (demo)")
    await session.commit()
    for code, name, unique in IDENTIFIER_TYPES:
        if await network.identifier_type_by_code(session, code) is None:
            await network.create_identifier_type(
                session=session, actor=actor, code=code, name=name, network_unique=unique
            )
    for spec in INSTITUTIONS:
        step(f"institution {spec.code}")
        await _seed_institution(session, spec)
    for login in LOGINS:
        step(f"staff login {login.username}")
        await _seed_login(session, settings, login)
    for spec in INSTITUTIONS:
        step(f"patrons of {spec.code}")
        await _seed_patrons(session, spec, patrons_per_institution)
    step("Kanopy attributes")
    await _seed_kanopy(session)
    step("linked account rules and API clients")
    await _seed_network(session)
    step("SIP2 accounts")
    await _seed_sip(session, settings)
    step("done")
    return LOGINS


async def _seed_sip(session: AsyncSession, settings: Settings) -> None:
    """The demo SIP2 accounts (kanopy-lansing, nekls-vendor) and a few patrons with PINs."""
    await seed_demo_sip(session, settings)


# Discovery layers of the universities; their secrets are published with the demo.
DEMO_CLIENTS = [
    ("EASTERN", "Eastern discovery layer", "EASTERN-MAIN", "nzc_demo-eastern-discovery"),
    ("WESTERN", "Western discovery layer", "WESTERN-MAIN", "nzc_demo-western-discovery"),
]


def _rule(
    name: str,
    conditions: list[tuple[str, str, list[str]]],
    group: str,
    *,
    expiry: tuple[str, date | None, int | None] = ("NONE", None, None),
    purge: tuple[str, date | None, int | None] = ("NONE", None, None),
    refresh_expiry: bool = False,
    refresh_purge: bool = False,
    copy_blocks: bool = False,
    description: str | None = None,
) -> RuleSpec:
    return RuleSpec(
        name=name,
        description=description,
        description_given=True,
        conditions=[{"parameter": p, "operator": o, "values": v} for p, o, v in conditions],
        user_group=group,
        expiry=expiry,
        purge=purge,
        refresh_expiry_date=refresh_expiry,
        refresh_purge_date=refresh_purge,
        copy_network_blocks=copy_blocks,
        library_given=True,
    )


def _demo_rules(today: date) -> dict[str, list[RuleSpec]]:
    year_end = date(today.year if today.month < 7 else today.year + 1, 6, 30)
    return {
        "EASTERN": [
            _rule(
                "Western faculty",
                [
                    ("SOURCE_INSTITUTION", "EQUALS", ["WESTERN"]),
                    ("SOURCE_USER_GROUP", "EQUALS", ["FACULTY"]),
                ],
                "VISITOR",
                expiry=("SAME_AS_SOURCE", None, None),
                refresh_expiry=True,
                copy_blocks=True,
                description="Reciprocal borrowing for faculty of Western.",
            ),
            _rule(
                "University students",
                [
                    ("SOURCE_INSTITUTION", "IN_LIST", ["WESTERN"]),
                    ("SOURCE_USER_GROUP", "IN_LIST", ["STUDENT"]),
                ],
                "WALKIN",
                expiry=("ABSOLUTE", year_end, None),
                purge=("AFTER_EXPIRY", None, 30),
                copy_blocks=True,
            ),
            _rule(
                "Public library patrons",
                [("SOURCE_INSTITUTION", "EQUALS", ["NEKLS"])],
                "WALKIN",
                expiry=("RELATIVE_TO_SOURCE", None, -30),
                purge=("AFTER_EXPIRY", None, 90),
                refresh_expiry=True,
                refresh_purge=True,
            ),
        ],
        "WESTERN": [
            _rule(
                "Eastern faculty",
                [
                    ("SOURCE_USER_GROUP", "EQUALS", ["FACULTY"]),
                    ("SOURCE_INSTITUTION", "EQUALS", ["EASTERN"]),
                ],
                "FACULTY",
                expiry=("SAME_AS_SOURCE", None, None),
                refresh_expiry=True,
                copy_blocks=True,
            ),
            _rule(
                "Public library patrons",
                [("SOURCE_INSTITUTION", "EQUALS", ["NEKLS"])],
                "COMMUNITY",
                expiry=("ABSOLUTE", year_end, None),
                purge=("AFTER_EXPIRY", None, 60),
            ),
            _rule(
                "Everyone but Eastern",
                [("SOURCE_INSTITUTION", "NOT_IN_LIST", ["EASTERN"])],
                "WALKIN",
                expiry=("RELATIVE_TO_SOURCE", None, 0),
                purge=("AFTER_EXPIRY", None, 30),
                copy_blocks=True,
            ),
        ],
    }


async def _seed_network(session: AsyncSession) -> None:
    """Rules, sharing policies, consortial ids and discovery clients of the universities."""
    actor = system_actor("demo")
    for code, specs in _demo_rules(clock.today()).items():
        institution = await network.institution_by_code(session, code)
        assert institution is not None
        assert institution.id is not None
        default = await rules.ensure_default_rule(session, institution.id)
        walkin = await network.user_group_by_code(session, institution.id, "WALKIN")
        if default is not None and walkin is not None and default.user_group_id != walkin.id:
            # Walk-ins no other rule covers get the WALKIN group.
            await rules.update_rule(
                session=session,
                actor=actor,
                rule_id=default.id,  # type: ignore[arg-type]
                spec=RuleSpec(user_group="WALKIN"),
            )
        await session.commit()
        existing = {r.name for r in await rules.rules_of(session, institution.id)}
        for spec in specs:
            if spec.name not in existing:
                await rules.create_rule(
                    session=session, actor=actor, institution_code=code, position=None, spec=spec
                )
    await sharing.add_restricted_group(
        session=session,
        actor=actor,
        institution_code="EASTERN",
        group_code="VISITOR",
        description="Visitors borrow at Eastern only.",
    )
    await sharing.add_restricted_group(
        session=session,
        actor=actor,
        institution_code="WESTERN",
        group_code="COMMUNITY",
        description="Community borrowers are served at Western only.",
    )
    await sharing.add_searchable_identifier_type(
        session=session,
        actor=actor,
        institution_code="WESTERN",
        type_code="UNIV_ID",
        description="Western patrons are found by their university ID only.",
    )
    await sharing.update_settings(
        session=session,
        actor=actor,
        institution_code="EASTERN",
        network_search_by_name=True,
        email_service_enabled=None,
    )
    await _seed_consortial_ids(session)
    for code, name, library, secret in DEMO_CLIENTS:
        exists = await session.scalar(select(pk(ApiClient.id)).where(col(ApiClient.name) == name))
        if exists is None:
            await clients.create_api_client(
                session=session,
                actor=actor,
                institution_code=code,
                name=name,
                scopes=["linking", "patron_read"],
                library_code=library,
                secret=secret,
            )


async def _seed_consortial_ids(session: AsyncSession) -> None:
    """The first ten EASTERN and WESTERN students are the same people (shared consortial ids)."""
    consortial = await network.identifier_type_by_code(session, "CONSORTIAL_ID")
    assert consortial is not None
    if await session.scalar(
        select(pk(PatronIdentifier.id))
        .where(col(PatronIdentifier.identifier_type_id) == consortial.id)
        .limit(1)
    ):
        return
    rows: list[dict[str, object]] = []
    for code in ("EASTERN", "WESTERN"):
        institution = await network.institution_by_code(session, code)
        assert institution is not None
        patrons = (
            await session.execute(
                select(pk(Patron.id))
                .where(
                    col(Patron.institution_id) == institution.id, col(Patron.is_staff).is_(False)
                )
                .order_by(col(Patron.id))
                .limit(10)
            )
        ).scalars()
        for n, patron_id in enumerate(patrons):
            value = f"KLN-{n + 1:05d}"
            rows.append(
                {
                    "patron_id": patron_id,
                    "institution_id": institution.id,
                    "identifier_type_id": consortial.id,
                    "value": value,
                    "value_key": value.lower(),
                }
            )
    if rows:
        await session.execute(insert(PatronIdentifier), rows)
    await session.commit()


KANOPY = AttributeTypeSpec(
    institution="NEKLS",
    code="KANOPY_LANSING",
    label="Kanopy (LANSING)",
    authorised_values=[
        ("NOT_ALLOWED", "Not allowed"),
        ("ALLOWED", "Allowed (Lansing Community Library)"),
    ],
    library_limits=["LANSING"],
    excluded_user_groups=["STAFF", "ILL", "STATISTIC"],
    rule_libraries=["LANSING"],
    rule_in_scope_value="ALLOWED",
    rule_out_of_scope_value="NOT_ALLOWED",
)


async def _seed_kanopy(session: AsyncSession) -> None:
    """The Kanopy (LANSING) attribute, with most NEKLS patrons set by the rule and some in
    each discrepancy state (as a real migration from a web-form-only system leaves them)."""
    institution = await network.institution_by_code(session, "NEKLS")
    assert institution is not None
    assert institution.id is not None
    if await attributes.type_by_code(session, institution.id, KANOPY.code) is not None:
        return
    info = await create_attribute_type(session=session, actor=system_actor("demo"), spec=KANOPY)
    lansing = await network.library_by_code(session, "LANSING")
    assert lansing is not None
    rows = (
        await session.execute(
            select(pk(Patron.id), col(Patron.home_library_id))
            .where(col(Patron.institution_id) == institution.id, col(Patron.is_staff).is_(False))
            .order_by(col(Patron.id))
        )
    ).all()
    values: list[dict[str, object]] = []
    for n, (patron_id, home_library_id) in enumerate(rows):
        in_scope = home_library_id == lansing.id
        if in_scope and n % 11 == 0:
            continue  # MISSING_IN_SCOPE: never set
        if in_scope and n % 13 == 0:
            value = "NOT_ALLOWED"  # MISSING_IN_SCOPE: set wrongly
        elif not in_scope and n % 9 == 0:
            value = "ALLOWED"  # PRESENT_OUT_OF_SCOPE: moved away from LANSING
        else:
            value = info.rule_value(home_library_id)
        values.append({"patron_id": patron_id, "attribute_type_id": info.id, "value": value})
    if values:
        await session.execute(insert(PatronAttribute), values)
    await session.commit()


async def _seed_institution(session: AsyncSession, spec: DemoInstitution) -> None:
    actor = system_actor("demo")
    if await network.institution_by_code(session, spec.code) is None:
        await network.create_institution(
            session=session, actor=actor, code=spec.code, name=spec.name
        )
    institution = await network.institution_by_code(session, spec.code)
    assert institution is not None
    assert institution.id is not None
    for code, name in spec.libraries:
        if await network.library_by_code(session, code) is None:
            await network.create_library(
                session=session, actor=actor, institution_code=spec.code, code=code, name=name
            )
    for code, name, days in spec.user_groups:
        if await network.user_group_by_code(session, institution.id, code) is None:
            await network.create_user_group(
                session=session,
                actor=actor,
                institution_code=spec.code,
                code=code,
                name=name,
                loan_period_days=days,
            )
    for name, description in spec.library_groups:
        exists = await session.scalar(
            select(pk(LibraryGroup.id)).where(
                col(LibraryGroup.institution_id) == institution.id, col(LibraryGroup.name) == name
            )
        )
        if exists is None:
            await network.create_library_group(
                session=session,
                actor=actor,
                institution_code=spec.code,
                name=name,
                description=description,
            )
    for code, description, is_network in BLOCK_TYPES:
        if await network.block_type_by_code(session, institution.id, code) is None:
            await network.create_block_type(
                session=session,
                actor=actor,
                institution_code=spec.code,
                code=code,
                description=description,
                network=is_network,
            )


async def _seed_login(session: AsyncSession, settings: Settings, login: DemoLogin) -> None:
    institution = await network.institution_by_code(session, login.institution)
    assert institution is not None
    exists = await session.scalar(
        select(pk(Patron.id)).where(
            col(Patron.institution_id) == institution.id, col(Patron.username_key) == login.username
        )
    )
    if exists is not None:
        return
    fields: dict[str, object] = {
        "home_library": login.home_library,
        "surname": login.surname,
        "given_name": login.given_name,
        "username": login.username,
        "password": DEMO_PASSWORD,
        "is_staff": True,
        "system_groups": ["LIBRARY_USERS", *login.groups],
        "libraries": login.libraries,
        "primary_email": f"{login.username}@staff.example.org",
    }
    if login.user_group:
        fields["user_group"] = login.user_group
    await patrons.create_patron(
        session=session,
        settings=settings,
        actor=system_actor("demo"),
        institution_code=login.institution,
        fields=fields,
    )


async def _seed_patrons(session: AsyncSession, spec: DemoInstitution, count: int) -> None:
    """Generated patrons, inserted in bulk; valid by the registry's rules."""
    institution = (
        await session.execute(select(Institution).where(col(Institution.code) == spec.code))
    ).scalar_one()
    existing = await session.scalar(
        select(func.count())
        .select_from(Patron)
        .where(col(Patron.institution_id) == institution.id, col(Patron.is_staff).is_(False))
    )
    if existing:
        return
    rng = random.Random(f"netzone-demo-{spec.code}")
    libraries = list(
        (
            await session.execute(
                select(Library).where(col(Library.institution_id) == institution.id)
            )
        ).scalars()
    )
    groups = {
        g.code: g
        for g in (
            await session.execute(
                select(UserGroup).where(col(UserGroup.institution_id) == institution.id)
            )
        ).scalars()
    }
    types = {t.code: t for t in (await session.execute(select(IdentifierType))).scalars()}
    today = clock.today()
    now = utcnow()
    group_codes = [code for code, _ in spec.patron_mix]
    weights = [weight for _, weight in spec.patron_mix]
    rows: list[dict[str, object]] = []
    for n in range(count):
        given = rng.choice(GIVEN_NAMES)
        surname = rng.choice(SURNAMES)
        group = groups[rng.choices(group_codes, weights)[0]]
        library = rng.choice(libraries)
        is_staff = group.code in ("STAFF", "FACULTY")
        cohort = form_class = None
        if spec.school and not is_staff:
            year = rng.randint(7, 12)
            cohort = str(today.year + (13 - year))
            form_class = f"{year}{rng.choice('ABC')}"
        expiry = today + timedelta(days=rng.randint(-60, 3 * 365))
        email_name = surname.lower().replace("'", "")
        rows.append(
            {
                "institution_id": institution.id,
                "home_library_id": library.id,
                "user_group_id": group.id,
                "account_type": "HOME",
                "given_name": given,
                "surname": surname,
                "given_key": given.lower(),
                "surname_key": surname.lower(),
                "primary_email": f"{given.lower()}.{email_name}{n}@example.org",
                "enabled": rng.random() > 0.02,
                "is_staff": is_staff,
                "is_generic": False,
                "expiry_date": expiry,
                "cohort": cohort,
                "form_class": form_class,
                "version": 1,
                "failed_logins": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        ids = list(
            (
                await session.execute(
                    insert(Patron).returning(pk(Patron.id), sort_by_parameter_order=True), chunk
                )
            ).scalars()
        )
        identifiers: list[dict[str, object]] = []
        groups_rows: list[dict[str, object]] = []
        for offset, patron_id in enumerate(ids):
            n = start + offset
            values = [("BARCODE", f"{spec.barcode_prefix}{n:06d}")]
            if spec.univ_ids or spec.school:
                values.append(("ADMIN_SYSTEM_ID", f"{spec.code[:2]}{100000 + n}"))
            if spec.univ_ids:
                values.append(("UNIV_ID", f"{spec.code[0]}{n:07d}"))
            for type_code, value in values:
                identifiers.append(
                    {
                        "patron_id": patron_id,
                        "institution_id": institution.id,
                        "identifier_type_id": types[type_code].id,
                        "value": value,
                        "value_key": value.lower(),
                    }
                )
            groups_rows.append({"patron_id": patron_id, "system_group": "LIBRARY_USERS"})
        await session.execute(insert(PatronIdentifier), identifiers)
        await session.execute(insert(PatronSystemGroup), groups_rows)
    await session.commit()
