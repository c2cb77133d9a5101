"""A linked account rule's parts, evaluated from plain data (app.linking.evaluation):
whether a condition holds for a source patron, and the dates a rule gives a copy."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.linking.evaluation import condition_holds, expiry_for, purge_for
from app.linking.models import LinkedAccountRule

SOURCE_EXPIRY = date(2027, 6, 30)


def condition(parameter: str, operator: str, *values: str) -> dict[str, Any]:
    return {"parameter": parameter, "operator": operator, "values": list(values)}


def rule(**fields: Any) -> LinkedAccountRule:
    return LinkedAccountRule(institution_id=1, name="rule", position=0, user_group_id=1, **fields)


@pytest.mark.parametrize(
    ("operator", "values", "holds"),
    [
        ("EQUALS", ["NEKLS"], True),
        ("EQUALS", ["EASTERN"], False),
        ("NOT_EQUALS", ["EASTERN"], True),
        ("NOT_EQUALS", ["NEKLS"], False),
        ("IN_LIST", ["EASTERN", "NEKLS"], True),
        ("IN_LIST", ["EASTERN", "WESTERN"], False),
        ("NOT_IN_LIST", ["EASTERN", "WESTERN"], True),
        ("NOT_IN_LIST", ["EASTERN", "NEKLS"], False),
    ],
)
def test_a_condition_on_the_source_institution(
    operator: str, values: list[str], holds: bool
) -> None:
    assert (
        condition_holds(condition("SOURCE_INSTITUTION", operator, *values), "NEKLS", "ADULT")
        is holds
    )


def test_a_condition_on_the_source_user_group() -> None:
    adults = condition("SOURCE_USER_GROUP", "EQUALS", "ADULT")
    assert condition_holds(adults, "NEKLS", "ADULT")
    assert not condition_holds(adults, "NEKLS", "CHILD")


def test_a_patron_without_a_user_group_matches_no_group() -> None:
    assert not condition_holds(
        condition("SOURCE_USER_GROUP", "IN_LIST", "ADULT", "CHILD"), "NEKLS", None
    )
    assert condition_holds(condition("SOURCE_USER_GROUP", "NOT_EQUALS", "ADULT"), "NEKLS", None)


def test_expiry_absolute_same_as_source_or_relative_to_it() -> None:
    assert expiry_for(
        rule(expiry_mode="ABSOLUTE", expiry_date=date(2026, 12, 31)), SOURCE_EXPIRY
    ) == date(2026, 12, 31)
    assert expiry_for(rule(expiry_mode="SAME_AS_SOURCE"), SOURCE_EXPIRY) == SOURCE_EXPIRY
    assert expiry_for(rule(expiry_mode="SAME_AS_SOURCE"), None) is None
    relative = rule(expiry_mode="RELATIVE_TO_SOURCE", expiry_offset_days=-30)
    assert expiry_for(relative, SOURCE_EXPIRY) == date(2027, 5, 31)
    assert expiry_for(rule(expiry_mode="RELATIVE_TO_SOURCE"), SOURCE_EXPIRY) == SOURCE_EXPIRY


def test_no_expiry_without_a_mode_or_without_a_source_date_to_count_from() -> None:
    assert expiry_for(rule(), SOURCE_EXPIRY) is None
    assert expiry_for(rule(expiry_mode="RELATIVE_TO_SOURCE", expiry_offset_days=30), None) is None


def test_purge_after_expiry_counts_from_the_copys_expiry() -> None:
    after = rule(purge_mode="AFTER_EXPIRY", purge_offset_days=90)
    assert purge_for(after, date(2027, 1, 1)) == date(2027, 4, 1)
    assert purge_for(rule(purge_mode="AFTER_EXPIRY"), date(2027, 1, 1)) == date(2027, 1, 1)


def test_an_absolute_purge_date_is_never_before_the_expiry() -> None:
    fixed = rule(purge_mode="ABSOLUTE", purge_date=date(2027, 3, 1))
    assert purge_for(fixed, date(2027, 1, 1)) == date(2027, 3, 1)
    assert purge_for(fixed, date(2027, 9, 1)) == date(2027, 9, 1)


def test_a_copy_that_never_expires_is_never_purged() -> None:
    assert purge_for(rule(purge_mode="AFTER_EXPIRY", purge_offset_days=90), None) is None
    assert purge_for(rule(purge_mode="ABSOLUTE", purge_date=date(2027, 3, 1)), None) is None
    assert purge_for(rule(), date(2027, 1, 1)) is None
