"""Reads of import jobs: a job the caller may see, its row errors, whether a file was
imported before."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.auth.policy import Actor, can_manage_patrons
from app.imports.models import ImportJob, ImportRowError


async def row_errors(
    *, session: AsyncSession, job_id: int, first: int, after_id: int | None
) -> list[ImportRowError]:
    query = select(ImportRowError).where(col(ImportRowError.job_id) == job_id)
    if after_id is not None:
        query = query.where(col(ImportRowError.id) > after_id)
    return list(
        (await session.execute(query.order_by(col(ImportRowError.id)).limit(first))).scalars()
    )


async def visible_job(session: AsyncSession, actor: Actor, job_id: int) -> ImportJob | None:
    job = await session.get(ImportJob, job_id)
    if job is None or not can_manage_patrons(actor, job.institution_id):
        return None
    return job


async def already_imported(session: AsyncSession, institution_id: int, digest: str) -> bool:
    """Whether this exact file was imported (for real, successfully) before."""
    count = await session.scalar(
        select(func.count())
        .select_from(ImportJob)
        .where(
            col(ImportJob.institution_id) == institution_id,
            col(ImportJob.content_hash) == digest,
            col(ImportJob.status) == "SUCCEEDED",
            col(ImportJob.dry_run).is_(False),
        )
    )
    return bool(count)
