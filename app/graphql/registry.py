"""GraphQL types of different domains that refer to each other, without importing each
other in a loop.

The lower module names the higher one's type in its annotations with `strawberry.lazy`
and asks this registry at run time for what it needs of it: the type (to build one from
a row) or a resolver the owning domain provides. The higher module provides them where
they are defined; `app.graphql.schema` imports every provider, so a schema that is built
has them all. Asking for something nobody provided is a programming error, raised at
once.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")

_provided: dict[str, Any] = {}


def provide(name: str, value: T) -> T:
    """Make ``value`` available under ``name`` (once; the same value again is a no-op)."""
    current = _provided.setdefault(name, value)
    if current is not value:
        raise RuntimeError(f"{name} is provided twice")
    return value


def provided(name: str) -> Any:
    try:
        return _provided[name]
    except KeyError:
        raise RuntimeError(
            f"Nothing provides {name}: its module must be imported (app.graphql.schema "
            "imports every provider)."
        ) from None
