"""Imports every table so the metadata is complete (for Alembic and tests)."""

from app.attributes.models import (
    AttributeAuthorisedValue,
    AttributeType,
    AttributeTypeExcludedGroup,
    AttributeTypeLibraryLimit,
    AttributeTypeRuleLibrary,
    PatronAttribute,
)
from app.audit.models import AuditEntry
from app.auth.models import ApiClient, AuthToken, LoginFailure, LoginNameFailure
from app.circulation.models import Loan
from app.db import metadata
from app.emails.models import EmailBlacklistEntry, InstitutionEmailAlert, PatronEmailFlag
from app.imports.models import ImportJob, ImportRowError
from app.keys import DeploymentSecret
from app.linking.models import (
    LinkedAccountRule,
    RestrictedUserGroup,
    SearchableIdentifierType,
    SharedFieldSetting,
)
from app.network.models import (
    BlockType,
    IdentifierType,
    Institution,
    Library,
    LibraryGroup,
    Network,
    PatronValueChoice,
    UserGroup,
)
from app.patrons.models import (
    Patron,
    PatronBlock,
    PatronContactEmail,
    PatronIdentifier,
    PatronLibraryAccess,
    PatronLibraryGroup,
    PatronPhoto,
    PatronSystemGroup,
)
from app.sip2.models import SipAccount

__all__ = [
    "DeploymentSecret",
    "SipAccount",
    "EmailBlacklistEntry",
    "InstitutionEmailAlert",
    "PatronEmailFlag",
    "ImportJob",
    "ImportRowError",
    "Loan",
    "LinkedAccountRule",
    "RestrictedUserGroup",
    "SearchableIdentifierType",
    "SharedFieldSetting",
    "AttributeAuthorisedValue",
    "AttributeType",
    "AttributeTypeExcludedGroup",
    "AttributeTypeLibraryLimit",
    "AttributeTypeRuleLibrary",
    "PatronAttribute",
    "ApiClient",
    "AuditEntry",
    "AuthToken",
    "BlockType",
    "IdentifierType",
    "Institution",
    "Library",
    "LibraryGroup",
    "LoginFailure",
    "LoginNameFailure",
    "Network",
    "Patron",
    "PatronBlock",
    "PatronContactEmail",
    "PatronIdentifier",
    "PatronLibraryAccess",
    "PatronLibraryGroup",
    "PatronPhoto",
    "PatronSystemGroup",
    "PatronValueChoice",
    "UserGroup",
    "metadata",
]
