"""Domain errors: one code enum shared by every capability."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    ATTRIBUTE_FORBIDDEN = "ATTRIBUTE_FORBIDDEN"
    CONFLICT = "CONFLICT"
    STALE_VERSION = "STALE_VERSION"
    DUPLICATE_USERNAME = "DUPLICATE_USERNAME"
    DUPLICATE_IDENTIFIER = "DUPLICATE_IDENTIFIER"
    PASSWORD_TOO_SHORT = "PASSWORD_TOO_SHORT"
    INVALID_EMAIL = "INVALID_EMAIL"
    MANDATORY_FIELD = "MANDATORY_FIELD"
    LOANS_OUTSTANDING = "LOANS_OUTSTANDING"
    PATRON_BLOCKED = "PATRON_BLOCKED"
    NOT_ALLOWED_TO_BORROW = "NOT_ALLOWED_TO_BORROW"
    SOURCE_NOT_FOUND = "SOURCE_NOT_FOUND"
    SOURCE_RESTRICTED = "SOURCE_RESTRICTED"
    AMBIGUOUS_IDENTIFIER = "AMBIGUOUS_IDENTIFIER"
    NAME_SEARCH_NOT_ALLOWED = "NAME_SEARCH_NOT_ALLOWED"
    DEFAULT_RULE_IMMUTABLE = "DEFAULT_RULE_IMMUTABLE"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    ACCOUNT_LOCKED = "ACCOUNT_LOCKED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"


class FieldError:
    """One expected failure: a code, a message for a librarian, and the field at fault.

    ``field`` names the field in the domain's terms: its snake_case names from the outside
    in, with list positions as digits, e.g. ``["primary_email"]`` or
    ``["attributes", "0", "values", "1"]``; ``[]`` is the request as a whole and None no
    one field. Each entry point says it in its own terms: the GraphQL layer as a path
    under the mutation's ``input`` (app.graphql.core.input_path), the importer as a CSV
    column (app.imports.columns.error_column).
    """

    __slots__ = ("code", "field", "message")

    def __init__(self, code: ErrorCode, message: str, field: Sequence[str] | None = None):
        self.code = code
        self.message = message
        self.field = list(field) if field is not None else None

    def __repr__(self) -> str:
        return f"FieldError({self.code.value}, {self.message!r}, {self.field!r})"


class DomainError(Exception):
    """An expected failure of a use-case; the transaction is rolled back."""

    def __init__(self, errors: FieldError | Sequence[FieldError]):
        self.errors = [errors] if isinstance(errors, FieldError) else list(errors)
        super().__init__("; ".join(e.message for e in self.errors))

    @classmethod
    def of(cls, code: ErrorCode, message: str, field: Sequence[str] | None = None) -> DomainError:
        return cls(FieldError(code, message, field))


class NotAuthenticated(Exception):
    """The request carries no valid credentials but the operation needs them."""
