"""Inputs of the network structure, institution set-up and value list mutations."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload

from app.graphql.network.types import PatronValueKind


@strawberry.input(description="A value to add to one of an institution's lists.")
class AddPatronValueChoiceInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    kind: PatronValueKind = strawberry.field(description="The list: cohorts or form classes.")
    value: str = strawberry.field(
        description="At most 50 characters, e.g. 2027 or 7A; unique in the list whatever its case."
    )
    description: str | None = strawberry.field(
        default=None, description="What the value means; at most 200 characters."
    )


@strawberry.input(description="A value to remove from one of an institution's lists.")
class RemovePatronValueChoiceInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    kind: PatronValueKind = strawberry.field(description="The list: cohorts or form classes.")
    value: str = strawberry.field(description="The listed value (in any case).")
    replace_with: str | None = strawberry.field(
        default=None,
        description="Another listed value of the same kind: the patrons that hold the "
        "removed one get it, in the same transaction. Without it, a value patrons hold is "
        "not removed.",
    )


@strawberry.input(
    description="A CSV with the columns kind (COHORT or FORM_CLASS), value and, optionally, "
    "description."
)
class ImportPatronValueChoicesInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    file: Upload = strawberry.field(description="The CSV, as a multipart upload.")
    dry_run: bool = strawberry.field(description="Check every line without writing anything.")


@strawberry.input(description="A new member institution.")
class CreateInstitutionInput:
    code: str = strawberry.field(
        description="Network-unique code, e.g. NEKLS (1 to 40 letters, digits, - or _; "
        "stored upper-case); it never changes."
    )
    name: str = strawberry.field(description="Display name.")


@strawberry.input(description="A new library of an institution.")
class CreateLibraryInput:
    institution: str = strawberry.field(description="Code of the institution.")
    code: str = strawberry.field(
        description="Network-unique code, e.g. LANSING (1 to 40 letters, digits, - or _; "
        "stored upper-case); it never changes."
    )
    name: str = strawberry.field(description="Display name.")


@strawberry.input(description="A new network-wide identifier type.")
class CreateIdentifierTypeInput:
    code: str = strawberry.field(
        description="Code, e.g. UNIV_ID (1 to 40 letters, digits, - or _; stored "
        "upper-case); it never changes."
    )
    name: str = strawberry.field(description="Display name.")
    network_unique: bool = strawberry.field(
        default=False,
        description="Values must be unique across the whole network (a consortial ID); "
        "default false.",
    )


@strawberry.input(description="A new user group of an institution.")
class CreateUserGroupInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    code: str = strawberry.field(
        description="Code, unique in the institution, e.g. ADULT (1 to 40 letters, "
        "digits, - or _; stored upper-case)."
    )
    name: str = strawberry.field(description="Display name.")
    loan_period_days: int = strawberry.field(
        default=14, description="Default loan period, in days (1 to 3650); default 14."
    )


@strawberry.input(description="A new library group of an institution.")
class CreateLibraryGroupInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    name: str = strawberry.field(description="Name, unique in the institution, e.g. Teachers.")
    description: str | None = strawberry.field(
        default=None, description="What the group is for; optional."
    )


@strawberry.input(description="A new block type of an institution.")
class CreateBlockTypeInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    code: str = strawberry.field(
        description="Code, unique in the institution (1 to 40 letters, digits, - or _; "
        "stored upper-case)."
    )
    description: str = strawberry.field(description="What the block means.")
    network: bool = strawberry.field(
        default=False,
        description="Copied to linked accounts by rules with copyNetworkBlocks; default false.",
    )
    blocks_loans: bool = strawberry.field(
        default=True, description="Patrons with this block cannot borrow; default true."
    )


REPLACE_WITH = "Move what uses it to this one (same institution) before removing it."


@strawberry.input(description="What to change; fields left out keep their value.")
class UpdateInstitutionInput:
    code: str = strawberry.field(description="The institution; codes never change.")
    name: str | None = strawberry.field(default=None, description="New display name.")


@strawberry.input(description="What to change; fields left out keep their value.")
class UpdateLibraryInput:
    code: str = strawberry.field(description="The library; codes never change.")
    name: str | None = strawberry.field(default=None, description="New display name.")


@strawberry.input(description="What to change; fields left out keep their value.")
class UpdateIdentifierTypeInput:
    code: str = strawberry.field(description="The identifier type; codes never change.")
    name: str | None = strawberry.field(default=None, description="New display name.")
    network_unique: bool | None = strawberry.field(
        default=None,
        description="Values must be unique across the whole network (a consortial ID).",
    )


@strawberry.input(description="What to change; fields left out keep their value.")
class UpdateUserGroupInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    code: str = strawberry.field(description="The user group; codes never change.")
    name: str | None = strawberry.field(default=None, description="New display name.")
    loan_period_days: int | None = strawberry.field(
        default=None, description="New default loan period, in days (1 to 3650)."
    )


@strawberry.input(description="What to change; fields left out keep their value.")
class UpdateLibraryGroupInput:
    id: strawberry.ID = strawberry.field(description="Id of the library group.")
    name: str | None = strawberry.field(
        default=None, description="New name, unique in the institution."
    )
    description: str | None = strawberry.field(
        default=None, description="What the group is for; an empty string clears it."
    )


@strawberry.input(description="What to change; fields left out keep their value.")
class UpdateBlockTypeInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    code: str = strawberry.field(description="The block type; codes never change.")
    description: str | None = strawberry.field(default=None, description="What the block means.")
    network: bool | None = strawberry.field(
        default=None, description="Copied to linked accounts by rules with copyNetworkBlocks."
    )
    blocks_loans: bool | None = strawberry.field(
        default=None, description="Patrons with this block cannot borrow."
    )


@strawberry.input(description="An institution to remove.")
class RemoveInstitutionInput:
    code: str = strawberry.field(description="Code of the institution.")


@strawberry.input(description="A library to remove.")
class RemoveLibraryInput:
    code: str = strawberry.field(description="Code of the library.")
    replace_with: str | None = strawberry.field(default=None, description=REPLACE_WITH)


@strawberry.input(description="An identifier type to remove.")
class RemoveIdentifierTypeInput:
    code: str = strawberry.field(description="Code of the identifier type.")


@strawberry.input(description="A user group to remove.")
class RemoveUserGroupInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    code: str = strawberry.field(description="Code of the user group.")
    replace_with: str | None = strawberry.field(default=None, description=REPLACE_WITH)


@strawberry.input(description="A library group to remove.")
class RemoveLibraryGroupInput:
    id: strawberry.ID = strawberry.field(description="Id of the library group.")
    replace_with: strawberry.ID | None = strawberry.field(default=None, description=REPLACE_WITH)


@strawberry.input(description="A block type to remove.")
class RemoveBlockTypeInput:
    institution: str = strawberry.field(description="Code of the institution (SYSTEM_ADMIN there).")
    code: str = strawberry.field(description="Code of the block type.")
    replace_with: str | None = strawberry.field(default=None, description=REPLACE_WITH)
