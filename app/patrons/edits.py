"""A patron edit being checked: the fields asked for, the state they lead to and the errors
found so far (app.patrons.validation runs the checks, one per group of fields)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ErrorCode, FieldError
from app.network.models import Institution
from app.patrons.lookups import Lookups, lookups_of
from app.patrons.state import PatronState

IDENTIFIER_LIMIT = 200

CONTROL_CHARACTERS = re.compile("[\x00-\x1f]")  # code points below 32
TEXT_LIMITS = {
    "given_name": 200,
    "middle_name": 200,
    "preferred_name": 200,
    "surname": 200,
    "username": 200,
    "phone": 50,
    "cohort": 50,
    "form_class": 50,
    "barcode": IDENTIFIER_LIMIT,
    "admin_system_id": IDENTIFIER_LIMIT,
}


def key_of(value: str | None) -> str | None:
    return value.strip().lower() if value else None


def _copy(current: PatronState) -> PatronState:
    return PatronState(
        scalars=dict(current.scalars),
        identifiers=dict(current.identifiers),
        contact_emails=list(current.contact_emails),
        library_groups=set(current.library_groups),
        system_groups=set(current.system_groups),
        libraries=set(current.libraries),
        has_password=current.has_password,
        attributes={k: list(v) for k, v in current.attributes.items()},
    )


@dataclass
class Edit:
    """One edit of one patron (``patron_id`` None: a new one) in its institution."""

    session: AsyncSession
    institution: Institution
    patron_id: int | None
    current: PatronState
    fields: dict[str, Any]
    account_type: str = "HOME"  # of the stored patron (a new one is HOME)
    state: PatronState = field(init=False)
    errors: list[FieldError] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = _copy(self.current)

    @property
    def institution_id(self) -> int:
        assert self.institution.id is not None
        return self.institution.id

    @property
    def scalars(self) -> dict[str, Any]:
        return self.state.scalars

    @property
    def lookups(self) -> Lookups:
        return lookups_of(self.session)

    def fail(self, code: ErrorCode, message: str, field: list[str]) -> None:
        self.errors.append(FieldError(code, message, field))

    def text(self, name: str) -> str | None:
        """The field's text, stripped (None if blank); too long or with control
        characters is an error."""
        value = self.fields[name]
        if value is None:
            return None
        value = str(value).strip()
        if not value:
            return None
        limit = TEXT_LIMITS.get(name, 200)
        if len(value) > limit:
            self.fail(ErrorCode.INVALID_INPUT, f"At most {limit} characters.", [name])
        if CONTROL_CHARACTERS.search(value):
            self.fail(ErrorCode.INVALID_INPUT, "Control characters are not allowed.", [name])
        return value
