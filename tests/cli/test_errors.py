"""A failing `netzone` command says what is wrong and what to do in a line or two, exits
non-zero and shows no traceback (unless --debug or NETZONE_DEBUG=1) and no secret."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.cli_errors import explain
from app.db import Database
from tests.reliability.live_server import free_port, netzone
from tests.support.cli import run_cli


def lines(result: Any) -> list[str]:
    return result.output.splitlines()  # type: ignore[no-any-return]


async def imports_in(database: Database) -> int:
    async with database.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM import_job"))).scalar_one())


# ---------------------------------------------------------------- files


async def test_a_missing_file(cli_database: Database) -> None:
    result = await run_cli("import", "nope.csv", "--institution", "NORTHFIELD")
    assert result.exit_code == 1
    assert lines(result) == [
        "Error: There is no file 'nope.csv'.",
        f"Check the path (a relative path starts in {os.getcwd()}).",
    ]
    assert await imports_in(cli_database) == 0

    debug = await run_cli("--debug", "import", "nope.csv", "--institution", "NORTHFIELD")
    assert debug.exit_code == 1
    assert "Traceback (most recent call last)" in debug.output
    assert "FileNotFoundError" in debug.output
    assert lines(debug)[-2:] == lines(result)


async def test_a_folder_instead_of_a_file(cli_database: Database, tmp_path: Path) -> None:
    result = await run_cli("import", str(tmp_path), "--institution", "NORTHFIELD", "--commit")
    assert result.exit_code == 1
    assert lines(result) == [
        f"Error: {str(tmp_path)!r} is a folder, not a file.",
        "Give the path of a file in it.",
    ]
    assert "Traceback" not in result.output
    assert await imports_in(cli_database) == 0


def test_a_file_netzone_may_not_read() -> None:
    # (The suite runs as root, which may read anything: the error itself is given.)
    said, code = explain(PermissionError(13, "Permission denied", "/srv/drop/patrons.csv"))
    assert code == 1
    assert said == [
        "Error: netzone may not open '/srv/drop/patrons.csv' (permission denied).",
        "Check its permissions, or run netzone as a user who may read it.",
    ]


# ---------------------------------------------------------------- the database


def test_a_sqlite_file_in_a_missing_folder(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "netzone.db"
    result = netzone("migrate", database_url=f"sqlite:///{path}")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: Cannot open the SQLite file {path}: its folder does not exist "
        f"(DATABASE_URL=sqlite+aiosqlite:///{path}).",
        "Create its folder, or set DATABASE_URL to a file in a folder netzone may write.",
    ]


async def test_a_database_without_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "empty.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    result = await run_cli("api-clients", "--institution", "EASTERN")
    assert result.exit_code == 1
    assert lines(result) == [
        f"Error: The SQLite file {path} has no netzone tables, or older ones "
        f"(DATABASE_URL=sqlite+aiosqlite:///{path}).",
        "Run `netzone migrate` to create or update them.",
    ]
    assert "Traceback" not in result.output


async def test_a_server_that_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://netzone:pw-{port}-s3cret@127.0.0.1:{port}/nz")
    result = await run_cli("migrate")
    assert result.exit_code == 1
    assert lines(result) == [
        f"Error: Cannot reach the database 'nz' on the PostgreSQL server 127.0.0.1:{port}: "
        f"nothing answers at 127.0.0.1:{port} "
        f"(DATABASE_URL=postgresql+asyncpg://netzone:***@127.0.0.1:{port}/nz).",
        "Start PostgreSQL there, or set DATABASE_URL to the server netzone should use.",
    ]
    assert f"pw-{port}-s3cret" not in result.output

    debug = await run_cli("--debug", "migrate")
    assert "Traceback (most recent call last)" in debug.output
    assert lines(debug)[-2:] == lines(result)


def test_a_missing_postgresql_database(database_url: str) -> None:
    """The real command, as a process: which database is missing, and how to create it."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a missing database is a PostgreSQL server's answer")
    url = make_url(database_url).set(database="netzone_no_such_database", password="pw-s3cret")
    host, port, user = url.host, url.port or 5432, url.username
    safe = url.render_as_string(hide_password=True)
    result = netzone("migrate", database_url=url.render_as_string(hide_password=False))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: There is no database 'netzone_no_such_database' on the PostgreSQL server "
        f"{host}:{port} (DATABASE_URL={safe}).",
        f"Create it (createdb -h {host} -p {port} -U {user} netzone_no_such_database), "
        "then run `netzone migrate`.",
    ]
    assert "pw-s3cret" not in result.stderr


