"""Reading an institution's lists of allowed cohorts and form classes, and matching a
value against them (managing the lists: app.network.choices).

An institution that lists values for a field takes only those values there (on every
path that sets it: createPatron, updatePatron, the CSV import, merges); one that lists
none takes free text, as before. Values are stored as listed and matched
case-insensitively: "7a" is taken as the listed "7A". Linked copies are not checked:
their values are their home institution's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.network.models import PatronValueChoice

# A refusal names the allowed values when there are at most this many.
NAMED_AT_MOST = 12


class ChoiceKind(StrEnum):
    COHORT = "COHORT"
    FORM_CLASS = "FORM_CLASS"

    @property
    def label(self) -> str:
        return "cohort" if self is ChoiceKind.COHORT else "form class"

    @property
    def plural(self) -> str:
        return "cohorts" if self is ChoiceKind.COHORT else "form classes"

    @property
    def column(self) -> str:
        """The patron column the list constrains."""
        return "cohort" if self is ChoiceKind.COHORT else "form_class"


# Patron column -> the kind of list that constrains it.
KIND_OF_COLUMN = {kind.column: kind for kind in ChoiceKind}


def key_of(value: str) -> str:
    return value.strip().lower()


def _natural(value: str) -> list[str | int]:
    """Sort key: "7A" before "10A", "2027" before "2028"."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", key_of(value))]


def in_order(rows: Iterable[PatronValueChoice]) -> list[PatronValueChoice]:
    return sorted(rows, key=lambda r: _natural(r.value))


async def choices_of(
    session: AsyncSession, institution_id: int, kind: ChoiceKind
) -> list[PatronValueChoice]:
    """The institution's listed values of one kind, in natural order."""
    rows = await session.execute(
        select(PatronValueChoice).where(
            col(PatronValueChoice.institution_id) == institution_id,
            col(PatronValueChoice.kind) == kind.value,
        )
    )
    return in_order(rows.scalars())


def listed_spelling(listed: Iterable[str], given: str) -> str | None:
    """The listed value that `given` names (case-insensitively), or None."""
    wanted = key_of(given)
    return next((value for value in listed if key_of(value) == wanted), None)


def not_listed(kind: ChoiceKind, given: str, institution_code: str, listed: list[str]) -> str:
    """Why a value is refused, naming the allowed values (or how many there are)."""
    if len(listed) <= NAMED_AT_MOST:
        allowed = f"choose one of {', '.join(listed)}"
    else:
        allowed = (
            f"choose one of its {len(listed)} {kind.plural} (Institution."
            f"{'cohorts' if kind is ChoiceKind.COHORT else 'formClasses'} lists them)"
        )
    return f"{given!r} is not a {kind.label} of {institution_code}: {allowed}."
