"""`netzone import` says what is wrong with the file or the options in the operator's
terms: a value repeated within the file names the line it repeats; an unknown
institution is one that does not exist."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from app.db import Database
from tests.support.cli import run_cli
from tests.support.imports import HEADER, student, to_csv


async def _count(database: Database, sql: str) -> int:
    async with database.engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def test_a_barcode_repeated_within_the_file_names_its_line(
    cli_database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "students.csv"
    first, second, third = student(1), student(2), student(3)
    third["barcode"] = first["barcode"]  # line 4 repeats line 2's barcode
    third["username"] = second["username"].upper()  # ... and line 3's username
    path.write_bytes(to_csv(HEADER, [first, second, third]))
    patrons = await _count(cli_database, "SELECT count(*) FROM patron")

    result = await run_cli("import", str(path), "--institution", "NORTHFIELD", "--commit")
    assert result.exit_code == 1
    said = " ".join(result.output.split())  # Rich's wrapping undone
    assert (
        f"line 4, column barcode: DUPLICATE_IDENTIFIER: The barcode {first['barcode']!r} "
        "repeats line 2 of this file: each patron needs a barcode of its own."
    ) in said
    assert (
        f"line 4, column username: DUPLICATE_USERNAME: The username "
        f"{second['username'].upper()!r} repeats line 3 of this file: each patron needs a "
        "username of its own."
    ) in said
    assert "Traceback" not in result.output
    assert await _count(cli_database, "SELECT count(*) FROM patron") == patrons


async def test_a_barcode_of_another_patron_is_still_said_so(
    cli_database: Database, tmp_path: Path
) -> None:
    async with cli_database.engine.connect() as conn:
        taken = (
            await conn.execute(
                text(
                    "SELECT i.value FROM patron_identifier i JOIN identifier_type t "
                    "ON t.id = i.identifier_type_id JOIN institution n ON n.id = i.institution_id "
                    "WHERE t.code = 'BARCODE' AND n.code = 'NORTHFIELD' ORDER BY i.value LIMIT 1"
                )
            )
        ).scalar_one()
    path = tmp_path / "students.csv"
    path.write_bytes(to_csv(HEADER, [student(1, barcode=taken)]))
    result = await run_cli("import", str(path), "--institution", "NORTHFIELD")
    assert result.exit_code == 1
    assert "already belongs to another patron in NORTHFIELD" in " ".join(result.output.split())
    assert "repeats line" not in result.output


async def test_an_unknown_institution_is_said_to_be_unknown(
    cli_database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "students.csv"
    path.write_bytes(to_csv(HEADER, [student(1)]))
    result = await run_cli("import", str(path), "--institution", "NOPE")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{path.name}: NOT_FOUND: There is no institution with the code 'NOPE'."
    ]
    assert await _count(cli_database, "SELECT count(*) FROM import_job") == 0
