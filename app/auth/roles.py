"""System groups (roles) and how they imply each other."""

from __future__ import annotations

import re
from enum import StrEnum


class SystemGroup(StrEnum):
    LIBRARY_USERS = "LIBRARY_USERS"
    CIRCULATION = "CIRCULATION"
    OVERRIDE_BLOCKS = "OVERRIDE_BLOCKS"
    LIBRARIAN = "LIBRARIAN"
    SYSTEM_ADMIN = "SYSTEM_ADMIN"
    NETWORK_ADMIN = "NETWORK_ADMIN"


# A role includes the powers of the roles listed for it.
IMPLIED: dict[SystemGroup, frozenset[SystemGroup]] = {
    SystemGroup.SYSTEM_ADMIN: frozenset(
        {SystemGroup.LIBRARIAN, SystemGroup.CIRCULATION, SystemGroup.OVERRIDE_BLOCKS}
    ),
    SystemGroup.LIBRARIAN: frozenset({SystemGroup.CIRCULATION}),
}

STAFF_ROLES = frozenset(
    {
        SystemGroup.CIRCULATION,
        SystemGroup.OVERRIDE_BLOCKS,
        SystemGroup.LIBRARIAN,
        SystemGroup.SYSTEM_ADMIN,
        SystemGroup.NETWORK_ADMIN,
    }
)


def effective_roles(groups: set[SystemGroup] | frozenset[SystemGroup]) -> frozenset[SystemGroup]:
    """The held groups plus every group they imply."""
    result = set(groups)
    for group in groups:
        result |= IMPLIED.get(group, frozenset())
    return frozenset(result)


class Scope(StrEnum):
    """What an API client may do; attribute scopes are written `attribute:<CODE>`."""

    PATRON_READ = "patron_read"
    LINKING = "linking"
    PATRON_AUTH = "patron_auth"
    EMAIL = "email"


ATTRIBUTE_SCOPE = re.compile(r"attribute:[A-Z0-9_-]{1,40}")


def normalize_scope(scope: str) -> str:
    """Scopes as written by people: trimmed, attribute codes in capitals."""
    scope = scope.strip()
    prefix, sep, code = scope.partition(":")
    if sep and prefix.lower() == "attribute":
        return f"attribute:{code.strip().upper()}"
    return scope


def is_valid_scope(scope: str) -> bool:
    """A named scope, or attribute:<CODE> with an attribute type code (A-Z, 0-9, '-', '_')."""
    if ATTRIBUTE_SCOPE.fullmatch(scope):
        return True
    return scope in {s.value for s in Scope}
