"""Roles and API client scopes, as plain functions: which roles a group implies, and which
scopes are written correctly."""

from __future__ import annotations

import pytest

from app.auth.roles import SystemGroup, effective_roles, is_valid_scope, normalize_scope


def test_system_admin_implies_the_desk_and_the_librarian_but_not_the_network() -> None:
    assert effective_roles({SystemGroup.SYSTEM_ADMIN}) == {
        SystemGroup.SYSTEM_ADMIN,
        SystemGroup.LIBRARIAN,
        SystemGroup.CIRCULATION,
        SystemGroup.OVERRIDE_BLOCKS,
    }


def test_a_librarian_is_desk_staff_too_and_nothing_more() -> None:
    assert effective_roles({SystemGroup.LIBRARIAN}) == {
        SystemGroup.LIBRARIAN,
        SystemGroup.CIRCULATION,
    }


def test_groups_that_imply_nothing_stay_as_they_are() -> None:
    assert effective_roles({SystemGroup.NETWORK_ADMIN}) == {SystemGroup.NETWORK_ADMIN}
    assert effective_roles({SystemGroup.CIRCULATION}) == {SystemGroup.CIRCULATION}
    assert effective_roles(frozenset()) == frozenset()


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        (" patron_read ", "patron_read"),
        ("attribute:kanopy_lansing", "attribute:KANOPY_LANSING"),
        ("Attribute: kanopy ", "attribute:KANOPY"),
        ("PATRON_READ", "PATRON_READ"),  # named scopes keep their case, and are then unknown
    ],
)
def test_scopes_are_trimmed_and_attribute_codes_capitalised(written: str, normalized: str) -> None:
    assert normalize_scope(written) == normalized


@pytest.mark.parametrize(
    "scope", ["patron_read", "linking", "patron_auth", "email", "attribute:KANOPY_LANSING-2"]
)
def test_named_scopes_and_attribute_scopes_are_valid(scope: str) -> None:
    assert is_valid_scope(scope)


@pytest.mark.parametrize(
    "scope",
    [
        "everything",
        "PATRON_READ",
        "attribute:",
        "attribute:kanopy",  # codes are capitals once normalized
        "attribute:WITH SPACE",
        "attribute:" + "X" * 41,
        "",
    ],
)
def test_anything_else_is_not_a_scope(scope: str) -> None:
    assert not is_valid_scope(scope)
