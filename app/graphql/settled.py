"""Sibling fields settle before an error propagates; none is cancelled halfway.

graphql-core 3.3 resolves an object's fields together and, when one fails, cancels the
others still running (`gather_with_cancel`). A field cancelled while its statement is
on the wire leaves the request's database connection broken: asyncpg closes it, the
session cannot roll back, and the pool throws it away (in the test suite, which shares
one connection, every later request fails). A resolver sends little enough that
letting it finish costs nothing, so the siblings are awaited to the end and the first
error (in field order) then propagates exactly as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from graphql.execution import executor


async def gather_settled(*awaitables: Awaitable[Any]) -> list[Any]:
    """Like graphql-core's `gather_with_cancel`, but every awaitable runs to its end."""
    futures = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    results = await asyncio.gather(*futures, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def install() -> None:
    """Make graphql-core's executor settle siblings (idempotent)."""
    executor.gather_with_cancel = gather_settled  # type: ignore[attr-defined]
