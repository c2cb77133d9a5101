"""An institution's lists of cohorts and form classes: its system administrator adds and
removes values (a value patrons hold moves to another one, or stays), imports them from
CSV; nobody else changes them; every change is audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import Database
from tests.support.cli import flat, run_cli
from tests.support.database import scalar
from tests.support.graphql import GraphQL
from tests.support.network import ADD, add, audit_entries, remove

IMPORT = """mutation($input: ImportPatronValueChoicesInput!) {
  importPatronValueChoices(input: $input) {
    added updated unchanged written problems { where code message }
    errors { code message field }
  }
}"""
LISTS = """query($code: String!) { institution(code: $code) {
  cohorts { kind value description } formClasses { kind value description } } }"""
CREATE = """mutation($input: CreatePatronInput!) {
  createPatron(input: $input) { patron { id cohort formClass version } errors { code } }
}"""
READ = "query($id: ID!) { node(id: $id) { ... on Patron { cohort formClass version } } }"


async def lists(gql: GraphQL, token: str, institution: str = "NEKLS") -> dict[str, Any]:
    institution_lists: dict[str, Any] = (await gql.ok(LISTS, {"code": institution}, token))[
        "institution"
    ]
    return institution_lists


def values(institution_lists: dict[str, Any], field: str = "cohorts") -> list[str]:
    return [c["value"] for c in institution_lists[field]]


async def student(gql: GraphQL, token: str, surname: str, **fields: Any) -> dict[str, Any]:
    input_ = {"institution": "NEKLS", "homeLibrary": "LANSING", "surname": surname, **fields}
    payload = (await gql.ok(CREATE, {"input": input_}, token))["createPatron"]
    assert payload["errors"] == [], payload
    patron: dict[str, Any] = payload["patron"]
    return patron


async def read(gql: GraphQL, token: str, patron_id: str) -> dict[str, Any]:
    node: dict[str, Any] = (await gql.ok(READ, {"id": patron_id}, token))["node"]
    return node


@pytest.fixture
async def admin(gql: GraphQL) -> str:
    return await gql.login("nekls.admin", "LANSING")


@pytest.fixture
async def librarian(gql: GraphQL) -> str:
    return await gql.login("lansing.librarian", "LANSING")


# --- Adding ----------------------------------------------------------------------------------


async def test_system_admin_adds_values_listed_in_natural_order_and_audited(
    gql: GraphQL, admin: str, connection: AsyncConnection
) -> None:
    # Given NEKLS lists nothing
    assert await lists(gql, admin) == {"cohorts": [], "formClasses": []}
    # When its system administrator adds two cohorts and two form classes
    first = await add(gql, admin, "COHORT", " 2028 ")
    assert first == {
        "choice": {"kind": "COHORT", "value": "2028", "description": None},
        "institution": {"code": "NEKLS", "cohorts": [{"value": "2028"}]},
        "errors": [],
    }
    await add(gql, admin, "COHORT", "2027", description=" Leaves in 2027 ")
    await add(gql, admin, "FORM_CLASS", "10A")
    await add(gql, admin, "FORM_CLASS", "7A", description="Year 7, group A")
    # Then the institution lists them, numbers in numeric order
    assert await lists(gql, admin) == {
        "cohorts": [
            {"kind": "COHORT", "value": "2027", "description": "Leaves in 2027"},
            {"kind": "COHORT", "value": "2028", "description": None},
        ],
        "formClasses": [
            {"kind": "FORM_CLASS", "value": "7A", "description": "Year 7, group A"},
            {"kind": "FORM_CLASS", "value": "10A", "description": None},
        ],
    }
    # And every addition is audited with who made it
    entries = await audit_entries(connection, "add_patron_value_choice")
    assert [(e["actor_name"], e["entity_type"], e["changes"]["value"]) for e in entries] == [
        ("nekls.admin", "PatronValueChoice", {"before": None, "after": value})
        for value in ("2028", "2027", "10A", "7A")
    ]
    assert entries[1]["changes"]["kind"] == {"before": None, "after": "COHORT"}
    assert entries[1]["changes"]["description"] == {"before": None, "after": "Leaves in 2027"}
    # And other institutions still list nothing
    assert await lists(gql, admin, "EASTERN") == {"cohorts": [], "formClasses": []}


async def test_a_value_is_listed_once_whatever_its_case_and_must_fit(
    gql: GraphQL, admin: str
) -> None:
    await add(gql, admin, "FORM_CLASS", "7A")
    again = await add(gql, admin, "FORM_CLASS", "7a")
    assert again["errors"] == [
        {
            "code": "CONFLICT",
            "message": "'7A' is already a form class of NEKLS.",
            "field": ["input", "value"],
        }
    ]
    # The same text is a value of the other kind all the same.
    assert (await add(gql, admin, "COHORT", "7a"))["errors"] == []
    blank = await add(gql, admin, "COHORT", "  ")
    assert blank["errors"] == [
        {"code": "MANDATORY_FIELD", "message": "Give a value.", "field": ["input", "value"]}
    ]
    long = await add(gql, admin, "COHORT", "x" * 51, description="y" * 201)
    assert [(e["code"], e["field"]) for e in long["errors"]] == [
        ("INVALID_INPUT", ["input", "value"]),
        ("INVALID_INPUT", ["input", "description"]),
    ]
    assert await lists(gql, admin) == {
        "cohorts": [{"kind": "COHORT", "value": "7a", "description": None}],
        "formClasses": [{"kind": "FORM_CLASS", "value": "7A", "description": None}],
    }


@pytest.mark.parametrize(
    ("username", "library"),
    [("lansing.librarian", "LANSING"), ("eastern.admin", "EASTERN-MAIN")],
)
async def test_librarians_and_other_institutions_admins_change_nothing(
    gql: GraphQL, admin: str, connection: AsyncConnection, username: str, library: str
) -> None:
    # Given NEKLS lists the cohort 2027
    await add(gql, admin, "COHORT", "2027")
    before = await lists(gql, admin)
    token = await gql.login(username, library)
    # When a librarian of NEKLS, or another institution's administrator, adds or removes
    added = await add(gql, token, "COHORT", "2099")
    removed = await remove(gql, token, "COHORT", "2027")
    # Then both are refused, naming who may
    message = "Only a system administrator of NEKLS may change its list of cohorts."
    assert added == {
        "choice": None,
        "institution": None,
        "errors": [{"code": "FORBIDDEN", "message": message, "field": None}],
    }
    assert removed["errors"] == [{"code": "FORBIDDEN", "message": message, "field": None}]
    assert removed["removedValue"] is None
    # And nothing changed or was audited
    assert await lists(gql, admin) == before
    assert [
        e["actor_name"] for e in await audit_entries(connection, "add_patron_value_choice")
    ] == ["nekls.admin"]
    assert await audit_entries(connection, "remove_patron_value_choice") == []


async def test_anonymous_callers_are_unauthenticated(gql: GraphQL) -> None:
    body = await gql(ADD, {"input": {"institution": "NEKLS", "kind": "COHORT", "value": "1"}})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# --- Removing --------------------------------------------------------------------------------


async def test_a_value_nobody_holds_is_removed_and_then_any_text_goes(
    gql: GraphQL, admin: str, librarian: str, connection: AsyncConnection
) -> None:
    await add(gql, admin, "COHORT", "2027")
    removed = await remove(gql, admin, "COHORT", "2027")
    assert removed == {
        "removedValue": "2027",
        "patronsMoved": 0,
        "institution": {"code": "NEKLS"},
        "errors": [],
    }
    assert values(await lists(gql, admin)) == []
    [entry] = await audit_entries(connection, "remove_patron_value_choice")
    assert entry["changes"] == {
        "kind": {"before": "COHORT", "after": None},
        "value": {"before": "2027", "after": None},
    }
    # With the list empty again, free text is taken as before.
    patron = await student(gql, librarian, "Freetext", cohort="banana")
    assert patron["cohort"] == "banana"
    # And a value that is not listed cannot be removed.
    missing = await remove(gql, admin, "COHORT", "2027")
    assert missing["errors"] == [
        {
            "code": "NOT_FOUND",
            "message": "'2027' is not a listed cohort of NEKLS.",
            "field": ["input", "value"],
        }
    ]


async def test_a_value_patrons_hold_is_not_removed(
    gql: GraphQL, admin: str, librarian: str, connection: AsyncConnection
) -> None:
    # Given two NEKLS patrons in the cohort 2027 (one written in another case)
    await add(gql, admin, "COHORT", "2027")
    await add(gql, admin, "COHORT", "2028")
    one = await student(gql, librarian, "Cohortone", cohort="2027")
    two = await student(gql, librarian, "Cohorttwo", cohort="2027")
    before = await lists(gql, admin)
    # When the administrator removes it without a replacement
    refused = await remove(gql, admin, "COHORT", "2027")
    # Then it is refused with the count
    assert refused == {
        "removedValue": None,
        "patronsMoved": 0,
        "institution": None,
        "errors": [
            {
                "code": "CONFLICT",
                "message": "2 patrons have cohort 2027 in NEKLS: give them another cohort "
                "first, or remove it with replaceWith to move them to another listed cohort.",
                "field": ["input", "value"],
            }
        ],
    }
    # And nothing changed
    assert await lists(gql, admin) == before
    assert [(await read(gql, admin, p["id"]))["cohort"] for p in (one, two)] == ["2027", "2027"]
    assert await audit_entries(connection, "remove_patron_value_choice") == []


async def test_replace_with_moves_the_patrons_in_the_same_transaction(
    gql: GraphQL, admin: str, librarian: str, connection: AsyncConnection
) -> None:
    # Given form classes 7A and 7B, two patrons in 7A and one in 7B
    await add(gql, admin, "FORM_CLASS", "7A")
    await add(gql, admin, "FORM_CLASS", "7B")
    one = await student(gql, librarian, "Formone", formClass="7A")
    two = await student(gql, librarian, "Formtwo", formClass="7a")
    other = await student(gql, librarian, "Formother", formClass="7B")
    assert two["formClass"] == "7A"  # stored as listed
    # When 7A is removed with its patrons moved to 7B (named in another case)
    removed = await remove(gql, admin, "FORM_CLASS", "7a", replaceWith="7b")
    # Then it is gone and both patrons are in 7B, with a new version
    assert removed == {
        "removedValue": "7A",
        "patronsMoved": 2,
        "institution": {"code": "NEKLS"},
        "errors": [],
    }
    assert values(await lists(gql, admin), "formClasses") == ["7B"]
    for patron in (one, two):
        now = await read(gql, admin, patron["id"])
        assert (now["formClass"], now["version"]) == ("7B", patron["version"] + 1)
    assert await read(gql, admin, other["id"]) == {
        "cohort": None,
        "formClass": "7B",
        "version": other["version"],
    }
    # And the removal and each patron's change are audited
    [entry] = await audit_entries(connection, "remove_patron_value_choice")
    assert entry["changes"] == {
        "kind": {"before": "FORM_CLASS", "after": None},
        "value": {"before": "7A", "after": None},
        "replacedBy": "7B",
        "patronsMoved": 2,
    }
    moved = await audit_entries(connection, "replace_patron_value_choice")
    assert (
        sorted((e["entity_type"], e["actor_name"], str(e["changes"])) for e in moved)
        == [("Patron", "nekls.admin", str({"formClass": {"before": "7A", "after": "7B"}}))] * 2
    )
    audit = """query($id: ID!) { node(id: $id) { ... on Patron {
      auditLog(first: 10) { edges { node { action changes } } } } } }"""
    log = (await gql.ok(audit, {"id": one["id"]}, admin))["node"]["auditLog"]["edges"]
    assert {
        "action": "replace_patron_value_choice",
        "changes": {"formClass": {"before": "7A", "after": "7B"}},
    } in [e["node"] for e in log]


async def test_the_replacement_must_be_another_listed_value(
    gql: GraphQL, admin: str, librarian: str
) -> None:
    await add(gql, admin, "COHORT", "2027")
    patron = await student(gql, librarian, "Staysput", cohort="2027")
    unlisted = await remove(gql, admin, "COHORT", "2027", replaceWith="2031")
    assert unlisted["errors"] == [
        {
            "code": "NOT_FOUND",
            "message": "'2031' is not a listed cohort of NEKLS.",
            "field": ["input", "replaceWith"],
        }
    ]
    itself = await remove(gql, admin, "COHORT", "2027", replaceWith="2027")
    assert itself["errors"] == [
        {
            "code": "INVALID_INPUT",
            "message": "The replacement must be another cohort.",
            "field": ["input", "replaceWith"],
        }
    ]
    assert values(await lists(gql, admin)) == ["2027"]
    assert await read(gql, admin, patron["id"]) == {
        "cohort": "2027",
        "formClass": None,
        "version": patron["version"],
    }


# --- Importing -------------------------------------------------------------------------------


async def upload(
    client: httpx.AsyncClient,
    token: str,
    content: str,
    *,
    dry_run: bool = False,
    institution: str = "NEKLS",
) -> dict[str, Any]:
    operations = {
        "query": IMPORT,
        "variables": {"input": {"institution": institution, "file": None, "dryRun": dry_run}},
    }
    response = await client.post(
        "/graphql",
        data={
            "operations": orjson.dumps(operations).decode(),
            "map": orjson.dumps({"0": ["variables.input.file"]}).decode(),
        },
        files={"0": ("choices.csv", content.encode(), "text/csv")},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["importPatronValueChoices"]
    return payload


LIST_CSV = (
    "kind,value,description\r\n"
    "COHORT,2027,Leaves 2027\r\n"
    "cohort,2028,\r\n"
    "FORM_CLASS,7A,Year 7 A\r\n"
    "form_class,7B,\r\n"
)


async def test_import_adds_the_lists_after_a_dry_run(
    gql: GraphQL, client: httpx.AsyncClient, admin: str, connection: AsyncConnection
) -> None:
    # Given a dry run of a file with two cohorts and two form classes
    dry = await upload(client, admin, LIST_CSV, dry_run=True)
    assert dry == {
        "added": 4,
        "updated": 0,
        "unchanged": 0,
        "written": False,
        "problems": [],
        "errors": [],
    }
    assert await lists(gql, admin) == {"cohorts": [], "formClasses": []}
    # When it is imported
    done = await upload(client, admin, LIST_CSV)
    assert (done["added"], done["written"]) == (4, True)
    listed = await lists(gql, admin)
    assert [(c["value"], c["description"]) for c in listed["cohorts"]] == [
        ("2027", "Leaves 2027"),
        ("2028", None),
    ]
    assert values(listed, "formClasses") == ["7A", "7B"]
    assert len(await audit_entries(connection, "import_patron_value_choice")) == 4
    # And importing again (one description changed, a value in another case) adds nothing
    again = await upload(
        client, admin, "kind,value,description\r\nCOHORT,2028,New\r\nFORM_CLASS,7a,\r\n"
    )
    assert (again["added"], again["updated"], again["unchanged"], again["written"]) == (
        0,
        1,
        1,
        True,
    )
    listed = await lists(gql, admin)
    assert [(c["value"], c["description"]) for c in listed["cohorts"]] == [
        ("2027", "Leaves 2027"),
        ("2028", "New"),
    ]
    assert values(listed, "formClasses") == ["7A", "7B"]


async def test_an_import_with_problems_writes_nothing(
    gql: GraphQL, client: httpx.AsyncClient, admin: str
) -> None:
    content = (
        "kind,value\r\n"
        "COHORT,2027\r\n"
        "YEAR,2028\r\n"
        f"FORM_CLASS,{'x' * 51}\r\n"
        "COHORT,2027\r\n"
        "COHORT\r\n"
    )
    result = await upload(client, admin, content)
    assert result["written"] is False
    assert result["problems"] == [
        {
            "where": "line 3, column kind",
            "code": "INVALID_INPUT",
            "message": "The kind is COHORT or FORM_CLASS, not 'YEAR'.",
        },
        {
            "where": "line 4, column value",
            "code": "INVALID_INPUT",
            "message": "At most 50 characters.",
        },
        {
            "where": "line 5, column value",
            "code": "INVALID_INPUT",
            "message": "The cohort '2027' is given twice (first on line 2).",
        },
        {
            "where": "line 6",
            "code": "INVALID_INPUT",
            "message": "The row has 1 cells; the header has 2 columns.",
        },
    ]
    assert await lists(gql, admin) == {"cohorts": [], "formClasses": []}
    bad_header = await upload(client, admin, "value\r\n2027\r\n")
    assert bad_header["errors"] == [
        {
            "code": "INVALID_INPUT",
            "message": "The columns are kind, value and (optionally) description.",
            "field": ["input", "file"],
        }
    ]


async def test_librarians_do_not_import_lists(
    gql: GraphQL, client: httpx.AsyncClient, admin: str, librarian: str
) -> None:
    result = await upload(client, librarian, LIST_CSV)
    assert result["errors"] == [
        {
            "code": "FORBIDDEN",
            "message": "Only a system administrator of NEKLS may change its lists of cohorts "
            "and form classes.",
            "field": None,
        }
    ]
    assert result["written"] is False
    assert await lists(gql, admin) == {"cohorts": [], "formClasses": []}


async def test_cli_imports_the_lists(cli_database: Database, tmp_path: Path) -> None:
    path = tmp_path / "choices.csv"
    path.write_text(LIST_CSV, encoding="utf-8")
    count = "SELECT count(*) FROM patron_value_choice"
    dry = await run_cli("import-choices", str(path), "--institution", "NORTHFIELD")
    assert dry.exit_code == 0, dry.output
    assert "Would write: 4 added, 0 updated, 0 unchanged." in flat(dry.output)
    assert await scalar(cli_database, count) == 0
    done = await run_cli("import-choices", str(path), "--institution", "NORTHFIELD", "--commit")
    assert done.exit_code == 0, done.output
    assert "Wrote: 4 added" in flat(done.output)
    assert await scalar(cli_database, count) == 4
    path.write_text("kind,value\r\nYEAR,1\r\n", encoding="utf-8")
    failed = await run_cli("import-choices", str(path), "--institution", "NORTHFIELD", "--commit")
    assert failed.exit_code == 1
    assert "line 2, column kind: The kind is COHORT or FORM_CLASS, not 'YEAR'." in flat(
        failed.output
    )
    assert await scalar(cli_database, count) == 4


async def test_the_lists_go_with_a_removed_institution(
    gql: GraphQL, connection: AsyncConnection
) -> None:
    # Given a new, empty institution whose cohort list holds a value
    token = await gql.login("network.admin", "LANSING")
    created = await gql.ok(
        'mutation { createInstitution(input: {code: "SOUTHERN", name: "Southern"}) '
        "{ institution { id } errors { code } } }",
        token=token,
    )
    assert created["createInstitution"]["errors"] == []
    await connection.execute(
        text(
            "INSERT INTO patron_value_choice (institution_id, kind, value, value_key, created_at) "
            "SELECT id, 'COHORT', '2027', '2027', created_at FROM institution "
            "WHERE code = 'SOUTHERN'"
        )
    )
    # When the network administrator removes it, the list goes with it
    removed = await gql.ok(
        'mutation { removeInstitution(input: {code: "SOUTHERN"}) { removedCode errors { code } } }',
        token=token,
    )
    assert removed["removeInstitution"] == {"removedCode": "SOUTHERN", "errors": []}
    count = await connection.execute(text("SELECT count(*) FROM patron_value_choice"))
    assert count.scalar_one() == 0
