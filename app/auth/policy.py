"""Who may do what: the one place institution scoping is decided.

Services call these checks; transport code never decides authorization.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from app.auth.roles import STAFF_ROLES, Scope, SystemGroup, effective_roles
from app.clock import today
from app.errors import DomainError, ErrorCode, NotAuthenticated


@dataclass(frozen=True)
class Actor:
    """The authenticated caller of one request."""

    kind: str  # "anonymous", "staff" (a logged-in account) or "client" (API client)
    name: str = "anonymous"
    patron_id: int | None = None
    client_id: int | None = None
    institution_id: int | None = None
    library_id: int | None = None
    groups: frozenset[SystemGroup] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)
    # The code of institution_id, when the token check read it (saves a lookup by code).
    institution_code: str | None = None

    @property
    def roles(self) -> frozenset[SystemGroup]:
        return effective_roles(self.groups)

    @property
    def is_authenticated(self) -> bool:
        return self.kind != "anonymous"

    def has_role(self, role: SystemGroup) -> bool:
        return role in self.roles

    def has_scope(self, scope: Scope | str) -> bool:
        value = scope.value if isinstance(scope, Scope) else scope
        return self.kind == "client" and value in self.scopes


ANONYMOUS = Actor(kind="anonymous")


def system_actor(name: str = "netzone") -> Actor:
    """The operator acting through the CLI or a background job: every power."""
    return Actor(kind="system", name=name)


FORBIDDEN_MESSAGE = "You are not allowed to do this."


def require_authenticated(actor: Actor) -> None:
    if not actor.is_authenticated:
        raise NotAuthenticated("Log in first: this operation needs an authenticated session.")


def can_read_patrons(actor: Actor, institution_id: int) -> bool:
    """Staff with CIRCULATION or more, or a client with patron_read, of that institution."""
    if actor.kind == "system":
        return True
    if actor.institution_id != institution_id:
        return False
    if actor.kind == "staff":
        return actor.has_role(SystemGroup.CIRCULATION)
    if actor.kind == "client":
        return actor.has_scope(Scope.PATRON_READ)
    return False


def can_read_patron(actor: Actor, institution_id: int, patron_id: int) -> bool:
    """Staff of the institution, or the patron themself."""
    if actor.kind == "staff" and actor.patron_id == patron_id:
        return True
    return can_read_patrons(actor, institution_id)


def can_manage_patrons(actor: Actor, institution_id: int) -> bool:
    if actor.kind == "system":
        return True
    return (
        actor.kind == "staff"
        and actor.institution_id == institution_id
        and actor.has_role(SystemGroup.LIBRARIAN)
    )


def is_desk_staff(actor: Actor, institution_id: int) -> bool:
    """Staff with CIRCULATION or more logged in at the institution (the desk).

    The desk may find another member's patron by identifier (never by name, so it
    cannot harvest patrons) and link one only as a walk-in checkout."""
    return (
        actor.kind == "staff"
        and actor.institution_id == institution_id
        and actor.has_role(SystemGroup.CIRCULATION)
    )


def can_administer_institution(actor: Actor, institution_id: int) -> bool:
    if actor.kind == "system":
        return True
    return (
        actor.kind == "staff"
        and actor.institution_id == institution_id
        and actor.has_role(SystemGroup.SYSTEM_ADMIN)
    )


def require_institution_admin(
    actor: Actor, institution_id: int, what: str, institution_code: str | None = None
) -> None:
    """FORBIDDEN unless the session administers the institution (SYSTEM_ADMIN there):
    "Only a system administrator of NEKLS may <what>."."""
    require(
        can_administer_institution(actor, institution_id),
        actor,
        f"Only a system administrator of {institution_code or 'the institution'} may {what}.",
    )


def belongs_to(actor: Actor, institution_id: int) -> bool:
    """A session of the institution itself (any role), or the system."""
    return actor.kind == "system" or actor.institution_id == institution_id


def can_administer_network(actor: Actor) -> bool:
    if actor.kind == "system":
        return True
    return actor.kind == "staff" and actor.has_role(SystemGroup.NETWORK_ADMIN)


def require(allowed: bool, actor: Actor, message: str = FORBIDDEN_MESSAGE) -> None:
    """Raise NotAuthenticated for anonymous callers, FORBIDDEN for the rest."""
    require_authenticated(actor)
    if not allowed:
        raise DomainError.of(ErrorCode.FORBIDDEN, message)


# --- Delegation: a session grants only what it holds itself ---------------------------
#
# Every path that grants something (GraphQL, CLI, imports, the drop folder, SIP
# administration) asks the functions below; they take plain data (ids, codes, role
# names), never sessions or rows.


def holds_library(actor: Actor, library_id: int, institution_id: int) -> bool:
    """Does the session hold this library: the one it is logged in at, or, for the
    institution's SYSTEM_ADMIN, every library of the institution?"""
    if actor.kind == "system":
        return True
    if actor.kind != "staff" or actor.institution_id != institution_id:
        return False
    return library_id == actor.library_id or actor.has_role(SystemGroup.SYSTEM_ADMIN)


