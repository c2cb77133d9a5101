"""Importing an institution's lists of cohorts and form classes from CSV (SYSTEM_ADMIN).

The columns are `kind` (COHORT or FORM_CLASS), `value` and, optionally, `description`.
Values not listed yet are added; a listed value (matched case-insensitively) keeps its
spelling and takes the row's description when one is given. Nothing is removed: a
value patrons hold is removed with removePatronValueChoice. Every problem is reported
with its line and column, and the file is written all or nothing.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.policy import Actor
from app.errors import DomainError, ErrorCode, FieldError
from app.imports.extras import csv_reader
from app.network import choices
from app.network.choice_lists import ChoiceKind, choices_of, key_of
from app.network.models import PatronValueChoice
from app.network.service import administered_institution
from app.sql import saved_id

COLUMNS = ("kind", "value", "description")
KINDS = {"cohort": ChoiceKind.COHORT, "form_class": ChoiceKind.FORM_CLASS}


@dataclass
class ChoiceImportResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (where, code, message)
    dry_run: bool = True

    @property
    def written(self) -> bool:
        return not self.problems and not self.dry_run


def _rows(content: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank rows with their line numbers."""
    reader = csv_reader(content)
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        rows = [(reader.line_num, cells) for cells in reader if any(c.strip() for c in cells)]
    except csv.Error as exc:
        raise DomainError.of(
            ErrorCode.INVALID_INPUT, f"The file is not valid CSV: {exc}.", ["file"]
        ) from exc
    if sorted(header) not in (["kind", "value"], ["description", "kind", "value"]):
        raise DomainError.of(
            ErrorCode.INVALID_INPUT,
            "The columns are kind, value and (optionally) description.",
            ["file"],
        )
    return header, rows


async def import_choices(
    *, session: AsyncSession, actor: Actor, institution_code: str, content: bytes, dry_run: bool
) -> ChoiceImportResult:
    """Add cohorts and form classes to an institution's lists from CSV (SYSTEM_ADMIN)."""
    institution = await administered_institution(
        session, actor, institution_code, "change its lists of cohorts and form classes"
    )
    header, rows = _rows(content)
    result = ChoiceImportResult(dry_run=dry_run)
    listed: dict[tuple[ChoiceKind, str], PatronValueChoice] = {
        (kind, row.value_key): row
        for kind in ChoiceKind
        for row in await choices_of(session, saved_id(institution), kind)
    }
    seen: dict[tuple[ChoiceKind, str], int] = {}
    for line, cells in rows:
        where = f"line {line}"
        if len(cells) != len(header):
            result.problems.append(
                (
                    where,
                    ErrorCode.INVALID_INPUT.value,
                    f"The row has {len(cells)} cells; the header has {len(header)} columns.",
                )
            )
            continue
        row = dict(zip(header, cells, strict=True))
        kind = KINDS.get(row["kind"].strip().lower().replace(" ", "_"))
        errors: list[FieldError] = []
        value = choices.check_value(row["value"], ["value"], errors)
        description = choices.check_description(row.get("description"), ["description"], errors)
        if kind is None:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"The kind is COHORT or FORM_CLASS, not {row['kind'].strip()!r}.",
                    ["kind"],
                )
            )
        for error in errors:
            column = error.field[0] if error.field else None
            result.problems.append((f"{where}, column {column}", error.code.value, error.message))
        if errors or kind is None:
            continue
        key = (kind, key_of(value))
        if key in seen:
            result.problems.append(
                (
                    f"{where}, column value",
                    ErrorCode.INVALID_INPUT.value,
                    f"The {kind.label} {value!r} is given twice (first on line {seen[key]}).",
                )
            )
            continue
        seen[key] = line
        existing = listed.get(key)
        if existing is None:
            await choices.stage_choice(
                session=session,
                actor=actor,
                institution=institution,
                kind=kind,
                value=value,
                description=description,
                action="import_patron_value_choice",
            )
            result.added += 1
        elif description is not None and description != existing.description:
            await audit.record(
                session=session,
                actor=actor,
                action="import_patron_value_choice",
                entity_type="PatronValueChoice",
                entity_id=existing.id,
                institution_id=institution.id,
                changes={"description": {"before": existing.description, "after": description}},
            )
            existing.description = description
            result.updated += 1
        else:
            result.unchanged += 1
    if result.written:
        await session.commit()
    else:
        await session.rollback()
    return result
