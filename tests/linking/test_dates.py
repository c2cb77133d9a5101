"""Expiry and purge dates of linked accounts: set on link, recomputed on refresh only when
the rule says so or the linked account has expired; the user group re-applied only then."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.linking import Net, day, eastern_only

# The EASTERN source expires in 400 days; its librarian later moves that to 500.
SOURCE_EXPIRY = 400
NEW_SOURCE_EXPIRY = 500

EXPIRY_MODES: dict[str, tuple[dict[str, Any], int | None, int | None]] = {
    # mode: (rule output, expiry at link, expiry once recomputed after the source change)
    "NONE": ({"mode": "NONE"}, None, None),
    "ABSOLUTE": ({"mode": "ABSOLUTE", "date": day(200)}, 200, 200),
    "SAME_AS_SOURCE": ({"mode": "SAME_AS_SOURCE"}, SOURCE_EXPIRY, NEW_SOURCE_EXPIRY),
    "RELATIVE_TO_SOURCE": (
        {"mode": "RELATIVE_TO_SOURCE", "offsetDays": -30},
        SOURCE_EXPIRY - 30,
        NEW_SOURCE_EXPIRY - 30,
    ),
}


def maybe_day(offset: int | None) -> str | None:
    return None if offset is None else day(offset)


async def link_under(net: Net, n: int, **rule: Any) -> dict[str, Any]:
    """WESTERN links EASTERN source n under a first rule with these outputs."""
    await net.first_rule(
        "western.admin", "WESTERN", f"Dates {n}", conditions=eastern_only(), **rule
    )
    await net.eastern_source(n, expiryDate=day(SOURCE_EXPIRY))
    return await net.find_and_link("western.librarian", f"TEST-EU{n:04d}")


async def source_expires_later(net: Net, n: int) -> None:
    """EASTERN's librarian changes the source's expiry (live propagation refreshes copies)."""
    source = await net.source_of("eastern.admin", f"Sourcefield{n}")
    await net.update("eastern.admin", source, expiryDate=day(NEW_SOURCE_EXPIRY))


async def expire(net: Net, copy: dict[str, Any]) -> None:
    """A WESTERN librarian sets the linked account's expiry to yesterday."""
    await net.update("western.librarian", copy, expiryDate=day(-1))


@pytest.mark.parametrize("mode", list(EXPIRY_MODES))
async def test_expiry_is_set_on_link_and_kept_without_refresh_expiry_date(
    net: Net, mode: str
) -> None:
    output, at_link, _ = EXPIRY_MODES[mode]
    # Given a copy linked under a rule with this expiry mode and no refresh flag
    copy = await link_under(net, 1, expiry=output)
    assert copy["expiryDate"] == maybe_day(at_link)
    # When the source's expiry changes and the copy is refreshed
    await source_expires_later(net, 1)
    after_change = await net.read("western.librarian", copy["id"])
    refreshed = await net.refresh("western.librarian", copy["id"])
    # Then the linked account keeps its expiry date
    assert after_change is not None
    assert after_change["expiryDate"] == refreshed["expiryDate"] == maybe_day(at_link)


@pytest.mark.parametrize("mode", list(EXPIRY_MODES))
async def test_refresh_expiry_date_recomputes_the_expiry(net: Net, mode: str) -> None:
    output, at_link, recomputed = EXPIRY_MODES[mode]
    # Given a copy linked under a rule with this expiry mode that refreshes the expiry
    copy = await link_under(net, 2, expiry=output, refreshExpiryDate=True)
    assert copy["expiryDate"] == maybe_day(at_link)
    # When the source's expiry changes (live propagation refreshes the copy at once)
    await source_expires_later(net, 2)
    after_change = await net.read("western.librarian", copy["id"])
    # Then the expiry follows the rule again, and a refresh keeps it so
    assert after_change is not None
    assert after_change["expiryDate"] == maybe_day(recomputed)
    refreshed = await net.refresh("western.librarian", copy["id"])
    assert refreshed["expiryDate"] == maybe_day(recomputed)


