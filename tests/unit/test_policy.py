"""Who may do what (app.auth.policy), decided from plain data: actors built here, no
database and no request."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.auth.policy import (
    ANONYMOUS,
    FORBIDDEN_MESSAGE,
    AccountGrants,
    Actor,
    Beyond,
    can_administer_institution,
    can_administer_network,
    can_manage_patrons,
    can_read_patron,
    can_read_patrons,
    holds_library,
    libraries_not_held,
    library_may_hold_attribute,
    may_grant,
    may_grant_attribute,
    may_grant_scope,
    require,
    require_institution_admin,
    system_actor,
    ungrantable,
)
from app.auth.roles import SystemGroup
from app.clock import today
from app.errors import DomainError, ErrorCode, NotAuthenticated

NEKLS, EASTERN = 1, 2
LANSING, BASEHOR, CENTRAL = 10, 11, 12  # libraries of NEKLS
SYSTEM = system_actor("tests")


def staff(
    *groups: SystemGroup, institution: int = NEKLS, library: int = LANSING, patron: int = 100
) -> Actor:
    return Actor(
        kind="staff",
        name="staff",
        patron_id=patron,
        institution_id=institution,
        library_id=library,
        groups=frozenset(groups),
    )


def client(*scopes: str, institution: int = NEKLS) -> Actor:
    return Actor(
        kind="client",
        name="client",
        client_id=7,
        institution_id=institution,
        scopes=frozenset(scopes),
    )


# ------------------------------------------------------------------ reading and managing


def test_desk_staff_and_reading_clients_of_the_institution_read_its_patrons() -> None:
    assert can_read_patrons(staff(SystemGroup.CIRCULATION), NEKLS)
    assert can_read_patrons(staff(SystemGroup.LIBRARIAN), NEKLS)  # implies CIRCULATION
    assert can_read_patrons(client("patron_read"), NEKLS)
    assert can_read_patrons(SYSTEM, EASTERN)


def test_nobody_else_reads_patrons() -> None:
    assert not can_read_patrons(staff(SystemGroup.LIBRARY_USERS), NEKLS)
    assert not can_read_patrons(staff(SystemGroup.SYSTEM_ADMIN), EASTERN)
    assert not can_read_patrons(client("linking", "email"), NEKLS)
    assert not can_read_patrons(client("patron_read", institution=EASTERN), NEKLS)
    assert not can_read_patrons(ANONYMOUS, NEKLS)


def test_a_patron_reads_their_own_record_and_no_other() -> None:
    me = staff(SystemGroup.LIBRARY_USERS, patron=100)
    assert can_read_patron(me, NEKLS, 100)
    assert not can_read_patron(me, NEKLS, 101)


def test_librarians_of_the_institution_manage_its_patrons_desk_staff_do_not() -> None:
    assert can_manage_patrons(staff(SystemGroup.LIBRARIAN), NEKLS)
    assert can_manage_patrons(staff(SystemGroup.SYSTEM_ADMIN), NEKLS)
    assert can_manage_patrons(SYSTEM, NEKLS)
    assert not can_manage_patrons(staff(SystemGroup.CIRCULATION), NEKLS)
    assert not can_manage_patrons(staff(SystemGroup.LIBRARIAN), EASTERN)
    assert not can_manage_patrons(client("patron_read"), NEKLS)


def test_only_its_system_admins_administer_an_institution() -> None:
    assert can_administer_institution(staff(SystemGroup.SYSTEM_ADMIN), NEKLS)
    assert not can_administer_institution(staff(SystemGroup.LIBRARIAN), NEKLS)
    assert not can_administer_institution(staff(SystemGroup.SYSTEM_ADMIN), EASTERN)
    assert not can_administer_institution(staff(SystemGroup.NETWORK_ADMIN), NEKLS)


def test_network_admins_administer_the_network() -> None:
    assert can_administer_network(staff(SystemGroup.NETWORK_ADMIN))
    assert can_administer_network(SYSTEM)
    assert not can_administer_network(staff(SystemGroup.SYSTEM_ADMIN))
    assert not can_administer_network(client("patron_read"))


# ------------------------------------------------------------------ refusals


def test_require_lets_the_allowed_through() -> None:
    require(True, staff(SystemGroup.CIRCULATION))


def test_require_asks_anonymous_callers_to_log_in_even_where_it_would_allow() -> None:
    with pytest.raises(NotAuthenticated, match="Log in first"):
        require(True, ANONYMOUS)


def test_require_refuses_the_rest_with_forbidden_and_the_message() -> None:
    with pytest.raises(DomainError) as refused:
        require(False, staff(SystemGroup.CIRCULATION))
    [error] = refused.value.errors
    assert (error.code, error.message, error.field) == (
        ErrorCode.FORBIDDEN,
        FORBIDDEN_MESSAGE,
        None,
    )


def test_require_institution_admin_names_the_institution_and_the_action() -> None:
    require_institution_admin(staff(SystemGroup.SYSTEM_ADMIN), NEKLS, "create API clients")
    with pytest.raises(DomainError) as refused:
        require_institution_admin(
            staff(SystemGroup.LIBRARIAN), NEKLS, "create API clients", "NEKLS"
        )
    assert refused.value.errors[0].message == (
        "Only a system administrator of NEKLS may create API clients."
    )


# ------------------------------------------------------------------ delegation


def test_a_session_holds_its_own_library_and_a_system_admin_every_one_of_the_institution() -> None:
    assert holds_library(staff(SystemGroup.LIBRARIAN), LANSING, NEKLS)
    assert not holds_library(staff(SystemGroup.LIBRARIAN), BASEHOR, NEKLS)
    assert holds_library(staff(SystemGroup.SYSTEM_ADMIN), BASEHOR, NEKLS)
    assert not holds_library(staff(SystemGroup.SYSTEM_ADMIN, institution=EASTERN), BASEHOR, NEKLS)
    assert not holds_library(client("patron_read"), LANSING, NEKLS)


def test_roles_are_granted_only_by_those_who_hold_them() -> None:
    librarian = staff(SystemGroup.LIBRARIAN)
    admin = staff(SystemGroup.SYSTEM_ADMIN)
    assert may_grant(librarian, SystemGroup.LIBRARY_USERS)
    assert may_grant(librarian, SystemGroup.CIRCULATION)  # implied by LIBRARIAN
    assert not may_grant(librarian, SystemGroup.OVERRIDE_BLOCKS)
    assert not may_grant(librarian, SystemGroup.LIBRARIAN)  # needs SYSTEM_ADMIN
    assert may_grant(admin, SystemGroup.LIBRARIAN)
    assert may_grant(admin, SystemGroup.SYSTEM_ADMIN)
    assert not may_grant(admin, SystemGroup.NETWORK_ADMIN)
    assert may_grant(SYSTEM, SystemGroup.NETWORK_ADMIN)


def test_network_admin_is_granted_by_a_network_admin_who_is_also_a_librarian() -> None:
    assert may_grant(
        staff(SystemGroup.NETWORK_ADMIN, SystemGroup.LIBRARIAN), SystemGroup.NETWORK_ADMIN
    )
    assert not may_grant(staff(SystemGroup.NETWORK_ADMIN), SystemGroup.NETWORK_ADMIN)


def grants(*roles: str, libraries: dict[int, str], **more: object) -> AccountGrants:
    return AccountGrants(
        institution_id=NEKLS,
        roles=frozenset(roles),
        login_libraries=libraries,
        **more,  # type: ignore[arg-type]
    )


def test_what_a_session_could_not_have_granted_is_named() -> None:
    account = grants("LIBRARIAN", "CIRCULATION", libraries={LANSING: "LANSING", BASEHOR: "BASEHOR"})
    beyond = ungrantable(staff(SystemGroup.LIBRARIAN), account)
    assert beyond == Beyond(roles=("LIBRARIAN",), libraries=("BASEHOR",))
    assert beyond.who() == "someone who may grant LIBRARIAN and its login library (BASEHOR)"


def test_an_account_within_the_sessions_holdings_is_not_beyond_it() -> None:
    account = grants("CIRCULATION", libraries={LANSING: "LANSING"})
    assert not ungrantable(staff(SystemGroup.LIBRARIAN), account)
    assert not ungrantable(
        staff(SystemGroup.SYSTEM_ADMIN),
        grants("LIBRARIAN", libraries={LANSING: "LANSING", BASEHOR: "BASEHOR"}),
    )


def test_an_ordinary_patrons_libraries_are_no_grant() -> None:
    patron = grants("LIBRARY_USERS", libraries={BASEHOR: "BASEHOR"})
    assert not patron.is_staff
    assert ungrantable(staff(SystemGroup.CIRCULATION), patron) == Beyond()
    assert libraries_not_held(staff(SystemGroup.CIRCULATION), None, patron) == []


def test_only_new_login_libraries_the_session_does_not_hold_are_refused() -> None:
    before = grants("CIRCULATION", libraries={BASEHOR: "BASEHOR"})
    after = grants(
        "CIRCULATION", libraries={BASEHOR: "BASEHOR", LANSING: "LANSING", CENTRAL: "CENTRAL"}
    )
    librarian = staff(SystemGroup.LIBRARIAN)
    assert libraries_not_held(librarian, before, after) == ["CENTRAL"]
    assert libraries_not_held(librarian, None, after) == ["BASEHOR", "CENTRAL"]
    assert libraries_not_held(staff(SystemGroup.SYSTEM_ADMIN), None, after) == []


def test_an_administrator_is_enabled_and_not_past_the_end_date() -> None:
    libraries = {LANSING: "LANSING"}
    assert grants("SYSTEM_ADMIN", libraries=libraries).is_administrator
    assert grants("SYSTEM_ADMIN", libraries=libraries, until=today()).is_administrator
    assert not grants("SYSTEM_ADMIN", libraries=libraries, enabled=False).is_administrator
    yesterday = today() - timedelta(days=1)
    assert not grants("SYSTEM_ADMIN", libraries=libraries, until=yesterday).is_administrator
    assert not grants("LIBRARIAN", libraries=libraries).is_administrator


def test_attribute_types_are_handed_out_only_from_a_library_that_sees_them() -> None:
    limits = frozenset({LANSING})
    assert may_grant_attribute(staff(SystemGroup.LIBRARIAN), NEKLS, limits)
    assert may_grant_attribute(staff(SystemGroup.LIBRARIAN, library=BASEHOR), NEKLS, frozenset())
    assert not may_grant_attribute(staff(SystemGroup.SYSTEM_ADMIN, library=BASEHOR), NEKLS, limits)
    assert not may_grant_attribute(staff(SystemGroup.LIBRARIAN, institution=EASTERN), NEKLS, limits)
    assert not may_grant_attribute(client("patron_read"), NEKLS, frozenset())


def test_client_scopes_are_the_system_admins_to_give() -> None:
    admin = staff(SystemGroup.SYSTEM_ADMIN)
    assert may_grant_scope(admin, NEKLS, "patron_read")
    assert not may_grant_scope(staff(SystemGroup.LIBRARIAN), NEKLS, "patron_read")
    assert not may_grant_scope(admin, EASTERN, "patron_read")


def test_an_attribute_scope_needs_the_types_libraries_and_a_session_that_sees_it() -> None:
    admin = staff(SystemGroup.SYSTEM_ADMIN)
    assert may_grant_scope(admin, NEKLS, "attribute:KANOPY", frozenset({LANSING}))
    assert not may_grant_scope(admin, NEKLS, "attribute:KANOPY", frozenset({BASEHOR}))
    assert not may_grant_scope(admin, NEKLS, "attribute:KANOPY")  # limits unknown: no type


def test_a_branch_limited_type_is_held_only_by_accounts_of_its_libraries() -> None:
    assert library_may_hold_attribute(LANSING, frozenset({LANSING}))
    assert library_may_hold_attribute(None, frozenset())
    assert not library_may_hold_attribute(BASEHOR, frozenset({LANSING}))
    assert not library_may_hold_attribute(None, frozenset({LANSING}))
