"""`netzone import`: one file (a dry run unless --commit) and a watched drop folder.

The command runs against a SQLite file of its own, migrated and seeded here, that it
finds through DATABASE_URL (whatever database the rest of the suite uses).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
from pathlib import Path

from sqlalchemy import bindparam, text

from app.db import Database
from tests.support.cli import flat, run_cli
from tests.support.database import scalar
from tests.support.imports import HEADER, STUDENTS, WITH_ERRORS, student, to_csv

# The drop folder runs as NORTHFIELD's administrator at its library.
WATCHER = "northfield.admin@NORTHFIELD-MAIN"

STUDENT_IDS = [f"NF{1000 + n}" for n in range(20)]


async def students_in(database: Database) -> int:
    query = text(
        "SELECT count(DISTINCT i.patron_id) FROM patron_identifier i "
        "JOIN identifier_type t ON t.id = i.identifier_type_id "
        "WHERE t.code = 'ADMIN_SYSTEM_ID' AND i.value IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    async with database.engine.connect() as conn:
        return int((await conn.execute(query, {"ids": STUDENT_IDS})).scalar_one())


# ---------------------------------------------------------------- one file


async def test_a_dry_run_by_default_then_commit(cli_database: Database, tmp_path: Path) -> None:
    path = tmp_path / "students.csv"
    shutil.copy(STUDENTS, path)
    patrons = await scalar(cli_database, "SELECT count(*) FROM patron")

    dry = await run_cli("import", str(path), "--institution", "NORTHFIELD")
    assert dry.exit_code == 0, dry.output
    out = flat(dry.output)
    assert "SUCCEEDED (dry run): 20 created, 0 updated, 0 unchanged, 0 failed." in out
    assert "nothing was written" in out
    assert "20/20" in out  # the progress bar, finished
    assert await scalar(cli_database, "SELECT count(*) FROM patron") == patrons

    real = await run_cli("import", str(path), "--institution", "northfield", "--commit")
    assert real.exit_code == 0, real.output
    assert "SUCCEEDED: 20 created" in flat(real.output)
    assert await students_in(cli_database) == 20

    again = await run_cli("import", str(path), "--institution", "NORTHFIELD", "--commit")
    assert again.exit_code == 0, again.output
    assert "0 created, 0 updated, 20 unchanged, 0 failed" in flat(again.output)
    assert path.exists()  # a single file is left where it is


async def test_failing_rows_exit_1_and_write_nothing(
    cli_database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "errors.csv"
    shutil.copy(WITH_ERRORS, path)
    result = await run_cli("import", str(path), "--institution", "NORTHFIELD", "--commit")
    assert result.exit_code == 1, result.output
    out = flat(result.output)
    assert "FAILED: 1 created, 0 updated, 0 unchanged, 7 failed." in out
    assert "line 3, column surname: MANDATORY_FIELD" in out
    assert "line 9, column expiry_date: INVALID_INPUT" in out
    assert await students_in(cli_database) == 0


async def test_refused_files_and_bad_options_exit_1(cli_database: Database, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(to_csv([*HEADER, "until"], [student(1)]))
    result = await run_cli("import", str(bad), "--institution", "NORTHFIELD", "--commit")
    assert result.exit_code == 1
    assert "INVALID_INPUT" in result.output
    assert "'until'" in flat(result.output)

    good = tmp_path / "good.csv"
    shutil.copy(STUDENTS, good)
    result = await run_cli("import", str(good), "--institution", "NOWHERE", "--commit")
    assert result.exit_code == 1
    assert "NOT_FOUND: There is no institution with the code 'NOWHERE'." in flat(result.output)
    result = await run_cli("import", str(good), "--institution", "NORTHFIELD", "--mode", "MERGE")
    assert result.exit_code == 1
    assert "Unknown mode" in flat(result.output)
    result = await run_cli("import", "--institution", "NORTHFIELD")
    assert result.exit_code == 2
    assert await students_in(cli_database) == 0
    assert await scalar(cli_database, "SELECT count(*) FROM import_job") == 0


async def test_match_and_mode_options(cli_database: Database, tmp_path: Path) -> None:
    path = tmp_path / "students.csv"
    shutil.copy(STUDENTS, path)
    result = await run_cli(
        "import", str(path), "--institution", "NORTHFIELD", "--mode", "update_only", "--commit"
    )
    assert result.exit_code == 1
    assert "20 failed" in flat(result.output)
    assert "NOT_FOUND" in result.output
    result = await run_cli("import", str(path), "--institution", "NORTHFIELD", "--commit")
    assert result.exit_code == 0
    renamed = tmp_path / "renamed.csv"
    renamed.write_bytes(
        to_csv(["username", "surname"], [{"username": "ava.nguyen", "surname": "Nguyen-Smith"}])
    )
    result = await run_cli(
        "import", str(renamed), "--institution", "NORTHFIELD", "--match", "username", "--commit"
    )
    assert result.exit_code == 0, result.output
    assert "1 updated" in flat(result.output)
    assert await scalar(
        cli_database, "SELECT surname FROM patron WHERE username = 'ava.nguyen'"
    ) == ("Nguyen-Smith")


# ---------------------------------------------------------------- a watched folder


def _listing(folder: Path) -> list[str]:
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and ".lock" not in p.name
    )


async def test_watch_processes_each_file_once(cli_database: Database, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(STUDENTS, drop / "a-students.csv")
    shutil.copy(WITH_ERRORS, drop / "b-errors.csv")
    (drop / "c-unknown-column.CSV").write_bytes(to_csv([*HEADER, "shoe_size"], [student(1)]))
    (drop / "d-broken.csv").write_bytes(b'admin_system_id,surname\r\nX1,"Unclosed\r\n')
    (drop / "notes.txt").write_text("not a CSV: left alone")

    first = await run_cli(
        "import",
        "--as",
        WATCHER,
        "--watch",
        str(drop),
        "--institution",
        "NORTHFIELD",
        "--commit",
        "--settle",
        "0",
    )
    assert first.exit_code == 1, first.output  # some files failed
    assert _listing(drop) == [
        "failed/b-errors.csv",
        "failed/b-errors.csv.report.txt",
        "failed/c-unknown-column.CSV",
        "failed/c-unknown-column.CSV.report.txt",
        "failed/d-broken.csv",
        "failed/d-broken.csv.report.txt",
        "notes.txt",
        "processed/a-students.csv",
        "processed/a-students.csv.report.txt",
    ]
    assert await students_in(cli_database) == 20
    report = (drop / "processed" / "a-students.csv.report.txt").read_text()
    assert report.startswith("a-students.csv: SUCCEEDED: 20 created")
    report = (drop / "failed" / "b-errors.csv.report.txt").read_text()
    # Imported after a-students.csv: its two valid rows are now unchanged patrons.
    assert report.startswith("b-errors.csv: FAILED: 0 created, 0 updated, 2 unchanged, 6 failed.")
    assert "line 4, column primary_email: INVALID_EMAIL" in report
    report = (drop / "failed" / "c-unknown-column.CSV.report.txt").read_text()
    assert "refused before any row was read" in report
    assert "'shoe_size'" in report
    report = (drop / "failed" / "d-broken.csv.report.txt").read_text()
    assert "line 2" in report
    assert "never closed" in report
    jobs = await scalar(cli_database, "SELECT count(*) FROM import_job")

    # The same content again (under any name) is skipped; nothing is imported twice.
    shutil.copy(STUDENTS, drop / "a-students.csv")
    shutil.copy(STUDENTS, drop / "monday.csv")
    second = await run_cli(
        "import",
        "--as",
        WATCHER,
        "--watch",
        str(drop),
        "--institution",
        "NORTHFIELD",
        "--commit",
        "--settle",
        "0",
    )
    assert second.exit_code == 0, second.output
    assert "a-students.csv: already imported; skipped." in second.output
    assert "monday.csv: already imported; skipped." in second.output
    assert await scalar(cli_database, "SELECT count(*) FROM import_job") == jobs
    # An earlier file of the same name is never overwritten.
    assert (drop / "processed" / "a-students.2.csv").exists()
    assert "already imported" in (drop / "processed" / "a-students.2.csv.report.txt").read_text()
    assert (drop / "processed" / "monday.csv").exists()
    assert "notes.txt" in _listing(drop)

    # A corrected file is new content: it is imported.
    columns = ["admin_system_id", "phone"]
    (drop / "fix.csv").write_bytes(to_csv(columns, [{"admin_system_id": "NF1000", "phone": "1"}]))
    third = await run_cli(
        "import",
        "--as",
        WATCHER,
        "--watch",
        str(drop),
        "--institution",
        "NORTHFIELD",
        "--commit",
        "--settle",
        "0",
    )
    assert third.exit_code == 0, third.output
    assert "1 updated" in (drop / "processed" / "fix.csv.report.txt").read_text()


async def test_watch_leaves_a_file_still_arriving_for_the_next_run(
    cli_database: Database, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(STUDENTS, drop / "students.csv")  # just written: it may still be growing
    early = await run_cli(
        "import", "--as", WATCHER, "--watch", str(drop), "--institution", "NORTHFIELD", "--commit"
    )
    assert early.exit_code == 0, early.output
    assert re.search(r"students\.csv: changed [0-9]+ s ago, it may still be arriving", early.output)
    assert _listing(drop) == ["students.csv"]
    assert await students_in(cli_database) == 0
    assert await scalar(cli_database, "SELECT count(*) FROM import_job") == 0

    settled = time.time() - 120
    os.utime(drop / "students.csv", (settled, settled))  # two minutes later
    later = await run_cli(
        "import", "--as", WATCHER, "--watch", str(drop), "--institution", "NORTHFIELD", "--commit"
    )
    assert later.exit_code == 0, later.output
    assert _listing(drop) == ["processed/students.csv", "processed/students.csv.report.txt"]
    assert await students_in(cli_database) == 20


async def test_watch_without_commit_moves_nothing(cli_database: Database, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(STUDENTS, drop / "students.csv")
    result = await run_cli(
        "import",
        "--as",
        WATCHER,
        "--watch",
        str(drop),
        "--institution",
        "NORTHFIELD",
        "--settle",
        "0",
    )
    assert result.exit_code == 0, result.output
    assert "SUCCEEDED (dry run): 20 created" in flat(result.output)
    assert _listing(drop) == ["students.csv"]
    assert await students_in(cli_database) == 0
    # ... so a later real run still imports it.
    result = await run_cli(
        "import",
        "--as",
        WATCHER,
        "--watch",
        str(drop),
        "--institution",
        "NORTHFIELD",
        "--commit",
        "--settle",
        "0",
    )
    assert result.exit_code == 0, result.output
    assert await students_in(cli_database) == 20
    assert _listing(drop) == ["processed/students.csv", "processed/students.csv.report.txt"]


async def test_watch_leaves_a_folder_to_the_run_already_on_it(
    cli_database: Database, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(STUDENTS, drop / "students.csv")
    with (drop / ".netzone-import.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        result = await run_cli(
            "import",
            "--as",
            WATCHER,
            "--watch",
            str(drop),
            "--institution",
            "NORTHFIELD",
            "--commit",
            "--settle",
            "0",
        )
    assert result.exit_code == 0, result.output
    assert "another import is working on this folder" in flat(result.output)
    assert _listing(drop) == ["students.csv"]
    assert await students_in(cli_database) == 0


async def test_watch_refuses_unknown_institutions_and_folders(
    cli_database: Database, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(STUDENTS, drop / "students.csv")
    result = await run_cli(
        "import", "--as", WATCHER, "--watch", str(drop), "--institution", "NOWHERE", "--commit"
    )
    assert result.exit_code == 1
    assert "NOWHERE" in result.output
    assert _listing(drop) == ["students.csv"]
    result = await run_cli(
        "import",
        "--as",
        WATCHER,
        "--watch",
        str(tmp_path / "missing"),
        "--institution",
        "NORTHFIELD",
    )
    assert result.exit_code == 1
    assert "no folder" in flat(result.output)


# ---------------------------------------------------------------- who the folder acts as


async def test_watch_needs_a_named_account(cli_database: Database, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    shutil.copy(STUDENTS, drop / "students.csv")
    # Without --as the folder would act as the operator: refused before anything is read
    result = await run_cli("import", "--watch", str(drop), "--institution", "NORTHFIELD")
    assert result.exit_code == 2, result.output
    assert "--watch needs --as USERNAME@LIBRARY" in flat(result.output)
    # And an account that could not log in there is refused with the reason
    for who, reason in (
        ("nobody@NORTHFIELD-MAIN", "There is no account 'nobody'"),
        ("northfield.admin@LANSING", "There is no account 'northfield.admin'"),
        ("northfield.admin", "give USERNAME@LIBRARY"),
        ("lansing.librarian@BASEHOR", "may not log in at BASEHOR"),
    ):
        result = await run_cli(
            "import", "--as", who, "--watch", str(drop), "--institution", "NORTHFIELD",
            "--commit", "--settle", "0",
        )  # fmt: skip
        assert result.exit_code == 1, result.output
        assert reason in flat(result.output)
    assert _listing(drop) == ["students.csv"]
    assert await students_in(cli_database) == 0


async def test_the_folder_has_exactly_the_rights_of_its_account(
    cli_database: Database, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    before = await scalar(
        cli_database, "SELECT password_hash FROM patron WHERE username = 'nekls.admin'"
    )
    # Rows a BASEHOR librarian may not write: an administrator's password, a new
    # SYSTEM_ADMIN, LANSING's branch-limited attribute
    (drop / "grants.csv").write_bytes(
        to_csv(
            ["username", "surname", "password", "system_groups", "attribute:KANOPY_LANSING"],
            [
                {"username": "nekls.admin", "surname": "Admin", "password": "taken-over-123"},
                {
                    "username": "made.admin",
                    "surname": "Made",
                    "password": "made-admin-123",
                    "system_groups": "LIBRARY_USERS;SYSTEM_ADMIN",
                },
                {"username": "kanopy.fan", "surname": "Fan", "attribute:KANOPY_LANSING": "ALLOWED"},
            ],
        )
    )
    result = await run_cli(
        "import", "--as", "basehor.librarian@BASEHOR", "--watch", str(drop),
        "--institution", "NEKLS", "--match", "USERNAME", "--commit", "--settle", "0",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    report = (drop / "failed" / "grants.csv.report.txt").read_text()
    assert report.startswith("grants.csv: FAILED: 0 created, 0 updated, 0 unchanged, 3 failed.")
    assert report.count("FORBIDDEN") == 3, report
    # And nothing was written
    assert (
        await scalar(
            cli_database,
            "SELECT count(*) FROM patron WHERE username IN ('made.admin', 'kanopy.fan')",
        )
        == 0
    )
    after = await scalar(
        cli_database, "SELECT password_hash FROM patron WHERE username = 'nekls.admin'"
    )
    assert after == before


async def test_links_and_special_files_are_refused_unread(
    cli_database: Database, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("SUPER_SECRET_TOKEN=do-not-leak-42\n")
    (drop / "link.csv").symlink_to(secrets_file)
    elsewhere = tmp_path / "elsewhere.csv"
    shutil.copy(STUDENTS, elsewhere)
    os.link(elsewhere, drop / "hard.csv")
    os.mkfifo(drop / "pipe.csv")
    result = await run_cli(
        "import", "--as", WATCHER, "--watch", str(drop), "--institution", "NORTHFIELD",
        "--commit", "--settle", "0",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    reports = {
        name: (drop / "failed" / f"{name}.report.txt").read_text()
        for name in ("link.csv", "hard.csv", "pipe.csv")
    }
    assert "symbolic link" in reports["link.csv"]
    assert "hard link" in reports["hard.csv"]
    assert "not a regular file" in reports["pipe.csv"]
    # What they point to was never read: not in a report, not in the output
    for text_ in [*reports.values(), result.output]:
        assert "do-not-leak-42" not in text_
        assert "SUPER_SECRET_TOKEN" not in text_
    assert secrets_file.read_text() == "SUPER_SECRET_TOKEN=do-not-leak-42\n"
    assert await students_in(cli_database) == 0
    assert await scalar(cli_database, "SELECT count(*) FROM import_job") == 0
