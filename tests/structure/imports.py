"""The import graph of app/, read with `ast`: every import, function-local ones included
(only those under `if TYPE_CHECKING:` are left out, since they never run)."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"

# The layers, lowest first: a module may import its own layer and those below, never above.
# A module belongs to the layer of the longest name that is a prefix of it.
LAYERS: list[tuple[str, ...]] = [
    # Tables and the floor everything stands on.
    (
        "app.settings",
        "app.observability",
        "app.errors",
        "app.clock",
        "app.sql",
        "app.driver",
        "app.db",
        "app.keys",
        "app.tables",
        "app.attributes.models",
        "app.audit.models",
        "app.auth.models",
        "app.circulation.models",
        "app.emails.models",
        "app.imports.models",
        "app.linking.models",
        "app.network.models",
        "app.patrons.models",
        "app.sip2.models",
    ),
    # Policy: plain functions of the actor and ids.
    ("app.auth.roles", "app.auth.passwords", "app.auth.policy", "app.auth.throttling"),
    # The job queue: job kinds, enqueueing in a transaction, running a job as its actor.
    ("app.queue",),
    # Writing the audit trail.
    ("app.audit.service",),
    # The network's structure.
    ("app.network.service", "app.network.default_rule", "app.network.choice_lists"),
    # What works on the tables directly, below the registry.
    ("app.emails.service", "app.circulation.borrowing", "app.circulation.service"),
    # Attribute types and who sees them; the reference data and state a patron edit reads.
    ("app.attributes.types",),
    ("app.patrons.versions", "app.patrons.events", "app.patrons.lookups", "app.patrons.state"),
    # Attribute values, then the patron registry that writes them.
    ("app.attributes",),
    ("app.patrons",),
    # Use cases.
    (
        "app.attributes.admin",
        "app.attributes.removal",
        "app.audit",
        "app.audit.trail",
        "app.linking",
        "app.emails",
        "app.circulation",
        "app.imports",
        "app.lifecycle",
        "app.sip2",
        "app.auth",
        "app.network",
        "app.demo",
        "app.bootstrap",
        "app.migrate",
        # GraphiQL's page and files (the settings only).
        "app.graphiql",
    ),
    ("app.graphql",),
    # The entry points; the command-line modules stand with app.cli (they read the ids
    # the GraphQL API gives).
    (
        "app.main",
        "app.cli",
        "app.cli_errors",
        "app.cli_options",
        "app.sip2.commands",
        "app.jobs",
        "app.worker",
        "app",
    ),
]


def module_name(path: Path, root: Path = APP) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(child) for child in ast.walk(node)}
    return skipped


def imports_of(name: str, source: str, known: Iterable[str], package: bool = False) -> set[str]:
    """The known modules a module's source imports (``from x import y`` counts x.y if
    that is a module, else x)."""
    modules = set(known)
    tree = ast.parse(source)
    skipped = _type_checking_nodes(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = name.split(".")
                parent = parent[: len(parent) - node.level + (1 if package else 0)]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
                break
    return found


def graph(root: Path = APP) -> dict[str, set[str]]:
    paths = {module_name(path, root): path for path in root.rglob("*.py")}
    return {
        name: imports_of(
            name, path.read_text(encoding="utf-8"), paths, package=path.name == "__init__.py"
        )
        for name, path in paths.items()
    }


def layer_of(module: str) -> int:
    best, layer = -1, len(LAYERS) - 1
    for index, names in enumerate(LAYERS):
        for prefix in names:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, layer = len(prefix), index
    return layer


def upward_imports(edges: dict[str, set[str]]) -> set[tuple[str, str]]:
    """Imports of a higher layer than the importer's."""
    return {
        (source, target)
        for source, targets in edges.items()
        for target in targets
        if layer_of(target) > layer_of(source)
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)
