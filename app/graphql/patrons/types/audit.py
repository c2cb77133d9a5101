"""A patron's audit trail, a page at a time."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import strawberry
from strawberry.scalars import JSON

from app.audit import trail as audit
from app.graphql import typed
from app.graphql.core import PageInfo

if TYPE_CHECKING:
    pass


@strawberry.type(description="One change in the audit trail.")
class AuditEntry:
    row: strawberry.Private[audit.AuditView]

    @typed.field(description="When it happened.")
    def at(self) -> datetime:
        return self.row.at

    @typed.field(description="Who did it (username or API client name).")
    def actor(self) -> str:
        return self.row.actor_name

    @typed.field(description="What was done, e.g. update_patron.")
    def action(self) -> str:
        return self.row.action

    @typed.field(description="Changed fields: {field: {before, after}}.")
    def changes(self) -> JSON:
        return JSON(self.row.changes)


@strawberry.type(description="An audit entry in a page.")
class AuditEntryEdge:
    cursor: str = strawberry.field(description="Opaque cursor of this entry, for `after`.")
    node: AuditEntry = strawberry.field(description="The audit entry.")


@strawberry.type(description="A page of the audit trail.")
class AuditEntryConnection:
    edges: list[AuditEntryEdge] = strawberry.field(
        description="The entries of this page, newest first."
    )
    page_info: PageInfo = strawberry.field(description="Where this page stands.")
