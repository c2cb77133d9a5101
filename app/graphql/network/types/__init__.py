"""GraphQL types of the network structure and of an institution's lists of allowed
values, and the payloads of their mutations."""

from __future__ import annotations

from app.graphql.network.types.choices import (
    AddPatronValueChoicePayload,
    ImportPatronValueChoicesPayload,
    PatronValueChoice,
    PatronValueKind,
    RemovePatronValueChoicePayload,
)
from app.graphql.network.types.payloads import (
    CreateBlockTypePayload,
    CreateIdentifierTypePayload,
    CreateInstitutionPayload,
    CreateLibraryGroupPayload,
    CreateLibraryPayload,
    CreateUserGroupPayload,
    RemovalPayload,
    UpdateBlockTypePayload,
    UpdateIdentifierTypePayload,
    UpdateInstitutionPayload,
    UpdateLibraryGroupPayload,
    UpdateLibraryPayload,
    UpdateUserGroupPayload,
)
from app.graphql.network.types.structure import (
    BlockType,
    IdentifierType,
    Institution,
    InstitutionSettings,
    Library,
    LibraryGroup,
    Network,
    UserGroup,
)

__all__ = [
    "AddPatronValueChoicePayload",
    "BlockType",
    "CreateBlockTypePayload",
    "CreateIdentifierTypePayload",
    "CreateInstitutionPayload",
    "CreateLibraryGroupPayload",
    "CreateLibraryPayload",
    "CreateUserGroupPayload",
    "IdentifierType",
    "ImportPatronValueChoicesPayload",
    "Institution",
    "InstitutionSettings",
    "Library",
    "LibraryGroup",
    "Network",
    "PatronValueChoice",
    "PatronValueKind",
    "RemovalPayload",
    "RemovePatronValueChoicePayload",
    "UpdateBlockTypePayload",
    "UpdateIdentifierTypePayload",
    "UpdateInstitutionPayload",
    "UpdateLibraryGroupPayload",
    "UpdateLibraryPayload",
    "UpdateUserGroupPayload",
    "UserGroup",
]
