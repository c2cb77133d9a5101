"""The ImportJob type, its enums and row errors, and the payloads of the imports."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from app.errors import ErrorCode
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import PAYLOAD_ERRORS, Node, UserError, described_enum, page_size
from app.graphql.core import ErrorCode as ErrorCodeType
from app.graphql.ids import cursors, encode_id
from app.imports import models, queries, service
from app.sql import saved_id


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
            rows = await queries.row_errors(
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


@strawberry.type(description="A problem with one line or file of a small import.")
class ImportProblem:
    where: str = strawberry.field(description="Line (and column) or file name.")
    code: str = strawberry.field(description="An ErrorCode name, e.g. NOT_FOUND.")
    message: str = strawberry.field(description="What is wrong, for a librarian.")


@strawberry.type(description="What a small import did (all or nothing).")
class SmallImportPayload:
    added: int = strawberry.field(
        default=0,
        description="Memberships or photos added (or, when nothing was written, that "
        "would have been).",
    )
    unchanged: int = strawberry.field(default=0, description="Memberships that already existed.")
    written: bool = strawberry.field(
        default=False, description="False for dry runs and when anything failed."
    )
    problems: list[ImportProblem] = strawberry.field(
        default_factory=list,
        description="Problems of single lines or files; any problem means nothing was written.",
    )
    errors: list[UserError] = strawberry.field(
        default_factory=list,
        description="Failures of the whole import (file, institution, permission); empty "
        "otherwise.",
    )
