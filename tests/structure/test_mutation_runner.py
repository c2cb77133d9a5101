"""Every mutation runs through `app.graphql.core.mutate`: no other GraphQL module runs a use
case in the request's session by hand, or turns a DomainError into a payload itself. Read
with `ast`, so a comment or a string that names them does not count."""

from __future__ import annotations

import ast

from tests.structure.imports import APP

GRAPHQL = APP / "graphql"
CORE = GRAPHQL / "core.py"
RUNNERS = {"run_mutation", "_run"}  # core's runner, under its old and its present name


def _names(node: ast.AST) -> set[str]:
    """The names an expression mentions: `DomainError`, `errors.DomainError`, in a tuple too."""
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            found.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            found.add(sub.attr)
    return found


def hand_written_runs(source: str) -> list[str]:
    """What in a module's source runs a mutation by hand instead of through `mutate`, by line."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if (
                name == "isinstance"
                and len(node.args) == 2
                and "DomainError" in _names(node.args[1])
            ):
                found.append((line, "isinstance(..., DomainError)"))
            if name == "run_mutation":
                found.append((line, "calls run_mutation"))
        elif isinstance(node, ast.ExceptHandler) and node.type is not None:
            if "DomainError" in _names(node.type):
                found.append((line, "catches DomainError"))
        elif isinstance(node, ast.ImportFrom) and node.module == "app.graphql.core":
            found += [
                (line, f"imports {alias.name} from app.graphql.core")
                for alias in node.names
                if alias.name in RUNNERS
            ]
    return [f"line {line}: {what}" for line, what in sorted(found)]


def test_no_graphql_module_runs_a_mutation_by_hand() -> None:
    modules = sorted(p for p in GRAPHQL.rglob("*.py") if p != CORE)
    assert len(modules) > 10  # the walk found the schema's modules
    found = [
        f"{path.relative_to(APP.parent)} {problem}"
        for path in modules
        for problem in hand_written_runs(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_hand_written_pattern_is_caught() -> None:
    source = (
        "from app import errors\n"
        "from app.errors import DomainError\n"
        "from app.graphql.core import run_mutation, user_errors\n"
        "async def create(info, action):\n"
        "    result = await run_mutation(info, action)\n"
        "    if isinstance(result, DomainError):\n"
        "        return Payload(errors=user_errors(result))\n"
        "    if isinstance(result, (ValueError, errors.DomainError)):\n"
        "        return None\n"
        "    try:\n"
        "        return await core.run_mutation(info, action)\n"
        "    except errors.DomainError:\n"
        "        return None\n"
    )
    assert hand_written_runs(source) == [
        "line 3: imports run_mutation from app.graphql.core",
        "line 5: calls run_mutation",
        "line 6: isinstance(..., DomainError)",
        "line 8: isinstance(..., DomainError)",
        "line 11: calls run_mutation",
        "line 12: catches DomainError",
    ]


def test_what_mutate_does_is_not_caught() -> None:
    source = (
        "# run_mutation and isinstance(result, DomainError) are only words in a comment\n"
        "from app.errors import DomainError, ErrorCode\n"
        "from app.graphql.core import mutate\n"
        "async def create(info, action):\n"
        '    """Not `isinstance(result, DomainError)` by hand."""\n'
        "    if isinstance(action, str):\n"
        '        raise DomainError.of(ErrorCode.INVALID_INPUT, "No.", ["input"])\n'
        "    return await mutate(info, action, Payload.of, Payload)\n"
    )
    assert hand_written_runs(source) == []