@pytest.mark.parametrize("mode", list(EXPIRY_MODES))
@pytest.mark.parametrize("refresh_flag", [False, True])
async def test_an_expired_linked_account_gets_its_expiry_recomputed(
    net: Net, mode: str, refresh_flag: bool
) -> None:
    output, at_link, recomputed = EXPIRY_MODES[mode]
    # Given a copy whose target librarian let it expire yesterday
    copy = await link_under(net, 3, expiry=output, refreshExpiryDate=refresh_flag)
    await expire(net, copy)
    expired = await net.read("western.librarian", copy["id"])
    assert expired is not None
    assert expired["expiryDate"] == day(-1)
    # When it is refreshed
    refreshed = await net.refresh("western.librarian", copy["id"])
    # Then the expiry is recomputed from the current source, whatever the flag
    assert refreshed["expiryDate"] == maybe_day(at_link)
    # And again after the source's expiry changed, once it has expired again
    await expire(net, refreshed)
    await source_expires_later(net, 3)
    after = await net.read("western.librarian", copy["id"])
    assert after is not None
    assert after["expiryDate"] == maybe_day(recomputed)


PURGE_MODES: dict[str, tuple[dict[str, Any], Any]] = {
    # mode: (rule output, purge date from a linked expiry offset)
    "NONE": ({"mode": "NONE"}, lambda expiry: None),
    "ABSOLUTE": ({"mode": "ABSOLUTE", "date": day(900)}, lambda expiry: 900),
    "AFTER_EXPIRY": (
        {"mode": "AFTER_EXPIRY", "offsetDays": 45},
        lambda expiry: None if expiry is None else expiry + 45,
    ),
}


@pytest.mark.parametrize("mode", list(PURGE_MODES))
@pytest.mark.parametrize("refresh_flag", [False, True])
async def test_purge_date_on_link_and_on_refresh_of_a_fresh_account(
    net: Net, mode: str, refresh_flag: bool
) -> None:
    output, purge = PURGE_MODES[mode]
    # Given a copy that follows the source's expiry, with this purge mode
    copy = await link_under(
        net,
        4,
        expiry={"mode": "SAME_AS_SOURCE"},
        refreshExpiryDate=True,
        purge=output,
        refreshPurgeDate=refresh_flag,
    )
    assert copy["expiryDate"] == day(SOURCE_EXPIRY)
    assert copy["purgeDate"] == maybe_day(purge(SOURCE_EXPIRY))
    # When the source's expiry changes (so the linked expiry does too) and it is refreshed
    await source_expires_later(net, 4)
    refreshed = await net.refresh("western.librarian", copy["id"])
    # Then the purge date is recomputed with refreshPurgeDate, and without it only when
    # the new expiry has moved past it (never purged while still valid)
    assert refreshed["expiryDate"] == day(NEW_SOURCE_EXPIRY)
    kept = purge(SOURCE_EXPIRY)
    overtaken = kept is not None and kept < NEW_SOURCE_EXPIRY
    expected = purge(NEW_SOURCE_EXPIRY) if refresh_flag or overtaken else kept
    assert refreshed["purgeDate"] == maybe_day(expected)
    if mode == "AFTER_EXPIRY" and not refresh_flag:
        assert refreshed["purgeDate"] == day(NEW_SOURCE_EXPIRY + 45)


@pytest.mark.parametrize("mode", ["NONE", "AFTER_EXPIRY"])
async def test_purge_after_an_absent_expiry(net: Net, mode: str) -> None:
    output, purge = PURGE_MODES[mode]
    # Given a rule that gives no expiry date
    copy = await link_under(net, 5, expiry={"mode": "NONE"}, purge=output)
    # Then AFTER_EXPIRY has nothing to count from
    assert copy["expiryDate"] is None
    assert copy["purgeDate"] == maybe_day(purge(None))


@pytest.mark.parametrize("mode", list(PURGE_MODES))
async def test_an_expired_linked_account_gets_its_purge_date_recomputed(
    net: Net, mode: str
) -> None:
    output, purge = PURGE_MODES[mode]
    # Given a copy (expiry 30 days before the source's) whose purge date is never refreshed
    copy = await link_under(
        net, 6, expiry={"mode": "RELATIVE_TO_SOURCE", "offsetDays": -30}, purge=output
    )
    assert copy["purgeDate"] == maybe_day(purge(SOURCE_EXPIRY - 30))
    # When the target librarian lets it expire and it is refreshed
    await expire(net, copy)
    refreshed = await net.refresh("western.librarian", copy["id"])
    # Then both dates are recomputed
    assert refreshed["expiryDate"] == day(SOURCE_EXPIRY - 30)
    assert refreshed["purgeDate"] == maybe_day(purge(SOURCE_EXPIRY - 30))


