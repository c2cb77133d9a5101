"""The `netzone import` command: one file with a progress bar, or a watched drop folder."""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.auth.accounts import account_actor
from app.auth.policy import Actor, system_actor
from app.db import Database, create_engine
from app.errors import DomainError
from app.imports import liveness, queries, service
from app.imports.files import content_hash
from app.imports.models import ImportJob
from app.imports.rows import ImportOptions
from app.network import service as network
from app.settings import Settings

REPORT_SUFFIX = ".report.txt"
LOCK_NAME = ".netzone-import.lock"


async def _run(
    database: Database,
    settings: Settings,
    path: Path,
    institution: str,
    options: dict[str, Any],
    console: Console,
    actor: Actor,
    filename: str | None = None,
) -> ImportJob | list[str]:
    """The finished job, or the reasons the file was refused before any row was read.
    On PostgreSQL the job is claimed for as long as this runs (liveness.claimed)."""
    async with liveness.claimed(database) as claim:
        filename = filename or path.name
        try:
            async with database.session() as session:
                job = await service.create_job(
                    session=session,
                    actor=actor,
                    path=path,
                    filename=filename,
                    options=ImportOptions(institution=institution, **options),
                    queue_job=False,  # run here, from the file on disk: no worker takes it
                    before_commit=claim,
                )
        except DomainError as error:
            reasons = [f"{e.code.value}: {e.message}" for e in error.errors]
            for e in error.errors:
                console.print(
                    f"{filename}: [red]{e.code.value}[/red]: {e.message}", highlight=False
                )
            return reasons
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as bar:
            task = bar.add_task(filename, total=job.total_rows or None)

            def advance(done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total)

            assert job.id is not None
            return await service.run_job(
                database=database,
                settings=settings,
                actor=actor,
                job_id=job.id,
                path=path,
                progress=advance,
            )


async def _report(
    database: Database, job: ImportJob, console: Console, out: Path | None = None
) -> str:
    assert job.id is not None
    lines = [
        f"{job.filename}: {job.status}{' (dry run)' if job.dry_run else ''}: "
        f"{job.created} created, {job.updated} updated, {job.unchanged} unchanged, {job.failed} failed.",
    ]
    if job.message:
        lines.append(job.message)
    async with database.session() as session:
        after = None
        while True:
            errors = await queries.row_errors(
                session=session, job_id=job.id, first=500, after_id=after
            )
            if not errors:
                break
            for e in errors:
                lines.append(
                    f"line {e.line}{', column ' + e.column if e.column else ''}: {e.code}: {e.message}"
                )
            after = errors[-1].id
    text = "\n".join(lines) + "\n"
    if out is not None:
        out.write_text(text, encoding="utf-8")
    for line in lines[:50]:
        console.print(line, markup=False)
    if len(lines) > 50:
        console.print(f"... and {len(lines) - 50} more lines")
    return text


async def _actor(database: Database, who: str | None, console: Console) -> Actor | None:
    """The account an import runs as: `USERNAME@LIBRARY` with exactly its rights, or
    (None given) the operator at the console; None when the account is refused."""
    if who is None:
        return system_actor("import")
    try:
        async with database.session() as session:
            return await account_actor(session, who)
    except DomainError as error:
        for e in error.errors:
            console.print(f"--as {who}: [red]{e.code.value}[/red]: {e.message}", highlight=False)
        return None


async def import_one(
    settings: Settings,
    path: Path,
    institution: str,
    options: dict[str, Any],
    console: Console,
    who: str | None = None,
) -> bool:
    database = Database(create_engine(settings))
    try:
        actor = await _actor(database, who, console)
        if actor is None:
            return False
        job = await _run(database, settings, path, institution, options, console, actor)
        if isinstance(job, list):
            return False
        await _report(database, job, console)
        return job.status == "SUCCEEDED"
    finally:
        await database.engine.dispose()


