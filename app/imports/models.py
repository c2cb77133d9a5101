"""Tables of import jobs and their row errors."""

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class ImportJob(SQLModel, table=True):
    """One import of one file: its options, progress and outcome."""

    __tablename__ = "import_job"
    __table_args__ = (Index("ix_import_job_hash", "institution_id", "content_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id")
    actor_name: str = Field(max_length=200)
    filename: str = Field(max_length=500)
    content_hash: str = Field(max_length=64)
    match_on: str = Field(max_length=30)
    mode: str = Field(max_length=30)
    dry_run: bool
    status: str = Field(default="QUEUED", max_length=20)
    total_rows: int | None = None
    processed_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    message: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class ImportRowError(SQLModel, table=True):
    """A problem with one row (line and column of the file)."""

    __tablename__ = "import_row_error"
    __table_args__ = (Index("ix_import_row_error_job", "job_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: int = Field(foreign_key="import_job.id", ondelete="CASCADE")
    line: int
    column: str | None = Field(default=None, max_length=100)
    code: str = Field(max_length=40)
    message: str = Field(max_length=2000)


class ImportFile(SQLModel, table=True):
    """A part of the uploaded file of a job (parts numbered from 0, of at most
    FILE_PART bytes), kept until the job has run (whichever process runs it)."""

    __tablename__ = "import_file"

    job_id: int = Field(foreign_key="import_job.id", primary_key=True, ondelete="CASCADE")
    part: int = Field(primary_key=True)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


# The size of a stored part: what a process holds of a file at once, storing or reading it.
FILE_PART = 1 << 20
