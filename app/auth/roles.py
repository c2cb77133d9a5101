"""System groups (roles) and how they imply each other."""

from __future__ import annotations

from enum import Enum


class SystemGroup(str, Enum):
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


class Scope(str, Enum):
    """What an API client may do; attribute scopes are written `attribute:<CODE>`."""

    PATRON_READ = "patron_read"
    LINKING = "linking"
    PATRON_AUTH = "patron_auth"
    EMAIL = "email"


def is_valid_scope(scope: str) -> bool:
    if scope.startswith("attribute:") and len(scope) > len("attribute:"):
        return True
    return scope in {s.value for s in Scope}
