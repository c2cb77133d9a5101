"""Who may do what: the one place institution scoping is decided.

Services call these checks; transport code never decides authorization.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.auth.roles import Scope, SystemGroup, effective_roles
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


def can_administer_institution(actor: Actor, institution_id: int) -> bool:
    if actor.kind == "system":
        return True
    return (
        actor.kind == "staff"
        and actor.institution_id == institution_id
        and actor.has_role(SystemGroup.SYSTEM_ADMIN)
    )


def can_administer_network(actor: Actor) -> bool:
    if actor.kind == "system":
        return True
    return actor.kind == "staff" and actor.has_role(SystemGroup.NETWORK_ADMIN)


def require(allowed: bool, actor: Actor, message: str = FORBIDDEN_MESSAGE) -> None:
    """Raise NotAuthenticated for anonymous callers, FORBIDDEN for the rest."""
    require_authenticated(actor)
    if not allowed:
        raise DomainError.of(ErrorCode.FORBIDDEN, message)


def may_grant(actor: Actor, group: SystemGroup) -> bool:
    """Nobody grants a role they do not hold; LIBRARIAN and SYSTEM_ADMIN need SYSTEM_ADMIN."""
    if group is SystemGroup.LIBRARY_USERS or actor.kind == "system":
        return True
    if group in (SystemGroup.LIBRARIAN, SystemGroup.SYSTEM_ADMIN):
        return actor.has_role(SystemGroup.SYSTEM_ADMIN)
    if group is SystemGroup.NETWORK_ADMIN:
        return SystemGroup.NETWORK_ADMIN in actor.groups and actor.has_role(SystemGroup.LIBRARIAN)
    return group in actor.roles
