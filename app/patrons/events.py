"""What the patron registry announces, for the use cases above it to act on.

The registry changes and deletes HOME accounts; linked copies at other members must
follow (app.linking.propagation listens). The registry does not import its listeners: they
register themselves when imported, and every entry point (app.main, app.cli, app.jobs)
imports them. An announcement nobody listens to is a wiring error, raised at once rather
than leaving copies silently stale.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.policy import Actor

SOURCE_CHANGED = "source_changed"  # a HOME account's shared data changed
SOURCE_DELETED = "source_deleted"  # a HOME account was deleted


class Listener(Protocol):
    def __call__(
        self, *, session: AsyncSession, actor: Actor, source_id: int
    ) -> Awaitable[None]: ...


_listeners: dict[str, list[Listener]] = {SOURCE_CHANGED: [], SOURCE_DELETED: []}


def listen(event: str) -> Callable[[Listener], Listener]:
    """Register a listener (as a decorator); registering the same one twice is a no-op."""

    def register(listener: Listener) -> Listener:
        if listener not in _listeners[event]:
            _listeners[event].append(listener)
        return listener

    return register


async def announce(event: str, *, session: AsyncSession, actor: Actor, source_id: int) -> None:
    listeners = _listeners[event]
    if not listeners:
        raise RuntimeError(
            f"Nothing listens to the patron event {event!r}: import app.linking.propagation "
            "before changing patrons."
        )
    for listener in listeners:
        await listener(session=session, actor=actor, source_id=source_id)
