"""Patron mutations: thin wrappers that decode input, call one use-case, map the result."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DomainError, ErrorCode
from app.graphql.context import Context
from app.graphql.core import mutation
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


def _patron_id(value: str, field: str) -> int:
    """The patron an input names; a user error on ``field`` when it names none."""
    patron_id = decode_pk(value, "Patron")
    if patron_id is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, "There is no such patron.", [field])
    return patron_id


def _block_id(value: str) -> int:
    block_id = decode_pk(value, "PatronBlock")
    if block_id is None:
        raise DomainError.of(ErrorCode.NOT_FOUND, "There is no such block.", ["id"])
    return block_id


def _patron_answer(ctx: Context, _input: object) -> Callable[[PatronRow], PatronPayload]:
    """The answer of a change to a patron: the request's loaders forget it, the payload shows it."""

    def answer(row: PatronRow) -> PatronPayload:
        ctx.loaders.forget_patron(saved_id(row))
        return PatronPayload(patron=Patron.of(row))

    return answer


def _deleted_answer(ctx: Context, _input: object) -> Callable[[int], DeletePatronPayload]:
    """The answer of a deletion: the request's loaders forget the patron, the payload names it."""

    def answer(deleted: int) -> DeletePatronPayload:
        ctx.loaders.forget_patron(deleted)
        return DeletePatronPayload(deleted_id=strawberry.ID(encode_id("Patron", deleted)))

    return answer


async def _read_upload(upload: object, limit: int) -> bytes:
    read = getattr(upload, "read", None)
    if read is None:
        raise DomainError.of(ErrorCode.INVALID_INPUT, "Send the photo as a file upload.", ["file"])
    data = await read(limit + 1)
    return bytes(data)


async def _set_photo(session: AsyncSession, ctx: Context, input: SetPatronPhotoInput) -> PatronRow:
    patron_id = _patron_id(input.patron_id, "patron_id")
    data = await _read_upload(input.file, ctx.settings.photo_max_bytes)
    return await photos.set_photo(
        session=session, settings=ctx.settings, actor=ctx.actor, patron_id=patron_id, data=data
    )


@strawberry.type
class PatronMutations:
    create_patron = mutation(
        "Register a HOME patron (LIBRARIAN of the institution).",
        input=(CreatePatronInput, "The patron to register."),
        run=lambda s, ctx, input: service.create_patron(
            session=s,
            settings=ctx.settings,
            actor=ctx.actor,
            institution_code=input.institution,
            fields=patron_fields(input),
        ),
        answer_for=_patron_answer,
        payload=PatronPayload,
    )

    update_patron = mutation(
        "Change the given fields of a patron; fails with STALE_VERSION if it changed meanwhile.",
        input=(UpdatePatronInput, "The patron, its expected version and the fields to change."),
        run=lambda s, ctx, input: service.update_patron(
            session=s,
            settings=ctx.settings,
            actor=ctx.actor,
            patron_id=_patron_id(input.id, "id"),
            expected_version=input.expected_version,
            fields=patron_fields(input),
        ),
        answer_for=_patron_answer,
        payload=PatronPayload,
    )

    delete_patron = mutation(
        "Permanently remove a patron and everything personal attached to it.",
        input=(DeletePatronInput, "The patron to remove permanently."),
        run=lambda s, ctx, input: service.delete_patron(
            session=s, actor=ctx.actor, patron_id=_patron_id(input.id, "id")
        ),
        answer_for=_deleted_answer,
        payload=DeletePatronPayload,
    )

    add_patron_block = mutation(
        "Put a block on a patron (LIBRARIAN).",
        input=(AddPatronBlockInput, "The patron and the block to put on it."),
        run=lambda s, ctx, input: blocks.add_block(
            session=s,
            actor=ctx.actor,
            patron_id=_patron_id(input.patron_id, "patron_id"),
            block_type_code=input.block_type,
            note=input.note,
            expires_at=input.expires_at,
        ),
        answer_for=_patron_answer,
        payload=PatronPayload,
    )

    remove_patron_block = mutation(
        "Lift a LOCAL block (LIBRARIAN).",
        input=(RemovePatronBlockInput, "The block to lift."),
        run=lambda s, ctx, input: blocks.remove_block(
            session=s, actor=ctx.actor, block_id=_block_id(input.id)
        ),
        answer_for=_patron_answer,
        payload=PatronPayload,
    )

    set_patron_photo = mutation(
        "Upload (or replace) a patron's photo: JPEG, PNG or WebP.",
        input=(SetPatronPhotoInput, "The patron and the image."),
        run=_set_photo,
        answer_for=_patron_answer,
        payload=PatronPayload,
    )

    remove_patron_photo = mutation(
        "Delete a patron's photo.",
        input=(RemovePatronPhotoInput, "The patron whose photo to delete."),
        run=lambda s, ctx, input: photos.remove_photo(
            session=s, actor=ctx.actor, patron_id=_patron_id(input.patron_id, "patron_id")
        ),
        answer_for=_patron_answer,
        payload=PatronPayload,
    )
