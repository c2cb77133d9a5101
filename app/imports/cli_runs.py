"""The `netzone import` command: one file with a progress bar, or a watched drop folder."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.auth.policy import system_actor
from app.db import Database, create_engine
from app.errors import DomainError
from app.imports import service
from app.imports.models import ImportJob
from app.network import service as network
from app.settings import Settings


async def _run(
    database: Database,
    settings: Settings,
    path: Path,
    institution: str,
    options: dict[str, Any],
    console: Console,
) -> ImportJob | None:
    actor = system_actor("import")
    try:
        async with database.session() as session:
            job = await service.create_job(
                session=session,
                actor=actor,
                path=path,
                filename=path.name,
                options=service.ImportOptions(institution=institution, **options),
            )
    except DomainError as error:
        for e in error.errors:
            console.print(f"[red]{e.code.value}[/red]: {e.message}")
        return None
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task(path.name, total=job.total_rows or None)

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
    lines = [
        f"{job.filename}: {job.status}{' (dry run)' if job.dry_run else ''}: "
        f"{job.created} created, {job.updated} updated, {job.unchanged} unchanged, {job.failed} failed.",
    ]
    if job.message:
        lines.append(job.message)
    async with database.session() as session:
        after = None
        while True:
            errors = await service.row_errors(
                session=session, job_id=job.id, first=500, after_id=after
            )  # type: ignore[arg-type]
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


async def import_one(
    settings: Settings, path: Path, institution: str, options: dict[str, Any], console: Console
) -> bool:
    database = Database(create_engine(settings))
    try:
        job = await _run(database, settings, path, institution, options, console)
        if job is None:
            return False
        await _report(database, job, console)
        return job.status == "SUCCEEDED"
    finally:
        await database.engine.dispose()


async def import_folder(
    settings: Settings, folder: Path, institution: str, options: dict[str, Any], console: Console
) -> bool:
    """Each new CSV in the folder once (by content hash), moved to processed/ or failed/
    with a report beside it. Meant for cron: it handles what is there and exits."""
    processed, failed = folder / "processed", folder / "failed"
    processed.mkdir(parents=True, exist_ok=True)
    failed.mkdir(parents=True, exist_ok=True)
    database = Database(create_engine(settings))
    ok = True
    try:
        async with database.session() as session:
            inst = await network.institution_by_code(session, institution)
        if inst is None:
            console.print(
                f"[red]NOT_FOUND[/red]: There is no institution with the code {institution!r}."
            )
            return False
        for path in sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv"
        ):
            digest, _ = service.file_facts(path)
            async with database.session() as session:
                seen = await service.already_imported(session, inst.id, digest)  # type: ignore[arg-type]
            if seen and not options.get("dry_run", True):
                target = processed / path.name
                shutil.move(str(path), target)
                (processed / f"{path.name}.report.txt").write_text(
                    f"{path.name}: already imported (same content); nothing done.\n",
                    encoding="utf-8",
                )
                console.print(f"{path.name}: already imported; skipped.")
                continue
            job = await _run(database, settings, path, institution, options, console)
            success = job is not None and job.status == "SUCCEEDED"
            destination = processed if success else failed
            report = destination / f"{path.name}.report.txt"
            shutil.move(str(path), destination / path.name)
            if job is None:
                report.write_text(
                    f"{path.name}: refused before any row was read (see the log).\n",
                    encoding="utf-8",
                )
            else:
                await _report(database, job, console, report)
            ok = ok and success
        return ok
    finally:
        await database.engine.dispose()
