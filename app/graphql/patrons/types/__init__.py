"""GraphQL types of the patron registry: the patron, what its record carries, its audit
trail and alerts, and the payloads of its mutations."""

from __future__ import annotations

from app.graphql.patrons.types.alerts import PatronAlert
from app.graphql.patrons.types.audit import AuditEntry, AuditEntryConnection, AuditEntryEdge
from app.graphql.patrons.types.details import (
    BlockOrigin,
    ContactEmail,
    Identifier,
    PatronBlock,
    PatronPhoto,
)
from app.graphql.patrons.types.patron import (
    Patron,
    PatronConnection,
    PatronEdge,
)
from app.graphql.patrons.types.payloads import DeletePatronPayload, PatronPayload

__all__ = [
    "AuditEntry",
    "AuditEntryConnection",
    "AuditEntryEdge",
    "BlockOrigin",
    "ContactEmail",
    "DeletePatronPayload",
    "Identifier",
    "Patron",
    "PatronAlert",
    "PatronBlock",
    "PatronConnection",
    "PatronEdge",
    "PatronPayload",
    "PatronPhoto",
]