# ---------------------------------------------------------------- settings


REFUSED_KEY = [
    "Error: Setting refused: NETZONE_SECRET_KEY is a placeholder or shorter than 32 "
    'characters: set it to a random value (python3 -c "import secrets; '
    'print(secrets.token_urlsafe(48))"), or unset it to use the secret this deployment '
    "keeps in its database.",
    "Change it in the environment (or unset it), then run the command again.",
]


async def test_a_refused_secret_key_is_named_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = f"changeme-{secrets.token_hex(20)}"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("NETZONE_SECRET_KEY", key)
    result = await run_cli("migrate")
    assert result.exit_code == 1
    assert lines(result) == REFUSED_KEY
    assert "Traceback" not in result.output

    debug = await run_cli("--debug", "migrate")
    assert debug.exit_code == 1
    assert "Traceback (most recent call last)" in debug.output
    assert lines(debug)[-2:] == REFUSED_KEY
    for output in (result.output, debug.output):
        assert key not in output
        assert key[-12:] not in output  # not even its tail
        assert key[:16] not in output


def test_the_real_command_never_prints_the_secret_key(tmp_path: Path) -> None:
    key = f"replace-with-{secrets.token_hex(20)}"
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    plain = netzone("migrate", database_url=url, secret_key=key)
    debug = netzone("migrate", database_url=url, secret_key=key, debug="1")
    assert plain.returncode == debug.returncode == 1
    assert plain.stdout == debug.stdout == ""
    assert plain.stderr.splitlines() == REFUSED_KEY
    assert "Traceback" not in plain.stderr
    assert "Traceback (most recent call last)" in debug.stderr  # NETZONE_DEBUG=1
    for output in (plain.stderr, debug.stderr):
        assert key not in output
        assert key[-12:] not in output


@pytest.mark.parametrize(
    ("environment", "said"),
    [
        (
            {"NETZONE_ENVIRONMENT": "production"},
            "Error: Setting refused: NETZONE_ENVIRONMENT=production needs DATABASE_URL to "
            "point at PostgreSQL.",
        ),
        (
            {"NETZONE_PORT": "eighty"},
            "Error: Setting NETZONE_PORT refused: Input should be a valid integer, unable to "
            "parse string as an integer.",
        ),
    ],
)
async def test_refused_settings_are_named(
    environment: dict[str, str], said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    result = await run_cli("migrate")
    assert result.exit_code == 1
    assert lines(result) == [
        said,
        "Change it in the environment (or unset it), then run the command again.",
    ]
    assert "eighty" not in result.output


# ---------------------------------------------------------------- the rest


async def test_a_refusal_of_the_registry_is_its_message(cli_database: Database) -> None:
    result = await run_cli("revoke-api-client", "999999")
    assert result.exit_code == 1
    assert lines(result) == ["NOT_FOUND: There is no such API client."]
    debug = await run_cli("--debug", "revoke-api-client", "999999")
    assert "Traceback (most recent call last)" in debug.output
    assert lines(debug)[-1] == "NOT_FOUND: There is no such API client."


async def test_an_interrupted_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def interrupted(url: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setattr("app.migrate.upgrade", interrupted)
    result = await run_cli("migrate")
    assert result.exit_code == 130
    assert lines(result) == [
        "Interrupted: what the command had not yet committed to the database was not written."
    ]
    assert "Traceback" not in result.output


async def test_an_unexpected_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(url: str) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setattr("app.migrate.upgrade", broken)
    result = await run_cli("migrate")
    assert result.exit_code == 1
    assert lines(result) == [
        "Error: netzone stopped on an unexpected RuntimeError: the disk is on fire",
        "Please report it, with what --debug shows.",
    ]
    assert "Traceback" not in result.output

    monkeypatch.setenv("NETZONE_DEBUG", "1")
    debug = await run_cli("migrate")
    assert debug.exit_code == 1
    assert "Traceback (most recent call last)" in debug.output
    assert 'raise RuntimeError("the disk is on fire")' in debug.output
