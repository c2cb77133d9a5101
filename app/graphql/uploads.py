"""Files sent with a mutation as multipart uploads."""

from __future__ import annotations

from typing import Any

from app.errors import DomainError, ErrorCode


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
