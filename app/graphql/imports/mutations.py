"""importPatrons, importLibraryGroupMemberships and importPatronPhotos."""

from __future__ import annotations

import asyncio
import functools
import logging
import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from app import queue
from app.errors import DomainError, ErrorCode
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import mutate, mutation
from app.graphql.imports.inputs import (
    ImportLibraryGroupMembershipsInput,
    ImportPatronPhotosInput,
    ImportPatronsInput,
)
from app.graphql.imports.types import ImportJob, ImportPayload, ImportProblem, SmallImportPayload
from app.graphql.uploads import reading_file
from app.imports import extras, models, service
from app.imports.file_check import checked_facts
from app.imports.rows import ImportOptions
from app.sql import saved_id

logger = logging.getLogger("netzone.imports")


_running: set[asyncio.Task[Any]] = set()


async def _save_upload(upload: Any, settings: Any) -> Path:
    directory = Path(settings.import_dir or Path(tempfile.gettempdir()) / "netzone-imports")
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4().hex}.csv"
    read = getattr(upload, "read", None)
    if read is None:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, "Send the file as a multipart upload.", ["file"]
        )
    with path.open("wb") as out:
        while True:
            chunk = await read(1 << 20)
            if not chunk:
                break
            out.write(chunk)
    return path


@strawberry.type
class ImportMutations:
    @typed.mutation(
        description="Import patrons from a CSV file; returns the job at once (poll it)."
    )
    async def import_patrons(
        self,
        info: Info[Context, None],
        input: Annotated[
            ImportPatronsInput,
            strawberry.argument(description="The file, the institution and the import options."),
        ],
    ) -> ImportPayload:
        ctx = info.context
        saved: list[Path] = []
        taken: list[queue.Pending] = []

        async def action(session: AsyncSession) -> models.ImportJob:
            taken.clear()  # (a retried action keeps only its own job)
            if not ctx.settings.import_background:
                queue.in_process(session)  # the answer waits for the job: it runs here
            path = await _save_upload(input.file, ctx.settings)
            saved.append(path)
            options = ImportOptions(
                institution=input.institution,
                match_on=input.match_on.value,
                mode=input.mode.value,
                dry_run=input.dry_run,
            )
            job = await service.create_job(
                session=session,
                actor=ctx.actor,
                path=path,
                filename=getattr(input.file, "filename", None) or "upload.csv",
                options=options,
                facts=functools.partial(checked_facts, nice=ctx.settings.worker_nice),
            )
            taken.extend(queue.take_pending(session))
            return job

        try:
            payload = await mutate(
                info, action, lambda job: ImportPayload(job=ImportJob.of(job)), ImportPayload
            )
        finally:  # the database holds the file now (or it was refused)
            for path in saved:
                path.unlink(missing_ok=True)
        if payload.job is None or not taken:  # refused, or queued for `netzone worker`
            return payload
        database = ctx.request.app.state.database
        (kind, job), *_ = taken

        async def work() -> models.ImportJob:
            result: models.ImportJob = await queue.run_in(database, ctx.settings, kind, job)
            return result

        if ctx.settings.import_background:
            task = asyncio.create_task(work(), name=f"import job {saved_id(payload.job.row)}")
            _running.add(task)
            task.add_done_callback(_finished)
            return payload
        return ImportPayload(job=ImportJob.of(await work()))


def running_imports() -> set[asyncio.Task[Any]]:
    """The background imports of this process (to wait for, or stop, at shutdown)."""
    return set(_running)


def _finished(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("import job failed", exc_info=task.exception())


def _payload(result: extras.ExtraImportResult) -> SmallImportPayload:
    return SmallImportPayload(
        added=result.added,
        unchanged=result.unchanged,
        written=result.written,
        problems=[ImportProblem(where=w, code=c, message=m) for w, c, m in result.problems],
    )


@strawberry.type
class ExtraImportMutations:
    import_library_group_memberships = mutation(
        "Add patrons to library groups from CSV (LIBRARIAN).",
        input=(
            ImportLibraryGroupMembershipsInput,
            "The institution, the CSV and whether to write.",
        ),
        run=reading_file(
            lambda s, ctx, input, content: extras.import_memberships(
                session=s,
                actor=ctx.actor,
                institution_code=input.institution,
                content=content,
                dry_run=input.dry_run,
            )
        ),
        answer=_payload,
        payload=SmallImportPayload,
    )

    import_patron_photos = mutation(
        "Patron photos from a zip of <admin_system_id>.jpg|png (LIBRARIAN).",
        input=(ImportPatronPhotosInput, "The institution, the zip and whether to write."),
        run=reading_file(
            lambda s, ctx, input, content: extras.import_photos(
                session=s,
                settings=ctx.settings,
                actor=ctx.actor,
                institution_code=input.institution,
                content=content,
                dry_run=input.dry_run,
            )
        ),
        answer=_payload,
        payload=SmallImportPayload,
    )
