"""Options that say what they do: flags are flags in the help, --password is asked for when
not given, ids are the API's or the listings' numbers, `serve` prints an address a person
can open, and seeding the demo shows its progress."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.main import get_command

from app.cli import cli
from app.cli_options import open_url
from app.db import Database
from app.demo.seed import INSTITUTIONS, LOGINS
from app.graphql.ids import encode_id
from tests.support.cli import flat, run_cli


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += _commands(sub, (*path, name))
    return found


async def test_flags_are_shown_as_flags_in_every_help() -> None:
    for path in _commands(get_command(cli)):
        result = await run_cli(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, path
    help_text = (await run_cli("import", "--help")).output
    assert "  --commit             Write the changes (default: dry run)." in help_text
    sip = (await run_cli("sip-account", "update", "--help")).output
    assert "--enable / --disable" in sip


async def test_a_flag_given_a_value_is_told_so(cli_database: Database, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("barcode\n1\n", encoding="utf-8")
    result = await run_cli("import", str(path), "--institution", "NORTHFIELD", "--commit", "true")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == "Error: Got unexpected extra argument(s) (true)"


async def test_the_password_is_asked_for_when_not_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    help_line = next(
        line
        for line in (await run_cli("bootstrap", "--help")).output.splitlines()
        if "--password" in line
    )
    assert "required" not in help_line
    assert "asked for (hidden, twice) when not given" in flat(
        (await run_cli("bootstrap", "--help")).output
    )
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'real.db'}")
    args = ["bootstrap", "--institution", "KLS", "--institution-name", "Kansas"]
    args += ["--library", "CENTRAL", "--library-name", "Central", "--admin", "root.admin"]
    result = await run_cli(*args, input="a-long-password\na-long-password\n")
    assert result.exit_code == 0, result.output
    assert "The administrator's password: " in result.output
    assert "Repeat for confirmation: " in result.output
    assert "a-long-password" not in result.output  # hidden
    assert "Created KLS with library CENTRAL" in flat(result.output)


async def _client_id(database: Database, name: str) -> int:
    async with database.engine.connect() as conn:
        query = text("SELECT id FROM api_client WHERE name = :name")
        return int((await conn.execute(query, {"name": name})).scalar_one())


async def test_api_clients_are_named_by_the_apis_id_or_their_number(
    cli_database: Database,
) -> None:
    created = await run_cli("create-api-client", "--institution", "EASTERN", "--name", "Vendor")
    assert created.exit_code == 0, created.output
    pk = await _client_id(cli_database, "Vendor")
    opaque = encode_id("ApiClient", pk)
    listed = await run_cli("api-clients", "--institution", "EASTERN")
    assert opaque in next(line for line in listed.output.splitlines() if "Vendor" in line)

    rotated = await run_cli("rotate-api-client-secret", opaque)
    assert rotated.exit_code == 0, rotated.output
    revoked = await run_cli("revoke-api-client", str(pk))
    assert revoked.exit_code == 0, revoked.output
    assert "is revoked" in flat(revoked.output)

    for wrong in ("xyz", encode_id("Patron", pk), "0"):
        refused = await run_cli("revoke-api-client", wrong)
        assert refused.exit_code == 2
        assert refused.output.splitlines()[-1] == (
            f"Error: Invalid value: {wrong!r} is not the id of an API client: give the id the "
            "API answers with, or the number `netzone api-clients` shows."
        )


async def test_sip_accounts_are_named_by_login_or_the_apis_id(cli_database: Database) -> None:
    async with cli_database.engine.connect() as conn:
        pk = (
            await conn.execute(text("SELECT id FROM sip_account WHERE login_id = 'nekls-vendor'"))
        ).scalar_one()
    opaque = encode_id("SipAccount", pk)
    updated = await run_cli("sip-account", "update", opaque, "--disable")
    assert updated.exit_code == 0, updated.output
    assert flat(updated.output) == "Updated SIP account 'nekls-vendor'."
    deleted = await run_cli("sip-account", "delete", opaque)
    assert deleted.exit_code == 0, deleted.output
    assert flat(deleted.output) == "Deleted SIP account 'nekls-vendor'."
    again = await run_cli("sip-account", "delete", opaque)
    assert again.exit_code == 1
    assert flat(again.output) == "NOT_FOUND (input.id): There is no such SIP account."
    by_login = await run_cli("sip-account", "delete", "kanopy-lansing")
    assert by_login.exit_code == 0, by_login.output
    async with cli_database.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM sip_account"))).scalar_one() == 0


def test_addresses_a_person_can_open() -> None:
    host = socket.gethostname()
    assert open_url("0.0.0.0", 8000, "/graphql") == (
        "http://127.0.0.1:8000/graphql (listening on all addresses; from another machine: "
        f"http://{host}:8000/graphql)"
    )
    assert open_url("::", 9100, "/metrics").startswith("http://127.0.0.1:9100/metrics (listening")
    assert open_url("::1", 8000, "/graphql") == "http://[::1]:8000/graphql"
    assert open_url("10.1.2.3", 8000) == "http://10.1.2.3:8000"


async def test_serve_prints_an_address_a_person_can_open(
    cli_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr("app.cli.server.uvicorn.run", lambda *args, **kwargs: served.update(kwargs))
    monkeypatch.setattr("app.observability.logs.configure_logging", lambda settings: None)
    result = await run_cli("serve", "--host", "0.0.0.0", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert served["host"] == "0.0.0.0"
    assert (
        "GraphiQL: http://127.0.0.1:8123/graphql (listening on all addresses; from another "
        f"machine: http://{socket.gethostname()}:8123/graphql)"
    ) in flat(result.output)
    assert "http://0.0.0.0" not in result.output


async def test_seeding_the_demo_shows_its_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    result = await run_cli("demo", "--patrons", "2")
    assert result.exit_code == 0, result.output
    steps = 1 + 2 * len(INSTITUTIONS) + len(LOGINS) + 3
    assert "Seeding the demo network" in result.output
    assert f"{steps}/{steps}" in result.output
    assert "Demo logins" in result.output
