"""The refusal of a patron edit made on a stale version (app.patrons.versions)."""

from __future__ import annotations

from app.errors import DomainError, ErrorCode
from app.patrons.versions import stale_version


def test_a_stale_version_is_refused_on_the_expected_version_with_what_to_do() -> None:
    refused = stale_version()
    assert isinstance(refused, DomainError)
    [error] = refused.errors
    assert error.code == ErrorCode.STALE_VERSION
    assert error.field == ["expected_version"]
    assert error.message == (
        "Someone else changed this patron after you opened it. "
        "Reload it and make your change again."
    )
    assert str(refused) == error.message
