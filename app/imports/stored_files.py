"""An import job's uploaded file, kept in the database until the job has run (whichever
process runs it), as numbered parts of at most FILE_PART bytes: no process holds a whole
file in memory to store it or to read it back."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db import Database
from app.imports.models import FILE_PART, ImportFile


async def store_file(session: AsyncSession, job_id: int, path: Path) -> None:
    """The file as numbered parts in the session's transaction, one part in memory at a
    time."""
    with path.open("rb") as raw:
        part = 0
        while content := await asyncio.to_thread(raw.read, FILE_PART):
            await session.execute(
                insert(ImportFile).values(job_id=job_id, part=part, content=content)
            )
            part += 1


async def restore_file(database: Database, job_id: int, path: Path) -> bool:
    """Write the job's stored file to `path`, a part at a time; False if none is stored."""
    async with database.session() as session:
        parts = list(
            (
                await session.execute(
                    select(col(ImportFile.part))
                    .where(col(ImportFile.job_id) == job_id)
                    .order_by(col(ImportFile.part))
                )
            ).scalars()
        )
        if not parts:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            for part in parts:
                content = await session.scalar(
                    select(col(ImportFile.content)).where(
                        col(ImportFile.job_id) == job_id, col(ImportFile.part) == part
                    )
                )
                assert content is not None
                await asyncio.to_thread(out.write, content)
    return True


async def drop_file(database: Database, job_id: int) -> None:
    async with database.session() as session:
        await session.execute(delete(ImportFile).where(col(ImportFile.job_id) == job_id))
        await session.commit()
