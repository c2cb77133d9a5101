"""Patron mutations: thin wrappers that decode input, call one use-case, map the result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from app.errors import DomainError, ErrorCode
from app.graphql import typed
from app.graphql.context import Context
from app.graphql.core import mutate
from app.graphql.ids import decode_pk, encode_id
from app.graphql.patrons.inputs import (
    AddPatronBlockInput,
    CreatePatronInput,
    DeletePatronInput,
    RemovePatronBlockInput,
    RemovePatronPhotoInput,
    SetPatronPhotoInput,
    UpdatePatronInput,
    patron_fields,
)
from app.graphql.patrons.types import DeletePatronPayload, Patron, PatronPayload
from app.patrons import blocks, photos, service
from app.patrons.models import Patron as PatronRow
from app.sql import saved_id


def _not_found(field: list[str]) -> DomainError:
    return DomainError.of(ErrorCode.NOT_FOUND, "There is no such patron.", field)


def _patron_answer(info: Info[Context, None]) -> Callable[[PatronRow], PatronPayload]:
    """The answer of a change to a patron: the request's loaders forget it, the payload shows it."""

    def answer(row: PatronRow) -> PatronPayload:
        info.context.loaders.forget_patron(saved_id(row))
        return PatronPayload(patron=Patron.of(row))

    return answer


async def _read_upload(upload: object, limit: int) -> bytes:
    read = getattr(upload, "read", None)
    if read is None:
        raise DomainError.of(ErrorCode.INVALID_INPUT, "Send the photo as a file upload.", ["file"])
    data = await read(limit + 1)
    return bytes(data)


@strawberry.type
class PatronMutations:
    @typed.mutation(description="Register a HOME patron (LIBRARIAN of the institution).")
    async def create_patron(
        self,
        info: Info[Context, None],
        input: Annotated[
            CreatePatronInput, strawberry.argument(description="The patron to register.")
        ],
    ) -> PatronPayload:
        ctx = info.context
        return await mutate(
            info,
            lambda session: service.create_patron(
                session=session,
                settings=ctx.settings,
                actor=ctx.actor,
                institution_code=input.institution,
                fields=patron_fields(input),
            ),
            _patron_answer(info),
            PatronPayload,
        )

    @typed.mutation(
        description="Change the given fields of a patron; "
        "fails with STALE_VERSION if it changed meanwhile."
    )
    async def update_patron(
        self,
        info: Info[Context, None],
        input: Annotated[
            UpdatePatronInput,
            strawberry.argument(
                description="The patron, its expected version and the fields to change."
            ),
        ],
    ) -> PatronPayload:
        ctx = info.context
        patron_id = decode_pk(input.id, "Patron")

        async def action(session: AsyncSession) -> PatronRow:
            if patron_id is None:
                raise _not_found(["id"])
            return await service.update_patron(
                session=session,
                settings=ctx.settings,
                actor=ctx.actor,
                patron_id=patron_id,
                expected_version=input.expected_version,
                fields=patron_fields(input),
            )

        return await mutate(info, action, _patron_answer(info), PatronPayload)

    @typed.mutation(
        description="Permanently remove a patron and everything personal attached to it."
    )
    async def delete_patron(
        self,
        info: Info[Context, None],
        input: Annotated[
            DeletePatronInput, strawberry.argument(description="The patron to remove permanently.")
        ],
    ) -> DeletePatronPayload:
        ctx = info.context
        patron_id = decode_pk(input.id, "Patron")

        async def action(session: AsyncSession) -> int:
            if patron_id is None:
                raise _not_found(["id"])
            return await service.delete_patron(
                session=session, actor=ctx.actor, patron_id=patron_id
            )

        def answer(deleted: int) -> DeletePatronPayload:
            ctx.loaders.forget_patron(deleted)
            return DeletePatronPayload(deleted_id=strawberry.ID(encode_id("Patron", deleted)))

        return await mutate(info, action, answer, DeletePatronPayload)

    @typed.mutation(description="Put a block on a patron (LIBRARIAN).")
    async def add_patron_block(
        self,
        info: Info[Context, None],
        input: Annotated[
            AddPatronBlockInput,
            strawberry.argument(description="The patron and the block to put on it."),
        ],
    ) -> PatronPayload:
        ctx = info.context
        patron_id = decode_pk(input.patron_id, "Patron")

        async def action(session: AsyncSession) -> PatronRow:
            if patron_id is None:
                raise _not_found(["patron_id"])
            return await blocks.add_block(
                session=session,
                actor=ctx.actor,
                patron_id=patron_id,
                block_type_code=input.block_type,
                note=input.note,
                expires_at=input.expires_at,
            )

        return await mutate(info, action, _patron_answer(info), PatronPayload)

    @typed.mutation(description="Lift a LOCAL block (LIBRARIAN).")
    async def remove_patron_block(
        self,
        info: Info[Context, None],
        input: Annotated[
            RemovePatronBlockInput, strawberry.argument(description="The block to lift.")
        ],
    ) -> PatronPayload:
        ctx = info.context
        block_id = decode_pk(input.id, "PatronBlock")

        async def action(session: AsyncSession) -> PatronRow:
            if block_id is None:
                raise DomainError.of(ErrorCode.NOT_FOUND, "There is no such block.", ["id"])
            return await blocks.remove_block(session=session, actor=ctx.actor, block_id=block_id)

        return await mutate(info, action, _patron_answer(info), PatronPayload)

    @typed.mutation(description="Upload (or replace) a patron's photo: JPEG, PNG or WebP.")
    async def set_patron_photo(
        self,
        info: Info[Context, None],
        input: Annotated[
            SetPatronPhotoInput, strawberry.argument(description="The patron and the image.")
        ],
    ) -> PatronPayload:
        ctx = info.context
        patron_id = decode_pk(input.patron_id, "Patron")

        async def action(session: AsyncSession) -> PatronRow:
            if patron_id is None:
                raise _not_found(["patron_id"])
            data = await _read_upload(input.file, ctx.settings.photo_max_bytes)
            return await photos.set_photo(
                session=session,
                settings=ctx.settings,
                actor=ctx.actor,
                patron_id=patron_id,
                data=data,
            )

        return await mutate(info, action, _patron_answer(info), PatronPayload)

    @typed.mutation(description="Delete a patron's photo.")
    async def remove_patron_photo(
        self,
        info: Info[Context, None],
        input: Annotated[
            RemovePatronPhotoInput,
            strawberry.argument(description="The patron whose photo to delete."),
        ],
    ) -> PatronPayload:
        ctx = info.context
        patron_id = decode_pk(input.patron_id, "Patron")

        async def action(session: AsyncSession) -> PatronRow:
            if patron_id is None:
                raise _not_found(["patron_id"])
            return await photos.remove_photo(session=session, actor=ctx.actor, patron_id=patron_id)

        return await mutate(info, action, _patron_answer(info), PatronPayload)
