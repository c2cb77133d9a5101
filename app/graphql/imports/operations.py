"""importPatrons and the ImportJob type."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.file_uploads import Upload
from strawberry.types import Info

from app.errors import DomainError, ErrorCode
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import PAYLOAD_ERRORS, Node, UserError, described_enum, mutate, page_size
from app.graphql.core import ErrorCode as ErrorCodeType
from app.graphql.ids import cursors, encode_id
from app.imports import models, service
from app.imports.rows import ImportOptions
from app.sql import saved_id

logger = logging.getLogger("netzone.imports")
_running: set[asyncio.Task[Any]] = set()


class ImportMatch(Enum):
    ADMIN_SYSTEM_ID = "ADMIN_SYSTEM_ID"
    BARCODE = "BARCODE"
    USERNAME = "USERNAME"


described_enum(
    ImportMatch,
    name="ImportMatch",
    description="The column that finds a row's existing patron in the institution.",
    values={
        ImportMatch.ADMIN_SYSTEM_ID: "admin_system_id: the id in the administration system.",
        ImportMatch.BARCODE: "barcode: the library barcode.",
        ImportMatch.USERNAME: "username: the login name (case-insensitive).",
    },
)


class ImportMode(Enum):
    CREATE_ONLY = "CREATE_ONLY"
    UPDATE_ONLY = "UPDATE_ONLY"
    UPSERT = "UPSERT"


described_enum(
    ImportMode,
    name="ImportMode",
    description="Whether rows create patrons, update them, or both.",
    values={
        ImportMode.CREATE_ONLY: (
            "Every row is a new patron; a row matching an existing one is an error."
        ),
        ImportMode.UPDATE_ONLY: (
            "Every row updates an existing patron; a row matching none is an error."
        ),
        ImportMode.UPSERT: "Rows update the patron they match and create the others.",
    },
)


class ImportStatus(Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


described_enum(
    ImportStatus,
    name="ImportStatus",
    description="Where an import job stands.",
    values={
        ImportStatus.QUEUED: "Waiting to start.",
        ImportStatus.RUNNING: "Reading and checking rows; processedRows grows.",
        ImportStatus.SUCCEEDED: (
            "Finished: written (or, for a dry run, checked) without row errors."
        ),
        ImportStatus.FAILED: (
            "Finished with row errors or stopped; `message` says why and whether"
            " anything was written."
        ),
    },
)


@strawberry.type(description="A problem with one row of an import file.")
class ImportRowError:
    line: int = strawberry.field(description="Line in the file (the header is line 1).")
    cursor: str = strawberry.field(description="Pass as `after` for the errors that follow.")
    column: str | None = strawberry.field(
        description="The column at fault, e.g. primary_email or attribute:KANOPY; null "
        "for the whole row."
    )
    code: ErrorCodeType = strawberry.field(  # type: ignore[valid-type]
        description="Machine-readable reason."
    )
    message: str = strawberry.field(description="What is wrong, for a librarian.")


@strawberry.type(description="An import of one file; poll it for progress.")
class ImportJob(Node):
    row: strawberry.Private[models.ImportJob]

    @classmethod
    def of(cls, row: models.ImportJob) -> ImportJob:
        return cls(id=strawberry.ID(encode_id("ImportJob", row.id)), row=row)  # type: ignore[arg-type]

    @typed.field(description="Where the job stands.")
    def status(self) -> ImportStatus:
        return ImportStatus(self.row.status)

    @typed.field(description="Rows are checked and counted but nothing is written.")
    def dry_run(self) -> bool:
        return self.row.dry_run

    @typed.field(description="Data rows in the file, counted when the job is created.")
    def total_rows(self) -> int | None:
        return self.row.total_rows

    @typed.field(description="Rows read so far (live while the job runs).")
    def processed_rows(self) -> int:
        if self.row.status == "RUNNING" and self.row.id is not None:
            live = service.live_progress(self.row.id)
            if live is not None:
                return max(live, self.row.processed_rows)
        return self.row.processed_rows

    @typed.field(
        description="Rows that created a patron (in a dry run, or a job that wrote "
        "nothing: would have)."
    )
    def created(self) -> int:
        return self.row.created

    @typed.field(
        description="Rows that changed an existing patron (in a dry run, or a job that "
        "wrote nothing: would have)."
    )
    def updated(self) -> int:
        return self.row.updated

    @typed.field(
        description="Rows whose patron already had these values; nothing written for them."
    )
    def unchanged(self) -> int:
        return self.row.unchanged

    @typed.field(description="Rows with errors (see rowErrors).")
    def failed(self) -> int:
        return self.row.failed

    @typed.field(description="What happened, in words (e.g. why nothing was written).")
    def message(self) -> str | None:
        return self.row.message

    @typed.field(
        description="Row errors in file order; `after` is the cursor of the last one seen."
    )
    async def row_errors(
        self,
        info: Info[Context, None],
        first: Annotated[
            int | None,
            strawberry.argument(description="How many errors: default 100, at most 100."),
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="`cursor` of the last error seen.")
        ] = None,
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

    @typed.field(description="When the job started; null while queued.")
    def started_at(self) -> datetime | None:
        return self.row.started_at

    @typed.field(description="When the job finished; null until then.")
    def finished_at(self) -> datetime | None:
        return self.row.finished_at


@strawberry.input(description="A CSV file of patrons and how to import it.")
class ImportPatronsInput:
    institution: str = strawberry.field(
        description="Code of the institution the patrons belong to (LIBRARIAN there)."
    )
    file: Upload = strawberry.field(
        description="The CSV (UTF-8, RFC 4180, a header row of patron field columns and "
        "attribute:<CODE>), as a multipart upload."
    )
    match_on: ImportMatch = strawberry.field(description="The column that finds existing patrons.")
    mode: ImportMode = strawberry.field(
        description="Whether rows create patrons, update them, or both."
    )
    dry_run: bool = strawberry.field(
        description="Check and count every row without writing anything."
    )


@strawberry.type(description="The import job, or why it could not start.")
class ImportPayload:
    job: ImportJob | None = strawberry.field(
        default=None,
        description="The job; poll it (node or the returned id) for progress. Null when "
        "`errors` is not empty.",
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description=PAYLOAD_ERRORS,
    )


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

        async def action(session: AsyncSession) -> models.ImportJob:
            path = await _save_upload(input.file, ctx.settings)
            saved.append(path)
            options = ImportOptions(
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
