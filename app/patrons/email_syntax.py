"""The syntax check of an e-mail address (email-validator; no DNS lookup), with the
library's check of the part after the @ remembered per domain.

Two thirds of `validate_email`'s time goes on the domain (character classes, UTS-46
mapping, IDNA), and an import of 100,000 patrons repeats a handful of domains 200,000
times. That step, `email_validator.syntax.validate_email_domain_name(domain,
test_environment, globally_deliverable)`, depends on nothing but its arguments (and the
library's list of special-use domains, which netzone never changes): its answers for
valid domains are kept (a bounded cache keyed on all three arguments); a domain it refuses
raises each time, as before. The rest of `validate_email` (the local part, the lengths of
the whole address, the normalised form) runs for every address as it did.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

from email_validator import EmailNotValidError, ValidatedEmail, validate_email
from email_validator import syntax as _syntax

__all__ = ["EmailNotValidError", "check_syntax"]

_validate_module = importlib.import_module("email_validator.validate_email")
_STEP = "validate_email_domain_name"  # the name validate_email calls the step by
if getattr(_validate_module, _STEP, None) is _syntax.validate_email_domain_name:
    setattr(_validate_module, _STEP, lru_cache(maxsize=4096)(_syntax.validate_email_domain_name))


def check_syntax(address: str) -> ValidatedEmail:
    """`validate_email` without deliverability (DNS) checks; EmailNotValidError if bad."""
    return validate_email(address, check_deliverability=False)
