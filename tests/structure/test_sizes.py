"""No module in app/ is over 500 lines: one concept a module, small enough to read whole.
The demo network's seed (app/demo/seed.py, made-up records written out) is the exception."""

from __future__ import annotations

from pathlib import Path

from tests.structure.imports import APP

LIMIT = 500
# Paths from the repository's root, with forward slashes.
EXEMPT = frozenset({"app/demo/seed.py"})


def oversize(root: Path = APP, limit: int = LIMIT, exempt: frozenset[str] = EXEMPT) -> list[str]:
    """The modules under `root` longer than `limit` lines, as `path: N lines`, leaving out
    the exempt ones."""
    found = []
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root.parent).as_posix()
        if name in exempt:
            continue
        count = len(path.read_text(encoding="utf-8").splitlines())
        if count > limit:
            found.append(f"{name}: {count} lines")
    return found


def test_no_module_in_app_is_over_500_lines() -> None:
    assert oversize() == []


def test_an_oversize_module_is_caught(tmp_path: Path) -> None:
    root = tmp_path / "app"
    (root / "domain").mkdir(parents=True)
    (root / "domain" / "long.py").write_text("x = 1\n" * 501, encoding="utf-8")
    (root / "domain" / "at_the_limit.py").write_text("x = 1\n" * 500, encoding="utf-8")
    (root / "demo").mkdir()
    (root / "demo" / "seed.py").write_text("x = 1\n" * 900, encoding="utf-8")
    assert oversize(root) == ["app/domain/long.py: 501 lines"]
    assert oversize(root, exempt=frozenset()) == [
        "app/demo/seed.py: 900 lines",
        "app/domain/long.py: 501 lines",
    ]
