"""importLibraryGroupMemberships and importPatronPhotos."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.file_uploads import Upload
from strawberry.types import Info

from app.errors import DomainError, ErrorCode
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import UserError, mutate
from app.imports import extras


@strawberry.input(description="A CSV with the columns group and admin_system_id.")
class ImportLibraryGroupMembershipsInput:
    institution: str = strawberry.field(description="Code of the institution (LIBRARIAN there).")
    file: Upload = strawberry.field(description="The CSV, as a multipart upload.")
    dry_run: bool = strawberry.field(description="Check every line without writing anything.")


@strawberry.input(description="A zip of <admin_system_id>.jpg or .png files.")
class ImportPatronPhotosInput:
    institution: str = strawberry.field(description="Code of the institution (LIBRARIAN there).")
    file: Upload = strawberry.field(description="The zip, as a multipart upload.")
    dry_run: bool = strawberry.field(description="Check every image without writing anything.")


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


async def _read(upload: Any, limit: int) -> bytes:
    read = getattr(upload, "read", None)
    if read is None:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, "Send the file as a multipart upload.", ["file"]
        )
    data = await read(limit + 1)
    if len(data) > limit:
        raise DomainError.of(ErrorCode.INVALID_INPUT, "The file is too large.", ["file"])
    return bytes(data)


def _payload(result: extras.ExtraImportResult) -> SmallImportPayload:
    return SmallImportPayload(
        added=result.added,
        unchanged=result.unchanged,
        written=result.written,
        problems=[ImportProblem(where=w, code=c, message=m) for w, c, m in result.problems],
    )


@strawberry.type
class ExtraImportMutations:
    @typed.mutation(description="Add patrons to library groups from CSV (LIBRARIAN).")
    async def import_library_group_memberships(
        self,
        info: Info[Context, None],
        input: Annotated[
            ImportLibraryGroupMembershipsInput,
            strawberry.argument(description="The institution, the CSV and whether to write."),
        ],
    ) -> SmallImportPayload:
        ctx = info.context

        async def action(session: AsyncSession) -> extras.ExtraImportResult:
            content = await _read(input.file, ctx.settings.max_upload_bytes)
            return await extras.import_memberships(
                session=session,
                actor=ctx.actor,
                institution_code=input.institution,
                content=content,
                dry_run=input.dry_run,
            )

        return await mutate(info, action, _payload, SmallImportPayload)

    @typed.mutation(
        description="Patron photos from a zip of <admin_system_id>.jpg|png (LIBRARIAN)."
    )
    async def import_patron_photos(
        self,
        info: Info[Context, None],
        input: Annotated[
            ImportPatronPhotosInput,
            strawberry.argument(description="The institution, the zip and whether to write."),
        ],
    ) -> SmallImportPayload:
        ctx = info.context

        async def action(session: AsyncSession) -> extras.ExtraImportResult:
            content = await _read(input.file, ctx.settings.max_upload_bytes)
            return await extras.import_photos(
                session=session,
                settings=ctx.settings,
                actor=ctx.actor,
                institution_code=input.institution,
                content=content,
                dry_run=input.dry_run,
            )

        return await mutate(info, action, _payload, SmallImportPayload)
