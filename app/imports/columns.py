"""The CSV format: columns, cell values, and where a registry error points in the file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.errors import ErrorCode, FieldError

# CSV column -> registry field (see app/patrons/field_checks.py)
COLUMNS = {
    "admin_system_id": "admin_system_id",
    "username": "username",
    "password": "password",
    "barcode": "barcode",
    "given_name": "given_name",
    "middle_name": "middle_name",
    "preferred_name": "preferred_name",
    "surname": "surname",
    "primary_email": "primary_email",
    "contact_emails": "contact_emails",
    "phone": "phone",
    "enabled": "enabled",
    "staff_member": "is_staff",
    "generic_user": "is_generic",
    "cohort": "cohort",
    "form_class": "form_class",
    "home_library": "home_library",
    "user_group": "user_group",
    "expiry_date": "expiry_date",
    "library_groups": "library_groups",
    "system_groups": "system_groups",
}
ATTRIBUTE_PREFIX = "attribute:"
BOOLEAN_COLUMNS = {"enabled", "staff_member", "generic_user"}
LIST_COLUMNS = {"contact_emails", "library_groups", "system_groups"}
# Cells that may not be cleared with NULL (mandatory fields, or not clearable).
NOT_CLEARABLE = {"surname", "home_library", "enabled", "staff_member", "generic_user", "password"}
NULL = "NULL"

# Registry field -> CSV column, to point registry errors at the file: each column's field,
# and the network's other identifiers, which the file sets through admin_system_id.
FIELD_TO_COLUMN = {field: column for column, field in COLUMNS.items()} | {
    "identifiers": "admin_system_id"
}
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
TRUE = {"true", "yes", "y", "1"}
FALSE = {"false", "no", "n", "0"}


def check_header(header: list[str]) -> list[str]:
    """The columns, normalised; raises ValueError naming unknown or repeated columns."""
    columns = [
        h.strip().lower()
        if not h.strip().lower().startswith(ATTRIBUTE_PREFIX)
        else ATTRIBUTE_PREFIX + h.strip()[len(ATTRIBUTE_PREFIX) :].strip().upper()
        for h in header
    ]
    unknown = [
        c
        for c in columns
        if c not in COLUMNS
        and not (c.startswith(ATTRIBUTE_PREFIX) and len(c) > len(ATTRIBUTE_PREFIX))
    ]
    if unknown:
        known = ", ".join(COLUMNS)
        raise ValueError(
            f"Unknown column(s) {', '.join(repr(u) for u in unknown)}; the columns are {known} "
            "and attribute:<CODE>."
        )
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ValueError(f"Column(s) given twice: {', '.join(repeated)}.")
    return columns


@dataclass
class ParsedRow:
    fields: dict[str, Any]
    errors: list[tuple[str | None, ErrorCode, str]]


def parse_row(columns: list[str], cells: list[str]) -> ParsedRow:
    """Registry fields of one row: empty cells keep values, NULL clears optional ones."""
    row = ParsedRow(fields={}, errors=[])
    if len(cells) != len(columns):
        row.errors.append(
            (
                None,
                ErrorCode.INVALID_INPUT,
                f"The row has {len(cells)} cells; the header has {len(columns)} columns.",
            )
        )
        return row
    attributes: list[tuple[str, list[str]]] = []
    for column, raw in zip(columns, cells, strict=True):
        cell = raw.strip()
        if cell == "":
            continue
        if "\x00" in cell:
            # Never let a NUL byte reach the database (PostgreSQL refuses it mid-transaction).
            row.errors.append((column, ErrorCode.INVALID_INPUT, "The cell holds a NUL character."))
            continue
        if column.startswith(ATTRIBUTE_PREFIX):
            code = column[len(ATTRIBUTE_PREFIX) :]
            values = [] if cell == NULL else [v.strip() for v in cell.split(";") if v.strip()]
            attributes.append((code, values))
            continue
        field = COLUMNS[column]
        if cell == NULL:
            if column in NOT_CLEARABLE:
                row.errors.append((column, ErrorCode.INVALID_INPUT, f"{column} cannot be cleared."))
            else:
                row.fields[field] = [] if column in LIST_COLUMNS else None
            continue
        if column in BOOLEAN_COLUMNS:
            if cell.lower() in TRUE:
                row.fields[field] = True
            elif cell.lower() in FALSE:
                row.fields[field] = False
            else:
                row.errors.append(
                    (column, ErrorCode.INVALID_INPUT, f"Write true or false, not {cell!r}.")
                )
        elif column == "expiry_date":
            try:
                if not ISO_DATE.fullmatch(cell):
                    raise ValueError(cell)
                row.fields[field] = date.fromisoformat(cell)
            except ValueError:
                row.errors.append(
                    (
                        column,
                        ErrorCode.INVALID_INPUT,
                        f"Dates are written YYYY-MM-DD, not {cell!r}.",
                    )
                )
        elif column == "contact_emails":
            row.fields[field] = [
                (address.strip(), None) for address in cell.split(";") if address.strip()
            ]
        elif column in ("library_groups", "system_groups"):
            row.fields[field] = [v.strip() for v in cell.split(";") if v.strip()]
        else:
            row.fields[field] = cell
    if attributes:
        row.fields["attributes"] = attributes
    return row


def error_column(error: FieldError, attributes: list[tuple[str, list[str]]] | None) -> str | None:
    """The CSV column a registry error points at (its field, app.errors)."""
    if not error.field:
        return None
    name = error.field[0]
    if name == "attributes":
        if len(error.field) > 1 and attributes:
            index = int(error.field[1])
            if index < len(attributes):
                return ATTRIBUTE_PREFIX + attributes[index][0].upper()
        return None
    return FIELD_TO_COLUMN.get(name)
