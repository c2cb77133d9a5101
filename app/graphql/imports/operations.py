"""importPatrons and the ImportJob type."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.file_uploads import Upload
from strawberry.types import Info

from app.errors import DomainError, ErrorCode
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import ErrorCode as ErrorCodeType
from app.graphql.core import Node, UserError, mutate, page_size
from app.graphql.ids import cursors, encode_id
from app.imports import models, service
from app.sql import saved_id

logger = logging.getLogger("netzone.imports")
_running: set[asyncio.Task[Any]] = set()


@strawberry.enum
class ImportMatch(Enum):
    ADMIN_SYSTEM_ID = "ADMIN_SYSTEM_ID"
    BARCODE = "BARCODE"
    USERNAME = "USERNAME"


@strawberry.enum
class ImportMode(Enum):
    CREATE_ONLY = "CREATE_ONLY"
    UPDATE_ONLY = "UPDATE_ONLY"
    UPSERT = "UPSERT"


@strawberry.enum
class ImportStatus(Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type(description="A problem with one row of an import file.")
class ImportRowError:
    line: int = strawberry.field(description="Line in the file (the header is line 1).")
    cursor: str = strawberry.field(description="Pass as `after` for the errors that follow.")
    column: str | None
    code: ErrorCodeType  # type: ignore[valid-type]
    message: str


@strawberry.type(description="An import of one file; poll it for progress.")
class ImportJob(Node):
    row: strawberry.Private[models.ImportJob]

    @classmethod
    def of(cls, row: models.ImportJob) -> ImportJob:
        return cls(id=strawberry.ID(encode_id("ImportJob", row.id)), row=row)  # type: ignore[arg-type]

    @strawberry.field
    def status(self) -> ImportStatus:
        return ImportStatus(self.row.status)

    @strawberry.field
    def dry_run(self) -> bool:
        return self.row.dry_run

    @strawberry.field
    def total_rows(self) -> int | None:
        return self.row.total_rows

    @typed.field(description="Rows read so far (live while the job runs).")
    def processed_rows(self) -> int:
        if self.row.status == "RUNNING" and self.row.id is not None:
            live = service.live_progress(self.row.id)
            if live is not None:
                return max(live, self.row.processed_rows)
        return self.row.processed_rows

    @strawberry.field
    def created(self) -> int:
        return self.row.created

    @strawberry.field
    def updated(self) -> int:
        return self.row.updated

    @strawberry.field
    def unchanged(self) -> int:
        return self.row.unchanged

    @strawberry.field
    def failed(self) -> int:
        return self.row.failed

    @typed.field(description="What happened, in words (e.g. why nothing was written).")
    def message(self) -> str | None:
        return self.row.message

    @typed.field(
        description="Row errors in file order; `after` is the cursor of the last one seen."
    )
    async def row_errors(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> list[ImportRowError]:
        size = page_size(first, 100, info.context.settings.max_page_size)
        sealed = await cursors(info, "rowErrors", self.row.id)
        found = sealed.position(after, int)
        after_id = int(found[0]) if found else None
        async with info.context.db.use() as session:
            rows = await service.row_errors(
                session=session, job_id=saved_id(self.row), first=size, after_id=after_id
            )
        return [
            ImportRowError(
                line=r.line,
                cursor=sealed.encode(r.id),
                column=r.column,
                code=ErrorCode(r.code),
                message=r.message,
            )
            for r in rows
        ]

    @strawberry.field
    def started_at(self) -> datetime | None:
        return self.row.started_at

    @strawberry.field
    def finished_at(self) -> datetime | None:
        return self.row.finished_at


@strawberry.input
class ImportPatronsInput:
    institution: str
    file: Upload
    match_on: ImportMatch
    mode: ImportMode
    dry_run: bool


@strawberry.type
class ImportPayload:
    job: ImportJob | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _save_upload(upload: Any, settings: Any) -> Path:
    directory = Path(settings.import_dir or Path(tempfile.gettempdir()) / "netzone-imports")
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4().hex}.csv"
    read = getattr(upload, "read", None)
    if read is None:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, "Send the file as a multipart upload.", ["input", "file"]
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
        self, info: Info[Context, None], input: ImportPatronsInput
    ) -> ImportPayload:
        ctx = info.context
        saved: list[Path] = []

        async def action(session: AsyncSession) -> models.ImportJob:
            path = await _save_upload(input.file, ctx.settings)
            saved.append(path)
            options = service.ImportOptions(
                institution=input.institution,
                match_on=input.match_on.value,
                mode=input.mode.value,
                dry_run=input.dry_run,
            )
            return await service.create_job(
                session=session,
                actor=ctx.actor,
                path=path,
                filename=getattr(input.file, "filename", None) or "upload.csv",
                options=options,
            )

        try:
            payload = await mutate(
                info, action, lambda job: ImportPayload(job=ImportJob.of(job)), ImportPayload
            )
        except BaseException:
            for path in saved:
                path.unlink(missing_ok=True)
            raise
        if payload.job is None:  # refused: the payload has the errors
            for path in saved:
                path.unlink(missing_ok=True)
            return payload
        database = ctx.request.app.state.database
        job_id = saved_id(payload.job.row)
        path = saved[0]

        async def work() -> models.ImportJob:
            try:
                return await service.run_job(
                    database=database,
                    settings=ctx.settings,
                    actor=ctx.actor,
                    job_id=job_id,
                    path=path,
                )
            finally:
                path.unlink(missing_ok=True)

        if ctx.settings.import_background:
            task = asyncio.create_task(work(), name=f"import job {job_id}")
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
