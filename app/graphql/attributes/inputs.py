"""Inputs of the attribute mutations."""

from __future__ import annotations

import strawberry


@strawberry.input(description="Patrons to bring in line with a type's home-library rule.")
class ApplyAttributeRuleInput:
    attribute_type: str = strawberry.field(
        description="Code of an attribute type with a home-library rule, which your "
        "session may change."
    )
    patron_ids: list[strawberry.ID] = strawberry.field(
        description="Ids of the patrons (e.g. from attributeDiscrepancies)."
    )


@strawberry.input(description="An allowed value of a new attribute type.")
class AuthorisedValueInput:
    code: str = strawberry.field(description="Code stored on patrons, e.g. ALLOWED.")
    label: str = strawberry.field(description="Display label, e.g. Allowed.")


@strawberry.input(description="The home-library rule of a new attribute type.")
class AttributeRuleInput:
    libraries: list[str] = strawberry.field(description="Library codes in scope, e.g. [LANSING].")
    in_scope_value: str = strawberry.field(
        description="Value code for patrons whose home library is in scope, e.g. ALLOWED."
    )
    out_of_scope_value: str = strawberry.field(
        description="Value code for the other patrons, e.g. NOT_ALLOWED."
    )
    apply_for_all_sessions: bool = strawberry.field(
        default=False,
        description="Apply the rule on every creation and home-library change, whoever "
        "makes it; otherwise only sessions allowed to see the type do (the "
        "rest show up in the discrepancy report).",
    )


@strawberry.input(description="A new attribute type (SYSTEM_ADMIN of the institution).")
class CreateAttributeTypeInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    code: str = strawberry.field(
        description="Code, unique in the institution, e.g. KANOPY; it never changes."
    )
    label: str = strawberry.field(description="Display name, e.g. Kanopy (LANSING).")
    authorised_values: list[AuthorisedValueInput] = strawberry.field(
        default_factory=list, description="Allowed values; empty: free text."
    )
    repeatable: bool = strawberry.field(
        default=False, description="A patron may hold several values."
    )
    unique: bool = strawberry.field(
        default=False, description="A value may belong to one patron only."
    )
    mandatory: bool = strawberry.field(
        default=False,
        description="Every patron must have a value (enforced for sessions allowed to see "
        ""
        "the type).",
    )
    library_limits: list[str] = strawberry.field(
        default_factory=list,
        description="Codes of the libraries whose sessions may see and change values; "
        "empty: every library of the institution.",
    )
    excluded_user_groups: list[str] = strawberry.field(
        default_factory=list,
        description="Codes of user groups the discrepancy reports leave out, e.g. STAFF.",
    )
    rule: AttributeRuleInput | None = strawberry.field(
        default=None, description="The home-library rule; omitted: none."
    )


TARGET = (
    "Name the type by id, or by institution and code (codes never change: they are keys in "
    "CSV files, attribute:<CODE> scopes and SIP field policies)."
)


@strawberry.input(description=f"What to change; fields left out keep their value. {TARGET}")
class UpdateAttributeTypeInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="Id of the type.")
    institution: str | None = strawberry.field(
        default=None, description="Code of the type's institution, with `code`."
    )
    code: str | None = strawberry.field(
        default=None, description="Code of the type, with `institution`."
    )
    label: str | None = strawberry.field(default=None, description="New display name.")
    authorised_values: list[AuthorisedValueInput] | None = strawberry.field(
        default=None,
        description="Replaces the list; a value patrons hold (or the rule gives) must stay. "
        "Empty: free text.",
    )
    repeatable: bool | None = strawberry.field(
        default=None, description="A patron may hold several values."
    )
    unique: bool | None = strawberry.field(
        default=None, description="A value may belong to one patron only."
    )
    mandatory: bool | None = strawberry.field(
        default=None,
        description="Every patron must have a value (enforced for sessions allowed to see "
        ""
        "the type).",
    )
    library_limits: list[str] | None = strawberry.field(
        default=None,
        description="Replaces the limits (library codes). Refused while API clients or SIP "
        "accounts of a library left out carry the type. An empty list is refused: use "
        "allLibraries.",
    )
    all_libraries: bool = strawberry.field(
        default=False,
        description="Remove the limits: every library of the institution may see and change "
        "values (wider access, so only on this explicit request).",
    )
    excluded_user_groups: list[str] | None = strawberry.field(
        default=None, description="Replaces the user groups the reports leave out."
    )
    rule: AttributeRuleInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces the home-library rule; null removes it, left out keeps it.",
    )


@strawberry.input(description=f"The attribute type to remove. {TARGET}")
class RemoveAttributeTypeInput:
    id: strawberry.ID | None = strawberry.field(default=None, description="Id of the type.")
    institution: str | None = strawberry.field(
        default=None, description="Code of the type's institution, with `code`."
    )
    code: str | None = strawberry.field(
        default=None, description="Code of the type, with `institution`."
    )
    delete_values: bool = strawberry.field(
        default=False,
        description="Delete the patrons' values with the type (audited on each patron); "
        "without it, a type patrons have values for stays.",
    )
