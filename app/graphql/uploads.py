"""Files sent with a mutation as multipart uploads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DomainError, ErrorCode
from app.graphql.context import Context


async def read_upload(upload: Any, limit: int) -> bytes:
    """The whole of an uploaded file of at most ``limit`` bytes, else a user error on `file`."""
    read = getattr(upload, "read", None)
    if read is None:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, "Send the file as a multipart upload.", ["file"]
        )
    data = await read(limit + 1)
    if len(data) > limit:
        raise DomainError.of(ErrorCode.INVALID_INPUT, "The file is too large.", ["file"])
    return bytes(data)


class WithFile(Protocol):
    """An input with a `file` to read."""

    file: Any


In = TypeVar("In", bound=WithFile)
T = TypeVar("T")


def reading_file(
    run: Callable[[AsyncSession, Context, In, bytes], Awaitable[T]],
) -> Callable[[AsyncSession, Context, In], Awaitable[T]]:
    """A mutation's use case given the content of the input's `file` too, read first (at most
    the settings' max_upload_bytes; see read_upload)."""

    async def read_then_run(session: AsyncSession, ctx: Context, input: In) -> T:
        content = await read_upload(input.file, ctx.settings.max_upload_bytes)
        return await run(session, ctx, input, content)

    return read_then_run
