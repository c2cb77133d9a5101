"""Checks of an attribute type's definition, shared by its creation and its changes: the
label, the authorised values, libraries and user groups named by code, the home-library rule.

Each check appends what is wrong to `errors` (with the input path) and returns the cleaned
value, so one request reports every problem at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from app.attributes.models import (
    AttributeAuthorisedValue,
    AttributeTypeExcludedGroup,
    AttributeTypeLibraryLimit,
    AttributeTypeRuleLibrary,
)
from app.errors import ErrorCode, FieldError
from app.network import service as network

LABEL_LIMIT = 200
VALUE_CODE_LIMIT = 80


def check_label(label: str, errors: list[FieldError]) -> str:
    value = label.strip()
    if not value:
        errors.append(FieldError(ErrorCode.MANDATORY_FIELD, "A label is required.", ["label"]))
    elif len(value) > LABEL_LIMIT:
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT,
                f"Labels are at most {LABEL_LIMIT} characters.",
                ["label"],
            )
        )
    return value


def check_authorised_values(
    values: list[tuple[str, str]], errors: list[FieldError]
) -> list[tuple[str, str]]:
    """The (code, label) pairs, trimmed; codes present, distinct and sendable."""
    authorised: list[tuple[str, str]] = []
    for index, (value_code, value_label) in enumerate(values):
        path = ["authorised_values", str(index)]
        value_code, value_label = value_code.strip(), value_label.strip()
        if not value_code or value_code in (c for c, _ in authorised):
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    "Value codes must be present and distinct.",
                    [*path, "code"],
                )
            )
        elif len(value_code) > VALUE_CODE_LIMIT or any(ord(c) < 32 for c in value_code):
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"Value codes are at most {VALUE_CODE_LIMIT} characters, "
                    "without control characters.",
                    [*path, "code"],
                )
            )
        if not value_label:
            errors.append(
                FieldError(ErrorCode.MANDATORY_FIELD, "Give the value a label.", [*path, "label"])
            )
        elif len(value_label) > LABEL_LIMIT:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"Labels are at most {LABEL_LIMIT} characters.",
                    [*path, "label"],
                )
            )
        authorised.append((value_code, value_label))
    return authorised


async def library_ids(
    session: AsyncSession,
    institution_id: int,
    codes: list[str],
    path: list[str],
    errors: list[FieldError],
) -> list[int]:
    """Ids of the institution's libraries named by code (each once), errors for the rest."""
    ids: list[int] = []
    for index, code in enumerate(codes):
        library = await network.library_by_code(session, code)
        if library is None or library.institution_id != institution_id:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"{code!r} is not a library of this institution.",
                    [*path, str(index)],
                )
            )
        elif library.id not in ids:
            ids.append(library.id)  # type: ignore[arg-type]
    return ids


async def user_group_ids(
    session: AsyncSession,
    institution_id: int,
    institution_code: str,
    codes: list[str],
    errors: list[FieldError],
) -> list[int]:
    """Ids of the institution's user groups named by code (each once), for the reports."""
    ids: list[int] = []
    for index, group_code in enumerate(codes):
        group = await network.user_group_by_code(session, institution_id, group_code)
        if group is None:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"{group_code!r} is not a user group of {institution_code}.",
                    ["excluded_user_groups", str(index)],
                )
            )
        elif group.id not in ids:
            ids.append(group.id)  # type: ignore[arg-type]
    return ids


@dataclass(frozen=True)
class CheckedRule:
    """A home-library rule as it will be stored."""

    libraries: list[int]
    in_scope_value: str
    out_of_scope_value: str


async def check_rule(
    session: AsyncSession,
    institution_id: int,
    libraries: list[str] | None,
    in_scope_value: str | None,
    out_of_scope_value: str | None,
    value_codes: list[str],
    errors: list[FieldError],
) -> CheckedRule:
    """The rule's libraries in scope and its two values (among `value_codes`, if any)."""
    if not libraries:
        errors.append(
            FieldError(
                ErrorCode.MANDATORY_FIELD,
                "Name the libraries whose patrons get the in-scope value.",
                ["rule", "libraries"],
            )
        )
    scope = await library_ids(
        session, institution_id, libraries or [], ["rule", "libraries"], errors
    )
    in_value = (in_scope_value or "").strip()
    out_value = (out_of_scope_value or "").strip()
    for name, value in (("in_scope_value", in_value), ("out_of_scope_value", out_value)):
        if not value:
            errors.append(FieldError(ErrorCode.MANDATORY_FIELD, "Give the value.", ["rule", name]))
        elif value_codes and value not in value_codes:
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"{value!r} is not one of the authorised values.",
                    ["rule", name],
                )
            )
        elif len(value) > VALUE_CODE_LIMIT or any(ord(c) < 32 for c in value):
            errors.append(
                FieldError(
                    ErrorCode.INVALID_INPUT,
                    f"Values are at most {VALUE_CODE_LIMIT} characters, "
                    "without control characters.",
                    ["rule", name],
                )
            )
    if in_value and in_value == out_value:
        errors.append(
            FieldError(
                ErrorCode.INVALID_INPUT,
                "The out-of-scope value must differ from the in-scope value.",
                ["rule", "out_of_scope_value"],
            )
        )
    return CheckedRule(scope, in_value, out_value)


async def write_settings(
    session: AsyncSession,
    type_id: int,
    *,
    authorised: list[tuple[str, str]] | None = None,
    limits: list[int] | None = None,
    rule_libraries: list[int] | None = None,
    excluded_groups: list[int] | None = None,
) -> None:
    """Replace the given settings of a type (None: left as they are)."""
    if authorised is not None:
        await _clear(session, AttributeAuthorisedValue, type_id)
        session.add_all(
            AttributeAuthorisedValue(
                attribute_type_id=type_id, code=code, label=label, position=position
            )
            for position, (code, label) in enumerate(authorised)
        )
    if limits is not None:
        await _clear(session, AttributeTypeLibraryLimit, type_id)
        session.add_all(
            AttributeTypeLibraryLimit(attribute_type_id=type_id, library_id=i) for i in limits
        )
    if rule_libraries is not None:
        await _clear(session, AttributeTypeRuleLibrary, type_id)
        session.add_all(
            AttributeTypeRuleLibrary(attribute_type_id=type_id, library_id=i)
            for i in rule_libraries
        )
    if excluded_groups is not None:
        await _clear(session, AttributeTypeExcludedGroup, type_id)
        session.add_all(
            AttributeTypeExcludedGroup(attribute_type_id=type_id, user_group_id=i)
            for i in excluded_groups
        )
    await session.flush()


SETTINGS_TABLES: tuple[Any, ...] = (
    AttributeAuthorisedValue,
    AttributeTypeLibraryLimit,
    AttributeTypeRuleLibrary,
    AttributeTypeExcludedGroup,
)


async def _clear(session: AsyncSession, model: Any, type_id: int) -> None:
    await session.execute(delete(model).where(model.attribute_type_id == type_id))
