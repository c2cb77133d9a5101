"""The per-request context: who is asking, the session, the DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from app.auth.policy import Actor
from app.db import SerialSession
from app.settings import Settings

if TYPE_CHECKING:
    from app.graphql.dataloaders import Loaders


@dataclass
class Context:
    request: Request
    response: Any
    settings: Settings
    db: SerialSession
    actor: Actor
    token: str | None
    address: str
    extras: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def loaders(self) -> Loaders:
        from app.graphql.dataloaders import Loaders

        return Loaders(self.db, self.actor, self.settings)
