"""Authorization matrix (quality.md): every root operation of the schema against every actor.

The operations come from schema/schema.graphql at test time: an operation without a
row in tests/reliability/authz_cases.py fails the suite. Each row states, per actor, the
outcome (allowed, denied with a code, unauthenticated, or an empty answer); every denied
call is followed by a re-read of the targeted data by an allowed reader and by a digest
of every table, which must both be unchanged. The leak tests below check that nothing of
another institution shows through node/nodes, lists, counts, search, error messages or
audit trails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import build_schema
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.main import create_app
from app.settings import Settings
from tests.reliability.authz_cases import CASES, Case, Expect
from tests.reliability.authz_world import (
    ACTORS,
    World,
    changed_tables,
    fingerprint,
    row_counts,
)
from tests.reliability.counts import record
from tests.support.database import rolled_back, savepoint_database
from tests.support.graphql import GraphQL

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schema" / "schema.graphql"
CONTRACT = ROOT.parent / "shared" / "spec" / "contract.graphql"


def root_operations(path: Path) -> list[str]:
    """Every field of Query and Mutation in an SDL file, as "Query.x" / "Mutation.y"."""
    schema = build_schema(path.read_text(encoding="utf-8"))
    out = []
    for root in (schema.query_type, schema.mutation_type):
        assert root is not None
        out += [f"{root.name}.{name}" for name in root.fields]
    return out


OPERATIONS = root_operations(SCHEMA)


def test_every_operation_has_a_matrix_row() -> None:
    names = {op.split(".", 1)[1] for op in OPERATIONS}
    assert sorted(names - set(CASES)) == [], "operations without a row in the matrix"
    assert sorted(set(CASES) - names) == [], "matrix rows of operations the schema lacks"
    if CONTRACT.exists():
        assert set(root_operations(CONTRACT)) <= set(OPERATIONS)


# The actors log in once per module: the module runs in one outer transaction (rolled back
# at its end) and every test in a SAVEPOINT inside it (rolled back after the test).


@pytest.fixture(scope="module")
async def module_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with rolled_back(engine) as conn:
        yield conn


@pytest.fixture(scope="module")
async def actors(
    engine: AsyncEngine, settings: Settings, module_connection: AsyncConnection
) -> AsyncIterator[World]:
    app = create_app(settings, savepoint_database(engine, module_connection))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://netzone.test") as http:
        world = World(gql=GraphQL(http), http=http, connection=module_connection)
        scope_sets = {s for case in CASES.values() for s in case.client_scopes()}
        await world.set_up(scope_sets)
        yield world


@pytest.fixture
async def connection(module_connection: AsyncConnection) -> AsyncIterator[AsyncConnection]:
    """This test's SAVEPOINT in the module's transaction (replaces tests/conftest.py's)."""
    savepoint = await module_connection.begin_nested()
    try:
        yield module_connection
    finally:
        if savepoint.is_active:
            await savepoint.rollback()


@pytest.fixture
async def world(
    actors: World, gql: GraphQL, client: httpx.AsyncClient, connection: AsyncConnection
) -> World:
    return actors.for_test(gql, client, connection)


def _payload_result(body: dict[str, Any], name: str) -> Any:
    data = body.get("data")
    return None if data is None else data.get(name)


def _check(expect: Expect, body: dict[str, Any], name: str, case: Case, where: str) -> Any:
    """Assert the outcome of one call; returns the operation's result."""
    errors = body.get("errors") or []
    result = _payload_result(body, name)
    if expect.kind == "unauthenticated":
        assert errors, (where, body)
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED", (where, body)
        assert result is None, (where, body)
        return result
    if expect.kind == "top":
        assert errors, (where, body)
        assert errors[0]["extensions"]["code"] == expect.code, (where, body)
        assert result is None, (where, body)
        return result
    assert errors == [], (where, body)
    if expect.kind == "empty":
        is_empty = case.empty or (lambda r: r in (None, []))
        assert is_empty(result), (where, result)
        return result
    if isinstance(result, dict) and "errors" in result:
        if expect.kind == "ok":
            assert result["errors"] == [], (where, result)
        else:
            assert result["errors"], (where, result)
            assert result["errors"][0]["code"] == expect.code, (where, result)
            # Nothing but the errors comes back from a refused mutation.
            rest = {k: v for k, v in result.items() if k != "errors"}
            assert not any(rest.values()), (where, result)
        return result
    assert expect.kind == "ok", (where, "no payload errors to carry", expect, body)
    assert result is not None, (where, body)
    return result


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_operation_against_every_actor(
    operation: str, world: World, connection: AsyncConnection
) -> None:
    name = operation.split(".", 1)[1]
    case = CASES.get(name)
    assert case is not None, f"{operation} has no row in the authorization matrix"
    assert set(case.expect) == set(ACTORS)
    world.use_clients(*case.client_scopes())
    denials = [a for a in ACTORS if not case.expect[a].allowed]
    allowed = [a for a in ACTORS if case.expect[a].allowed]
    # Someone succeeds with the same kind of input, so no denial is an input mistake.
    assert allowed, f"{operation}: the matrix allows it to nobody"

    # Denials first (a success changes what the next call targets), all against the
    # same data: prepared up front, then re-read before and after by an allowed reader.
    calls = {a: await case.prepare(world, a, case.expect[a]) for a in denials}
    states: dict[str, Any] = {}
    if case.state is not None:
        for call in calls.values():
            key = case.state_key(call)
            if key not in states:
                states[key] = await case.state(world, call)
    before = await fingerprint(connection)
    for actor in denials:
        expect, call = case.expect[actor], calls[actor]
        where = f"{operation} as {actor}: expected {expect}"
        counts = await row_counts(connection)
        body = await world.call(actor, case.document, call.variables, call.upload)
        _check(expect, body, name, case, where)
        if not (case.searches and expect.kind == "empty"):
            assert await row_counts(connection) == counts, (where, "wrote rows")
    after = await fingerprint(connection)
    if not case.searches:
        assert changed_tables(before, after) == [], (operation, "denials wrote to the database")
    else:
        # Allowed searches that find nothing are audited like every search; nothing else.
        assert changed_tables(before, after) in ([], ["audit_entry"]), operation
    if case.state is not None:
        checked: set[Any] = set()
        for actor, call in calls.items():
            key = case.state_key(call)
            if key not in checked:
                checked.add(key)
                assert await case.state(world, call) == states[key], (
                    f"{operation} as {actor}: the targeted data changed"
                )

    for actor in allowed:
        expect = case.expect[actor]
        call = await case.prepare(world, actor, expect)
        body = await world.call(actor, case.document, call.variables, call.upload)
        result = _check(expect, body, name, case, f"{operation} as {actor}: expected {expect}")
        if case.verify is not None:
            await case.verify(world, actor, result, call)
    record("authorization matrix: operation x actor checks", len(ACTORS))


# ---------------------------------------------------------------- leaks across institutions

LEAKS = "authorization matrix: cross-institution leak checks"
MISSING_PK = 2**31 - 1

NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"
BLOCKS = "query($id: ID!) { node(id: $id) { ... on Patron { blocks { id } loans { edges { node { id } } } } } }"
RULE_IDS = (
    "query($code: String!) { institution(code: $code) { linkedAccountRules { id isDefault } } }"
)
SEARCH_AS = """query($identifier: String!) { networkPatronSearch(input: {identifier: $identifier}) {
  matches { ref institution { code } surname cohort linkedAccount { id } } errors { code } } }"""
LINK_REF = """mutation($ref: ID!) { linkAccount(input: {sourcePatron: $ref, reason: WALK_IN}) {
  linkedAccount { id } created errors { code message field } } }"""
LIST = """query($institution: String!, $search: String) {
  patrons(institution: $institution, filter: {search: $search}) { totalCount edges { node { id } } } }"""
AUDIT = """query($id: ID!) { node(id: $id) { ... on Patron {
  auditLog(first: 100) { edges { node { actor action changes } } } } } }"""


def missing(type_name: str) -> str:
    from app.graphql.ids import encode_id

    return encode_id(type_name, MISSING_PK)


async def eastern_objects(world: World) -> dict[str, str]:
    """EASTERN's patron, block, loan, rule and linked account (of a NEKLS patron), by type."""
    eastern = await world.eastern()
    patron = await world.eastern_patron(cohort="2029")
    data = await world.ok(
        eastern,
        """mutation($id: ID!) {
             checkOut(input: {patronId: $id, itemBarcode: "AUTHZ-E-ITEM"}) {
               loan { id } errors { code message } }
             addPatronBlock(input: {patronId: $id, blockType: "CONDUCT", note: "secret note"}) {
               errors { code } } }""",
        {"id": patron["id"]},
    )
    assert (data["checkOut"]["errors"], data["addPatronBlock"]["errors"]) == ([], []), data
    read = await world.ok(eastern, BLOCKS, {"id": patron["id"]})
    rules = await world.ok(eastern, RULE_IDS, {"code": "EASTERN"})
    rule = next(r["id"] for r in rules["institution"]["linkedAccountRules"] if not r["isDefault"])
    nekls = await world.target_patron()
    found = await world.ok(eastern, SEARCH_AS, {"identifier": nekls["barcode"]})
    ref = found["networkPatronSearch"]["matches"][0]["ref"]
    linked = await world.ok(eastern, LINK_REF, {"ref": ref})
    assert linked["linkAccount"]["errors"] == [], linked
    return {
        "Patron": patron["id"],
        "PatronBlock": read["node"]["blocks"][0]["id"],
        "Loan": read["node"]["loans"]["edges"][0]["node"]["id"],
        "LinkedAccountRule": rule,
        "LinkedCopy": linked["linkAccount"]["linkedAccount"]["id"],
        "EasternRef": ref,
        "barcode": patron["barcode"],
        "surname": patron["surname"],
        "email": patron["primaryEmail"],
        "nekls": nekls["id"],
    }


NEKLS_SIDE = [a for a in ACTORS if a not in ("anonymous", "system_admin_other")]


async def test_objects_of_another_institution_do_not_exist(
    world: World, connection: AsyncConnection
) -> None:
    world.use_clients(
        ("patron_read", "linking", "patron_auth", "email", "attribute:KANOPY_LANSING"), ()
    )
    theirs = await eastern_objects(world)
    kinds = ["Patron", "PatronBlock", "Loan", "LinkedAccountRule", "LinkedCopy"]
    ids = [theirs[k] for k in kinds]
    absent = [
        missing("Patron"),
        missing("PatronBlock"),
        missing("Loan"),
        missing("LinkedAccountRule"),
        missing("Patron"),
    ]
    # EASTERN itself sees them (so the ids are real).
    seen = await world.ok(await world.eastern(), NODES, {"ids": ids})
    assert [n["id"] for n in seen["nodes"]] == ids
    target = await shared_nekls_objects(world)
    checks = 0
    before = await fingerprint(connection)
    for actor in NEKLS_SIDE:
        token = world.tokens[actor]
        assert token is not None
        real = await world.ok(token, NODES, {"ids": ids})
        fake = await world.ok(token, NODES, {"ids": absent})
        assert real == fake == {"nodes": [None] * len(ids)}, actor
        for object_id in ids:
            assert await world.ok(token, NODE, {"id": object_id}) == {"node": None}, (
                actor,
                object_id,
            )
        checks += 2 * len(ids)
    # And NEKLS's objects do not exist for EASTERN's system administrator.
    eastern = await world.eastern()
    mine = [target[k] for k in ("Patron", "PatronBlock", "Loan", "LinkedAccountRule")]
    assert (await world.ok(eastern, NODES, {"ids": mine}))["nodes"] == [None] * len(mine)
    checks += len(mine)
    assert changed_tables(before, await fingerprint(connection)) == []
    record(LEAKS, checks)


async def shared_nekls_objects(world: World) -> dict[str, str]:
    """A NEKLS patron with a block and a loan, and a NEKLS rule (made by nekls.admin)."""
    from tests.reliability.authz_cases import lend, new_block, new_rule

    patron = await world.target_patron()
    await lend(world, patron["id"])
    await new_block(world, patron["id"])
    read = await world.ok(world.reader, BLOCKS, {"id": patron["id"]})
    return {
        "Patron": patron["id"],
        "PatronBlock": read["node"]["blocks"][0]["id"],
        "Loan": read["node"]["loans"]["edges"][0]["node"]["id"],
        "LinkedAccountRule": await new_rule(world),
    }


async def test_lists_counts_and_search_show_nothing_of_another_institution(
    world: World, connection: AsyncConnection
) -> None:
    world.use_clients(
        ("patron_read", "linking", "patron_auth", "email", "attribute:KANOPY_LANSING"), ()
    )
    theirs = await eastern_objects(world)
    visitor = await world.eastern_patron(userGroup="VISITOR")  # restricted at EASTERN
    eastern = await world.eastern()
    checks = 0
    before = await fingerprint(connection)
    empty = {"totalCount": 0, "edges": []}
    for actor in NEKLS_SIDE:
        token = world.tokens[actor]
        assert token is not None
        for search in (None, theirs["barcode"], theirs["surname"], theirs["email"]):
            data = await world.ok(token, LIST, {"institution": "EASTERN", "search": search})
            assert data["patrons"] == empty, (actor, search)
            checks += 1
        for search in (theirs["barcode"], theirs["surname"]):
            data = await world.ok(token, LIST, {"institution": "NEKLS", "search": search})
            assert data["patrons"] == empty, (actor, search)
            checks += 1
    # EASTERN's staff see none of NEKLS's patrons, reports, SIP accounts or rules.
    for search in (None, "AUTHZ-PATRON", "Ron"):
        data = await world.ok(eastern, LIST, {"institution": "NEKLS", "search": search})
        assert data["patrons"] == empty, search
        checks += 1
    for kind in ("MISSING_IN_SCOPE", "PRESENT_OUT_OF_SCOPE"):
        data = await world.ok(
            eastern,
            """query($kind: AttributeDiscrepancyKind!) {
                 attributeDiscrepancies(attributeType: "KANOPY_LANSING", kind: $kind) {
                   totalCount edges { node { id } } } }""",
            {"kind": kind},
        )
        assert data["attributeDiscrepancies"] == empty
        checks += 1
    data = await world.ok(
        eastern,
        """{ sipAccounts(institution: "NEKLS") { loginId }
             institution(code: "NEKLS") { linkedAccountRules { id } restrictedUserGroups {
               userGroup { code } } alerts { code } attributeTypes { code } }
             network { attributeTypes { code } } }""",
    )
    assert data == {
        "sipAccounts": [],
        "institution": {
            "linkedAccountRules": [],
            "restrictedUserGroups": [],
            "alerts": [],
            "attributeTypes": [],
        },
        "network": {"attributeTypes": []},
    }
    checks += 6
    assert changed_tables(before, await fingerprint(connection)) == []
    # Network search (audited): shared fields only, never a restricted patron.
    for actor in ("librarian", "librarian_other_library", "system_admin", "client_with_scope"):
        token = world.tokens[actor]
        assert token is not None
        found = await world.ok(token, SEARCH_AS, {"identifier": theirs["barcode"]})
        matches = found["networkPatronSearch"]["matches"]
        assert [(m["institution"]["code"], m["cohort"]) for m in matches] == [("EASTERN", None)]
        hidden = await world.ok(token, SEARCH_AS, {"identifier": visitor["barcode"]})
        assert hidden["networkPatronSearch"] == {"matches": [], "errors": []}, actor
        checks += 2
    record(LEAKS, checks)


def _same_error(a: dict[str, Any], b: dict[str, Any], given: tuple[str, str]) -> None:
    """Two payload errors that differ at most by echoing the value given."""
    assert (a["code"], a["field"]) == (b["code"], b["field"]), (a, b)
    assert a["message"].replace(given[0], "*") == b["message"].replace(given[1], "*"), (a, b)


async def test_errors_reveal_nothing_of_another_institution(
    world: World, connection: AsyncConnection
) -> None:
    """A mutation aimed at another institution's object fails exactly as for a missing one."""
    theirs = await eastern_objects(world)
    eastern = await world.eastern()
    sip = await world.ok(
        eastern,
        """mutation { createSipAccount(input: {institution: "EASTERN", loginId: "authz-eastern-sip",
             secret: "Authz-sip-secret-1"}) { errors { code } } }""",
    )
    assert sip["createSipAccount"]["errors"] == []
    mine = await world.target_patron()
    photo = png_upload()
    patron, block, rule, copy = (
        theirs["Patron"],
        theirs["PatronBlock"],
        theirs["LinkedAccountRule"],
        theirs["LinkedCopy"],
    )
    no_patron, no_block, no_rule = (
        missing("Patron"),
        missing("PatronBlock"),
        missing("LinkedAccountRule"),
    )
    # (operation, document, variables for theirs, variables for a missing one, upload)
    probes: list[tuple[str, str, dict[str, Any], dict[str, Any], Any]] = []

    def probe(
        name: str, document: str, real: dict[str, Any], fake: dict[str, Any], upload: Any = None
    ) -> None:
        probes.append((name, document, real, fake, upload))

    by_id = "($input: {t}!) {{ {op}(input: $input) {{ errors {{ code message field }} }} }}"

    def doc(op: str, input_type: str) -> str:
        return "mutation" + by_id.format(t=input_type, op=op)

    probe(
        "updatePatron",
        doc("updatePatron", "UpdatePatronInput"),
        {"input": {"id": patron, "expectedVersion": 1, "givenName": "X"}},
        {"input": {"id": no_patron, "expectedVersion": 1, "givenName": "X"}},
    )
    probe(
        "deletePatron",
        doc("deletePatron", "DeletePatronInput"),
        {"input": {"id": patron}},
        {"input": {"id": no_patron}},
    )
    probe(
        "addPatronBlock",
        doc("addPatronBlock", "AddPatronBlockInput"),
        {"input": {"patronId": patron, "blockType": "CONDUCT"}},
        {"input": {"patronId": no_patron, "blockType": "CONDUCT"}},
    )
    probe(
        "removePatronBlock",
        doc("removePatronBlock", "RemovePatronBlockInput"),
        {"input": {"id": block}},
        {"input": {"id": no_block}},
    )
    probe(
        "setPatronPhoto",
        doc("setPatronPhoto", "SetPatronPhotoInput"),
        {"input": {"patronId": patron, "file": None}},
        {"input": {"patronId": no_patron, "file": None}},
        photo,
    )
    probe(
        "removePatronPhoto",
        doc("removePatronPhoto", "RemovePatronPhotoInput"),
        {"input": {"patronId": patron}},
        {"input": {"patronId": no_patron}},
    )
    probe(
        "checkOut",
        doc("checkOut", "CheckOutInput"),
        {"input": {"patronId": patron, "itemBarcode": "AUTHZ-X"}},
        {"input": {"patronId": no_patron, "itemBarcode": "AUTHZ-X"}},
    )
    probe(
        "checkIn",
        doc("checkIn", "CheckInInput"),
        {"input": {"itemBarcode": "AUTHZ-E-ITEM"}},
        {"input": {"itemBarcode": "AUTHZ-NO-ITEM"}},
    )
    probe(
        "mergePatrons (survivor)",
        doc("mergePatrons", "MergePatronsInput"),
        {"input": {"survivor": patron, "duplicates": [mine["id"]]}},
        {"input": {"survivor": no_patron, "duplicates": [mine["id"]]}},
    )
    probe(
        "mergePatrons (duplicate)",
        doc("mergePatrons", "MergePatronsInput"),
        {"input": {"survivor": mine["id"], "duplicates": [patron]}},
        {"input": {"survivor": mine["id"], "duplicates": [no_patron]}},
    )
    probe(
        "applyAttributeRule",
        doc("applyAttributeRule", "ApplyAttributeRuleInput"),
        {"input": {"attributeType": "KANOPY_LANSING", "patronIds": [patron]}},
        {"input": {"attributeType": "KANOPY_LANSING", "patronIds": [no_patron]}},
    )
    probe(
        "changeUsernames",
        doc("changeUsernames", "ChangeUsernamesInput"),
        {
            "input": {
                "institution": "NEKLS",
                "dryRun": True,
                "changes": [{"patronId": patron, "newUsername": "authz.x"}],
            }
        },
        {
            "input": {
                "institution": "NEKLS",
                "dryRun": True,
                "changes": [{"patronId": no_patron, "newUsername": "authz.x"}],
            }
        },
    )
    probe(
        "refreshLinkedAccount",
        doc("refreshLinkedAccount", "RefreshLinkedAccountInput"),
        {"input": {"id": copy}},
        {"input": {"id": no_patron}},
    )
    probe(
        "unlinkAccount",
        doc("unlinkAccount", "UnlinkAccountInput"),
        {"input": {"id": copy}},
        {"input": {"id": no_patron}},
    )
    probe(
        "linkAccount",
        doc("linkAccount", "LinkAccountInput"),
        {"input": {"sourcePatron": theirs["EasternRef"], "reason": "MANUAL"}},
        {"input": {"sourcePatron": "bm90LWEtcmVm", "reason": "MANUAL"}},
    )
    for op, input_type in (
        ("updateLinkedAccountRule", "UpdateLinkedAccountRuleInput"),
        ("duplicateLinkedAccountRule", "DuplicateLinkedAccountRuleInput"),
        ("deleteLinkedAccountRule", "DeleteLinkedAccountRuleInput"),
    ):
        probe(op, doc(op, input_type), {"input": {"id": rule}}, {"input": {"id": no_rule}})
    probe(
        "updateSipAccount",
        doc("updateSipAccount", "UpdateSipAccountInput"),
        {"input": {"loginId": "authz-eastern-sip", "enabled": False}},
        {"input": {"loginId": "authz-no-such-sip", "enabled": False}},
    )

    secrets = (theirs["barcode"], theirs["surname"], theirs["email"], "secret note", "EASTERN")
    checks = 0
    before = await fingerprint(connection)
    for actor in ("librarian", "system_admin"):
        token = world.tokens[actor]
        for name, document, real, fake, upload in probes:
            op = document.split("{", 2)[1].split("(")[0].strip()
            a = await world.send(token, document, real, upload)
            b = await world.send(token, document, fake, upload)
            assert ("errors" in a, "errors" in b) == (False, False), (name, a, b)
            ea, eb = a["data"][op]["errors"], b["data"][op]["errors"]
            assert ea, (actor, name, ea)
            assert len(ea) == len(eb), (actor, name, ea, eb)
            for x, y in zip(ea, eb, strict=True):
                _same_error(x, y, _echo(real, fake))
                assert not any(s in x["message"] for s in secrets), (actor, name, x)
            checks += 1
    assert changed_tables(before, await fingerprint(connection)) == []
    record(LEAKS, checks)


def _echo(real: dict[str, Any], fake: dict[str, Any]) -> tuple[str, str]:
    """The one value a message may echo: the login id or item barcode given."""
    for key in ("loginId", "itemBarcode"):
        if key in real["input"]:
            return real["input"][key], fake["input"][key]
    return ("\x00", "\x00")


def png_upload() -> Any:
    from tests.reliability.authz_world import Upload, png

    return Upload("variables.input.file", "photo.png", png(), "image/png")


UPDATE_NAME = """mutation($id: ID!, $v: Int!, $name: String!) {
  updatePatron(input: {id: $id, expectedVersion: $v, givenName: $name}) {
    patron { version } errors { code message } } }"""
SET_KANOPY = """mutation($id: ID!, $v: Int!, $value: String!) {
  updatePatron(input: {id: $id, expectedVersion: $v,
    attributes: [{type: "KANOPY_LANSING", values: [$value]}]}) {
    patron { version } errors { code message } } }"""


async def _trail(world: World, token: str, patron_id: str) -> list[dict[str, Any]]:
    data = await world.ok(token, AUDIT, {"id": patron_id})
    assert data["node"] is not None
    return [e["node"] for e in data["node"]["auditLog"]["edges"]]


async def test_audit_trails_show_nothing_of_another_institution(world: World) -> None:
    lansing, basehor = world.tokens["librarian"], world.tokens["librarian_other_library"]
    assert lansing is not None
    assert basehor is not None
    eastern = await world.eastern()
    checks = 0

    # Branch-limited values: in LANSING's view of the trail, not in BASEHOR's.
    target = await world.target_patron()
    changed = await world.ok(
        lansing, SET_KANOPY, {"id": target["id"], "v": 1, "value": "NOT_ALLOWED"}
    )
    assert changed["updatePatron"]["errors"] == []
    assert "KANOPY_LANSING" in repr(await _trail(world, lansing, target["id"]))
    assert "KANOPY" not in repr(await _trail(world, basehor, target["id"]))
    checks += 2

    # EASTERN links the NEKLS patron; NEKLS staff then change and delete the source.
    found = await world.ok(eastern, SEARCH_AS, {"identifier": target["barcode"]})
    ref = found["networkPatronSearch"]["matches"][0]["ref"]
    linked = await world.ok(eastern, LINK_REF, {"ref": ref})
    copy = linked["linkAccount"]["linkedAccount"]["id"]
    renamed = await world.ok(lansing, UPDATE_NAME, {"id": target["id"], "v": 2, "name": "Renamed"})
    assert renamed["updatePatron"]["errors"] == [], renamed
    # NEKLS's trail of its patron holds nothing EASTERN did (its search, its link).
    nekls_trail = await _trail(world, lansing, target["id"])
    assert not any("eastern" in e["actor"].lower() for e in nekls_trail), nekls_trail
    checks += 1
    removed = await world.ok(
        lansing,
        "mutation($id: ID!) { deletePatron(input: {id: $id}) { errors { code } } }",
        {"id": target["id"]},
    )
    assert removed["deletePatron"]["errors"] == []
    # EASTERN's trail of its copy shows the changes, but not who at NEKLS made them.
    eastern_trail = await _trail(world, eastern, copy)
    actions = [e["action"] for e in eastern_trail]
    assert {"source_deleted", "propagate_source_change"} <= set(actions), actions
    assert "NEKLS (another member)" in {e["actor"] for e in eastern_trail}, eastern_trail
    for entry in eastern_trail:
        assert "lansing" not in entry["actor"].lower(), entry
        assert "KANOPY" not in repr(entry["changes"]), entry
    checks += len(eastern_trail)
    record(LEAKS, checks)


async def test_patrons_see_their_own_account_only(
    world: World, connection: AsyncConnection
) -> None:
    """The patron perspective beyond the matrix: itself yes, anyone else or any list no."""
    target = await world.target_patron()
    for actor in ("patron", "generic"):
        token = world.tokens[actor]
        assert token is not None
        me = world.accounts[actor]
        own = await world.ok(token, "query($id: ID!) { node(id: $id) { id } }", {"id": me["id"]})
        assert own == {"node": {"id": me["id"]}}
        assert await world.ok(token, NODE, {"id": target["id"]}) == {"node": None}
        listing = await world.ok(token, LIST, {"institution": "NEKLS", "search": None})
        assert listing["patrons"] == {"totalCount": 0, "edges": []}
        # Its own audit trail is staff business.
        assert await _trail(world, token, me["id"]) == []
        before = await fingerprint(connection)
        state = await world.read_patron(me["id"])
        refused = await world.ok(
            token, UPDATE_NAME, {"id": me["id"], "v": me["version"], "name": "Me"}
        )
        assert [e["code"] for e in refused["updatePatron"]["errors"]] == ["FORBIDDEN"]
        assert refused["updatePatron"]["patron"] is None
        assert changed_tables(before, await fingerprint(connection)) == []
        assert await world.read_patron(me["id"]) == state
    record(LEAKS, 10)