def _unsafe(path: Path, folder: Path) -> str | None:
    """Why a file dropped in the folder is not imported (what it points to is never
    read), or None for a plain file of its own."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return "it is a symbolic link; copy the file into the folder instead."
    if not stat.S_ISREG(info.st_mode):
        return "it is not a regular file."
    if info.st_nlink > 1:
        return "it is a hard link to a file elsewhere; copy the file into the folder instead."
    if path.resolve().parent != folder.resolve():
        return "it resolves outside the folder."
    return None


def _private_copy(path: Path, into: Path) -> Path | str:
    """A copy of the dropped file to import from, opened without following links and
    checked again on the open file (nothing can be swapped in between); or the reason."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return "it cannot be opened as a plain file."
    with os.fdopen(fd, "rb") as source:
        info = os.fstat(source.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1:
            return "it is not a plain file of its own."
        target = into / "upload.csv"
        with target.open("wb") as copy:
            shutil.copyfileobj(source, copy)
    return target


def _free_name(folder: Path, name: str) -> Path:
    """folder/name, or folder/stem.2.suffix (3, ...) when a file of that name is there."""
    target = folder / name
    number = 1
    while target.exists() or target.with_name(target.name + REPORT_SUFFIX).exists():
        number += 1
        stem, dot, suffix = name.rpartition(".")
        target = folder / (f"{stem}.{number}.{suffix}" if dot else f"{name}.{number}")
    return target


def _file_away(path: Path, folder: Path, report: str) -> Path:
    """Move the file into folder (never over an earlier one) with its report beside it."""
    target = _free_name(folder, path.name)
    shutil.move(str(path), target)
    target.with_name(target.name + REPORT_SUFFIX).write_text(report, encoding="utf-8")
    return target


@contextmanager
def _folder_lock(folder: Path) -> Iterator[bool]:
    """Whether this run may process the folder (another run holding it: False)."""
    with (folder / LOCK_NAME).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


async def import_folder(
    settings: Settings,
    folder: Path,
    institution: str,
    options: dict[str, Any],
    console: Console,
    *,
    who: str,
    settle: float = 30.0,
) -> bool:
    """Each new CSV in the folder once (by content hash), moved to processed/ or failed/
    with a report beside it, imported as the account `who` (USERNAME@LIBRARY) with
    exactly its rights. Meant for cron: it handles what is there and exits.

    Links (symbolic or hard), anything but a regular file, and anything resolving
    outside the folder are refused unread. A dry run (no --commit) reports on the files
    and leaves them where they are. A run that finds another one still working on the
    folder leaves it to that one. A file changed less than `settle` seconds ago may still
    be arriving: it waits for the next run.
    """
    if not folder.is_dir():
        console.print(f"[red]NOT_FOUND[/red]: There is no folder {str(folder)!r}.")
        return False
    dry_run = options.get("dry_run", True)
    processed, failed = folder / "processed", folder / "failed"
    with _folder_lock(folder) as mine:
        if not mine:
            console.print(f"{folder}: another import is working on this folder; nothing done.")
            return True
        database = Database(create_engine(settings))
        try:
            actor = await _actor(database, who, console)
            if actor is None:
                return False
            async with database.session() as session:
                inst = await network.institution_by_code(session, institution)
            if inst is None:
                console.print(
                    f"[red]NOT_FOUND[/red]: There is no institution with the code {institution!r}."
                )
                return False
            assert inst.id is not None
            if not dry_run:
                processed.mkdir(parents=True, exist_ok=True)
                failed.mkdir(parents=True, exist_ok=True)
            ok = True
            for path in sorted(p for p in folder.iterdir() if p.suffix.lower() == ".csv"):
                refusal = _unsafe(path, folder)
                if refusal is None:
                    age = time.time() - path.stat().st_mtime
                    if age < settle:
                        console.print(
                            f"{path.name}: changed {max(age, 0):.0f} s ago, it may still be "
                            "arriving; left for the next run."
                        )
                        continue
                with tempfile.TemporaryDirectory(prefix="netzone-drop-") as private:
                    copy = _private_copy(path, Path(private)) if refusal is None else refusal
                    if isinstance(copy, str):
                        report = f"{path.name}: refused unread: {copy}\n"
                        console.print(report.rstrip(), markup=False)
                        if not dry_run:
                            _file_away(path, failed, report)
                        ok = False
                        continue
                    digest = await asyncio.to_thread(content_hash, copy)
                    async with database.session() as session:
                        seen = await queries.already_imported(session, inst.id, digest)
                    if seen and not dry_run:
                        _file_away(
                            path,
                            processed,
                            f"{path.name}: already imported (same content); nothing done.\n",
                        )
                        console.print(f"{path.name}: already imported; skipped.")
                        continue
                    job = await _run(
                        database, settings, copy, institution, options, console, actor, path.name
                    )
                if isinstance(job, list):
                    report = (
                        f"{path.name}: refused before any row was read; nothing was written.\n"
                        + "".join(f"{reason}\n" for reason in job)
                    )
                    success = False
                else:
                    report = await _report(database, job, console)
                    success = job.status == "SUCCEEDED"
                if not dry_run:
                    _file_away(path, processed if success else failed, report)
                ok = ok and success
            return ok
        finally:
            await database.engine.dispose()
