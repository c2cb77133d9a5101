"""The house plan holds: no module imports a layer above its own, and no modules import
each other in a loop (function-local imports count; see tests/structure/imports.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.structure.imports import APP, LAYERS, cycles, graph, imports_of, layer_of, upward_imports


def test_no_module_imports_a_layer_above_its_own() -> None:
    assert sorted(upward_imports(graph())) == []


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_a_back_edge_is_caught() -> None:
    edges = graph()
    edges["app.network.service"] = {*edges["app.network.service"], "app.linking.service"}
    assert ("app.network.service", "app.linking.service") in upward_imports(edges)
    edges["app.errors"] = {*edges.get("app.errors", set()), "app.sql"}
    edges["app.sql"] = {*edges.get("app.sql", set()), "app.errors"}
    assert ["app.errors", "app.sql"] in cycles(edges)


def test_function_local_imports_count_and_type_checking_ones_do_not() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from app.linking import service\n"
        "def f():\n"
        "    from app.patrons.service import propagate_source\n"
    )
    known = ["app.linking.service", "app.patrons.service", "app.network.service"]
    assert imports_of("app.network.service", source, known) == {"app.patrons.service"}


def test_every_module_has_a_named_layer() -> None:
    """A new top-level package must be placed in LAYERS, not fall into the top by default."""
    top = len(LAYERS) - 1
    named = {name for name in LAYERS[top] if name != "app"}
    unplaced = sorted(
        m
        for m in graph()
        if layer_of(m) == top
        and m != "app"
        and not any(m == name or m.startswith(name + ".") for name in named)
    )
    assert unplaced == []


ALLOWED_SQL_NAMES = {"AsyncSession", "Select"}  # types only: sessions are passed through


def sql_of_its_own(path: Path) -> list[str]:
    """What in a GraphQL module builds or sends SQL itself (reads belong in the domains'
    queries.py; app.graphql.loading only runs the domains' statements in batches)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in (
            "sqlalchemy",
            "sqlmodel",
        ):
            found += [
                f"imports {alias.name} from {node.module}"
                for alias in node.names
                if alias.name not in ALLOWED_SQL_NAMES
            ]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("execute", "scalar", "scalars")
            and path.name != "loading.py"
            and "session" in ast.unparse(node.func.value)
        ):
            found.append(f"calls {ast.unparse(node.func)}")
    return found


def test_the_graphql_layer_sends_no_sql_of_its_own() -> None:
    found = {
        str(path.relative_to(APP.parent)): what
        for path in sorted((APP / "graphql").rglob("*.py"))
        if (what := sql_of_its_own(path))
    }
    assert found == {}


def test_sql_of_its_own_is_found(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        "from sqlalchemy import select\n"
        "async def f(session):\n"
        "    return await session.execute(select(1))\n",
        encoding="utf-8",
    )
    assert sql_of_its_own(module) == [
        "imports select from sqlalchemy",
        "calls session.execute",
    ]