async def test_an_absolute_date_changed_on_the_rule_reaches_copies_that_refresh_it(
    net: Net,
) -> None:
    # Given a rule with an absolute expiry and purge date, both refreshed
    copy = await link_under(
        net,
        7,
        expiry={"mode": "ABSOLUTE", "date": day(200)},
        purge={"mode": "ABSOLUTE", "date": day(250)},
        refreshExpiryDate=True,
        refreshPurgeDate=True,
    )
    rule = (await net.rules("western.admin", "WESTERN"))[0]
    assert (copy["expiryDate"], copy["purgeDate"]) == (day(200), day(250))
    # When the admin moves the dates
    payload = await net.update_rule_payload(
        "western.admin",
        id=rule["id"],
        expiry={"mode": "ABSOLUTE", "date": day(220)},
        purge={"mode": "ABSOLUTE", "date": day(260)},
    )
    assert payload["errors"] == []
    # Then the next refresh gives the new dates
    refreshed = await net.refresh("western.librarian", copy["id"])
    assert (refreshed["expiryDate"], refreshed["purgeDate"]) == (day(220), day(260))


async def test_user_group_is_reapplied_only_when_the_linked_account_has_expired(
    net: Net,
) -> None:
    # Given a copy linked as WALKIN
    copy = await link_under(
        net, 8, userGroup="WALKIN", expiry={"mode": "ABSOLUTE", "date": day(50)}
    )
    assert copy["userGroup"] == {"code": "WALKIN"}
    rule = (await net.rules("western.admin", "WESTERN"))[0]
    # When the rule now gives COMMUNITY and the target librarian made the copy FACULTY
    payload = await net.update_rule_payload("western.admin", id=rule["id"], userGroup="COMMUNITY")
    assert payload["errors"] == []
    await net.update("western.librarian", copy, userGroup="FACULTY")
    # Then refreshing the fresh copy keeps its group (and its expiry)
    refreshed = await net.refresh("western.librarian", copy["id"])
    assert (refreshed["userGroup"], refreshed["expiryDate"]) == ({"code": "FACULTY"}, day(50))
    # And linking again changes nothing either
    relinked = await net.link("western.librarian", copy["linkedFrom"]["ref"])
    assert relinked["created"] is False
    assert relinked["linkedAccount"]["userGroup"] == {"code": "FACULTY"}
    # When it has expired and is refreshed
    await expire(net, refreshed)
    refreshed = await net.refresh("western.librarian", copy["id"])
    # Then the rule's group is applied again
    assert (refreshed["userGroup"], refreshed["expiryDate"]) == ({"code": "COMMUNITY"}, day(50))


async def test_an_expired_linked_account_is_evaluated_again(net: Net) -> None:
    # Given a copy made under a first rule for EASTERN
    copy = await link_under(
        net, 9, userGroup="WALKIN", expiry={"mode": "ABSOLUTE", "date": day(60)}
    )
    assert copy["linkedFrom"]["rule"] == {"name": "Dates 9"}
    # When a new first rule now matches, and the copy expires and is refreshed
    await net.first_rule(
        "western.admin",
        "WESTERN",
        "Newer",
        conditions=eastern_only(),
        userGroup="COMMUNITY",
        expiry={"mode": "SAME_AS_SOURCE"},
        purge={"mode": "AFTER_EXPIRY", "offsetDays": 1},
    )
    fresh = await net.refresh("western.librarian", copy["id"])
    assert fresh["linkedFrom"]["rule"] == {"name": "Dates 9"}
    await expire(net, fresh)
    refreshed = await net.refresh("western.librarian", copy["id"])
    # Then the newer rule applies: its group and its dates
    assert refreshed["linkedFrom"]["rule"] == {"name": "Newer"}
    assert (refreshed["userGroup"], refreshed["expiryDate"], refreshed["purgeDate"]) == (
        {"code": "COMMUNITY"},
        day(SOURCE_EXPIRY),
        day(SOURCE_EXPIRY + 1),
    )