@dataclass(frozen=True)
class AccountGrants:
    """What an account holds: its roles and the libraries it may log in at.

    `login_libraries` are the effective ones (the home library when none are set), by
    id with their codes for messages. They are authority only for staff accounts: an
    ordinary patron's libraries give nothing beyond the patron's own record."""

    institution_id: int
    roles: frozenset[str]
    login_libraries: Mapping[int, str]
    enabled: bool = True
    until: date | None = None

    @property
    def is_staff(self) -> bool:
        return any(SystemGroup(role) in STAFF_ROLES for role in self.roles)

    @property
    def is_administrator(self) -> bool:
        """An enabled account, not past its end date, holding SYSTEM_ADMIN."""
        return (
            SystemGroup.SYSTEM_ADMIN.value in self.roles
            and self.enabled
            and (self.until is None or self.until >= today())
        )


@dataclass(frozen=True)
class Beyond:
    """What of an account's holdings a session could not have granted."""

    roles: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()  # codes of a staff account's login libraries

    def __bool__(self) -> bool:
        return bool(self.roles or self.libraries)

    def who(self) -> str:
        """'someone who may grant LIBRARIAN and its login library (BASEHOR)'."""
        parts = [", ".join(self.roles)] if self.roles else []
        if self.libraries:
            noun = "library" if len(self.libraries) == 1 else "libraries"
            parts.append(f"its login {noun} ({', '.join(self.libraries)})")
        return "someone who may grant " + " and ".join(parts)


def ungrantable(actor: Actor, grants: AccountGrants) -> Beyond:
    """What of an account's holdings the session could not have granted (roles, and a
    staff account's login libraries): it may change the account only when this is empty."""
    roles = tuple(role for role in sorted(grants.roles) if not may_grant(actor, SystemGroup(role)))
    libraries: tuple[str, ...] = ()
    if grants.is_staff:
        libraries = tuple(
            sorted(
                code
                for library_id, code in grants.login_libraries.items()
                if not holds_library(actor, library_id, grants.institution_id)
            )
        )
    return Beyond(roles, libraries)


def libraries_not_held(
    actor: Actor, before: AccountGrants | None, after: AccountGrants
) -> list[str]:
    """Login libraries a change gives a staff account that the session does not hold
    (codes); libraries the account already had as staff are not a new grant."""
    if not after.is_staff:
        return []
    had = before.login_libraries if before is not None and before.is_staff else {}
    return sorted(
        code
        for library_id, code in after.login_libraries.items()
        if library_id not in had and not holds_library(actor, library_id, after.institution_id)
    )


def may_grant_attribute(actor: Actor, institution_id: int, limits: frozenset[int]) -> bool:
    """May the session hand out access to an attribute type (an API client scope, a SIP
    field): only a session that may see the type itself, i.e. of its institution and,
    for a branch-limited type, logged in at one of its libraries."""
    if actor.kind == "system":
        return True
    if actor.kind != "staff" or actor.institution_id != institution_id:
        return False
    return not limits or actor.library_id in limits


def may_grant_scope(
    actor: Actor, institution_id: int, scope: str, limits: frozenset[int] | None = None
) -> bool:
    """API client scopes are the institution's SYSTEM_ADMIN's to give; an
    `attribute:<CODE>` scope (give the type's `limits`) also needs a session that may see
    the type (may_grant_attribute)."""
    if not can_administer_institution(actor, institution_id):
        return False
    if scope.startswith("attribute:"):
        return limits is not None and may_grant_attribute(actor, institution_id, limits)
    return True


def library_may_hold_attribute(library_id: int | None, limits: frozenset[int]) -> bool:
    """A client or SIP account carries a branch-limited type only if its own library is
    one of the type's libraries."""
    return not limits or library_id in limits


def may_grant(actor: Actor, group: SystemGroup) -> bool:
    """Nobody grants a role they do not hold; LIBRARIAN and SYSTEM_ADMIN need SYSTEM_ADMIN."""
    if group is SystemGroup.LIBRARY_USERS or actor.kind == "system":
        return True
    if group in (SystemGroup.LIBRARIAN, SystemGroup.SYSTEM_ADMIN):
        return actor.has_role(SystemGroup.SYSTEM_ADMIN)
    if group is SystemGroup.NETWORK_ADMIN:
        return SystemGroup.NETWORK_ADMIN in actor.groups and actor.has_role(SystemGroup.LIBRARIAN)
    return group in actor.roles
