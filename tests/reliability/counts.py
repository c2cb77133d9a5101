"""Counts the reliability suite reports at the end of a run (operations x actors checked,
fuzz cases run, faults injected, bad inputs sent)."""

from __future__ import annotations

from collections import Counter

COUNTS: Counter[str] = Counter()


def record(what: str, n: int = 1) -> None:
    """Add n to a named count, e.g. record("authorization checks (operation x actor)", 12)."""
    COUNTS[what] += n
