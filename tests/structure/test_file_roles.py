"""Every module of a GraphQL domain package (app/graphql/<domain>/) is named by its role:
types.py, inputs.py, queries.py, mutations.py, dataloaders.py or __init__.py; a role
grown past 500 lines is a package of the same name, whose modules all count as that role."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePosixPath

from tests.structure.imports import APP

GRAPHQL = APP / "graphql"
ROLES = {"types", "inputs", "queries", "mutations", "dataloaders"}


def not_by_role(paths: Iterable[str]) -> list[str]:
    """The paths (relative to app/graphql) of domain modules that are not a role, nor inside
    a role package; modules directly in app/graphql are shared and not checked."""
    found = []
    for path in paths:
        parts = PurePosixPath(path).with_suffix("").parts
        if len(parts) < 2:
            continue  # app/graphql/core.py and the other shared modules
        role = parts[1]
        if role == "__init__" and len(parts) == 2:
            continue
        if role not in ROLES:
            found.append(path)
    return sorted(found)


def domain_modules() -> list[str]:
    return sorted(
        path.relative_to(GRAPHQL).as_posix()
        for path in GRAPHQL.rglob("*.py")
        if path.parent != GRAPHQL
    )


def test_every_graphql_domain_module_is_a_role() -> None:
    modules = domain_modules()
    assert len(modules) > 30  # the walk found the domains' modules
    assert not_by_role(modules) == []


def test_a_module_that_is_not_a_role_is_caught() -> None:
    paths = [
        "core.py",
        "patrons/__init__.py",
        "patrons/types/__init__.py",
        "patrons/types/patron.py",
        "patrons/mutations.py",
        "network/mutations/setup.py",
        "patrons/helpers.py",
        "network/choices.py",
        "linking/views/institution.py",
    ]
    assert not_by_role(paths) == [
        "linking/views/institution.py",
        "network/choices.py",
        "patrons/helpers.py",
    ]
