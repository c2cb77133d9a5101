"""The email check: flags invalid or blacklisted addresses, alerts institutions until fixed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.policy import Actor, system_actor
from app.auth.roles import SystemGroup
from app.db import Database
from app.emails.check import EmailCheckResult, check_emails
from app.errors import DomainError
from tests.support.emails import BLACKLISTED, INVALID, EmailApi, email_state, institution_alert
from tests.support.graphql import GraphQL
from tests.support.ids import patron_pk

NO_ALERT = {"alerts": [], "emailServiceEnabled": True}


def result(checked: int, **fields: Any) -> EmailCheckResult:
    values: dict[str, Any] = {
        "newly_flagged": 0,
        "cleared": 0,
        "flagged": 0,
        "disabled": [],
        "alerted": [],
        "resolved": [],
        **fields,
    }
    return EmailCheckResult(checked=checked, **values)


async def _emails(connection: AsyncConnection) -> int:
    """Patrons with a primary email (what the check reports as checked)."""
    count = await connection.execute(
        text("SELECT count(*) FROM patron WHERE primary_email IS NOT NULL")
    )
    return int(count.scalar_one())


async def _set_email(connection: AsyncConnection, patron_id: str, address: str | None) -> None:
    """Store an address the API would refuse (or change it behind the API's back)."""
    await connection.execute(
        text("UPDATE patron SET primary_email = :address WHERE id = :id"),
        {"address": address, "id": patron_pk(patron_id)},
    )


async def test_the_demo_network_has_nothing_to_flag(
    run_check: Any, connection: AsyncConnection
) -> None:
    before = await email_state(connection)
    assert await run_check() == result(await _emails(connection))
    assert await email_state(connection) == before


async def test_a_bounced_address_alerts_the_institution_until_it_is_corrected(
    api: EmailApi,
    mailer: str,
    lansing: str,
    nekls_admin: str,
    eastern_admin: str,
    run_check: Any,
    connection: AsyncConnection,
) -> None:
    # given two NEKLS patrons whose addresses bounced
    first = await api.create_patron(lansing, "first.bounce@example.org")
    second = await api.create_patron(lansing, "second.bounce@example.org")
    await api.report(mailer, "first.bounce@example.org")
    await api.report(mailer, "second.bounce@example.org", "COMPLAINT")
    checked = await _emails(connection)

    # when the check runs
    outcome = await run_check()

    # then NEKLS's email service is off and its system administrators see an alert
    assert outcome == result(
        checked, flagged=2, disabled=["NEKLS"], alerted=["NEKLS"], newly_flagged=0
    )
    assert await api.institution(nekls_admin) == {
        "alerts": [institution_alert(2)],
        "emailServiceEnabled": False,
    }
    # nobody else sees it: a librarian of NEKLS, another institution's administrator
    assert (await api.institution(lansing))["alerts"] == []
    assert (await api.institution(eastern_admin))["alerts"] == []
    assert await api.institution(eastern_admin, "EASTERN") == NO_ALERT

    # a second run changes nothing
    assert await run_check() == result(checked, flagged=2, alerted=["NEKLS"])

    # correcting one address leaves the alert for the other
    changed = await api.update_patron(lansing, first, primaryEmail="first.new@example.org")
    assert changed["alerts"] == []
    assert await api.institution(nekls_admin) == {
        "alerts": [institution_alert(1)],
        "emailServiceEnabled": False,
    }
    assert await api.alerts(lansing, second) == [BLACKLISTED]

    # correcting the last one clears the alert and turns the email service back on
    await api.update_patron(lansing, second, primaryEmail="second.new@example.org")
    assert await api.institution(nekls_admin) == NO_ALERT
    assert await run_check() == result(checked)
    audit = (await email_state(connection))["audit"]
    assert audit[-2:] == [
        ("disable_email_service", "email check"),
        ("enable_email_service", "email check"),
    ]


async def test_invalid_addresses_are_flagged_by_the_check(
    api: EmailApi, lansing: str, nekls_admin: str, run_check: Any, connection: AsyncConnection
) -> None:
    # given addresses the API would refuse, stored directly
    broken = await api.create_patron(lansing, "broken@example.org")
    doubled = await api.create_patron(lansing, "doubled@example.org")
    without = await api.create_patron(lansing, None)
    await _set_email(connection, broken, "not an address")
    await _set_email(connection, doubled, "doubled@@example.org")
    assert await api.alerts(lansing, broken) == []

    outcome = await run_check()

    assert outcome == result(
        await _emails(connection),
        newly_flagged=2,
        flagged=2,
        disabled=["NEKLS"],
        alerted=["NEKLS"],
    )
    assert await api.alerts(lansing, broken) == [INVALID]
    assert await api.alerts(lansing, doubled) == [INVALID]
    assert await api.alerts(lansing, without) == []
    assert await api.institution(nekls_admin) == {
        "alerts": [institution_alert(2)],
        "emailServiceEnabled": False,
    }
    # correcting them through the API clears the alerts
    await api.update_patron(lansing, broken, primaryEmail="mended@example.org")
    await api.update_patron(lansing, doubled, primaryEmail=None)
    assert await api.alerts(lansing, broken) == []
    assert await api.institution(nekls_admin) == NO_ALERT
    assert (await email_state(connection))["flags"] == []


async def test_an_institution_with_flagged_addresses_elsewhere_too(
    api: EmailApi,
    mailer: str,
    lansing: str,
    nekls_admin: str,
    eastern_admin: str,
    run_check: Any,
    connection: AsyncConnection,
) -> None:
    await api.create_patron(lansing, "both@example.org")
    eastern = await api.create_patron(
        eastern_admin, "both@example.org", institution="EASTERN", homeLibrary="EASTERN-MAIN"
    )
    await api.report(mailer, "both@example.org")

    outcome = await run_check()

    assert outcome.disabled == outcome.alerted == ["EASTERN", "NEKLS"]
    assert await api.institution(eastern_admin, "EASTERN") == {
        "alerts": [institution_alert(1)],
        "emailServiceEnabled": False,
    }
    # EASTERN corrects its patron: only EASTERN's alert clears
    await api.update_patron(eastern_admin, eastern, primaryEmail="both.new@example.org")
    assert await api.institution(eastern_admin, "EASTERN") == NO_ALERT
    assert await api.institution(nekls_admin) == {
        "alerts": [institution_alert(1)],
        "emailServiceEnabled": False,
    }


async def test_an_administrators_own_choice_is_not_overridden(
    api: EmailApi, mailer: str, lansing: str, nekls_admin: str, run_check: Any
) -> None:
    # given an administrator who turned the email service off before the check
    await api.set_email_service(nekls_admin, False)
    patron = await api.create_patron(lansing, "own.choice@example.org")
    await api.report(mailer, "own.choice@example.org")

    outcome = await run_check()

    assert (outcome.disabled, outcome.alerted) == ([], ["NEKLS"])
    assert await api.institution(nekls_admin) == {
        "alerts": [institution_alert(1)],
        "emailServiceEnabled": False,
    }
    # when the address is corrected, the alert goes but the service stays off
    await api.update_patron(lansing, patron, primaryEmail="own.choice.new@example.org")
    assert await api.institution(nekls_admin) == {"alerts": [], "emailServiceEnabled": False}


async def test_a_setting_changed_after_the_check_is_left_alone(
    api: EmailApi, mailer: str, lansing: str, nekls_admin: str, run_check: Any
) -> None:
    patron = await api.create_patron(lansing, "changed.since@example.org")
    await api.report(mailer, "changed.since@example.org")
    assert (await run_check()).disabled == ["NEKLS"]

    # the administrator turns it on (the alert says what to do), then off again
    await api.set_email_service(nekls_admin, True)
    assert await api.institution(nekls_admin) == {
        "alerts": [institution_alert(1, disabled=False)],
        "emailServiceEnabled": True,
    }
    await api.set_email_service(nekls_admin, False)
    await api.update_patron(lansing, patron, primaryEmail="changed.since.new@example.org")

    assert await api.institution(nekls_admin) == {"alerts": [], "emailServiceEnabled": False}


async def test_a_service_turned_back_on_is_turned_off_by_the_next_check(
    api: EmailApi, mailer: str, lansing: str, nekls_admin: str, run_check: Any
) -> None:
    await api.create_patron(lansing, "still.flagged@example.org")
    await api.report(mailer, "still.flagged@example.org")
    await run_check()
    await api.set_email_service(nekls_admin, True)

    assert (await run_check()).disabled == ["NEKLS"]
    assert await api.institution(nekls_admin) == {
        "alerts": [institution_alert(1)],
        "emailServiceEnabled": False,
    }


async def test_the_check_finds_addresses_stored_in_another_case(
    api: EmailApi, mailer: str, lansing: str, run_check: Any
) -> None:
    # the bounce finds stored addresses as sent; a different case is left to the check
    patron = await api.create_patron(lansing, "Mixed.Case@example.org")
    await api.report(mailer, "mixed.case@example.org")
    assert await api.alerts(lansing, patron) == []

    outcome = await run_check()

    assert (outcome.newly_flagged, outcome.flagged) == (1, 1)
    assert await api.alerts(lansing, patron) == [BLACKLISTED]


async def test_a_flag_about_a_former_address_is_neither_shown_nor_kept(
    api: EmailApi,
    mailer: str,
    lansing: str,
    nekls_admin: str,
    run_check: Any,
    connection: AsyncConnection,
) -> None:
    # given a flagged patron whose address changes by a path that does not clear flags
    patron = await api.create_patron(lansing, "former@example.org")
    await api.report(mailer, "former@example.org")
    await run_check()
    await _set_email(connection, patron, "current@example.org")

    # the alert is not shown, and the next check drops the flag and the alert
    assert await api.alerts(lansing, patron) == []
    outcome = await run_check()
    assert (outcome.cleared, outcome.flagged, outcome.resolved) == (1, 0, ["NEKLS"])
    assert await api.institution(nekls_admin) == NO_ALERT


async def test_small_batches_give_the_same_result(
    api: EmailApi, lansing: str, database: Database, connection: AsyncConnection
) -> None:
    patrons = [await api.create_patron(lansing, f"batch{n}@example.org") for n in range(5)]
    for patron in patrons[1::2]:
        await _set_email(connection, patron, "broken address")

    async with database.session() as session:
        outcome = await check_emails(session=session, actor=system_actor(), batch_size=3)

    assert (outcome.checked, outcome.newly_flagged, outcome.flagged) == (
        await _emails(connection),
        2,
        2,
    )
    flagged = [row[0] for row in (await email_state(connection))["flags"]]
    assert flagged == [patron_pk(p) for p in patrons[1::2]]


async def test_the_check_runs_as_a_job_only(
    database: Database, connection: AsyncConnection
) -> None:
    admin = Actor(
        kind="staff",
        name="nekls.admin",
        institution_id=1,
        groups=frozenset({SystemGroup.SYSTEM_ADMIN, SystemGroup.NETWORK_ADMIN}),
    )
    before = await email_state(connection)
    async with database.session() as session:
        with pytest.raises(DomainError) as raised:
            await check_emails(session=session, actor=admin)
    assert [(e.code.value, e.message) for e in raised.value.errors] == [
        ("FORBIDDEN", "The email check runs as a job.")
    ]
    assert await email_state(connection) == before


async def test_removing_a_flagged_patron_recounts_the_alert_at_once(
    api: EmailApi,
    gql: GraphQL,
    mailer: str,
    lansing: str,
    nekls_admin: str,
    run_check: Any,
    connection: AsyncConnection,
) -> None:
    # given two flagged NEKLS patrons and the alert of the check
    first = await api.create_patron(lansing, "gone.first@example.org")
    second = await api.create_patron(lansing, "gone.second@example.org")
    await api.report(mailer, "gone.first@example.org")
    await api.report(mailer, "gone.second@example.org")
    await run_check()
    assert (await api.institution(nekls_admin))["alerts"] == [institution_alert(2)]

    # when one is removed, the alert counts one at once (not at the next check)
    delete = "mutation($id: ID!) { deletePatron(input: {id: $id}) { errors { code } } }"
    assert (await gql.ok(delete, {"id": first}, nekls_admin))["deletePatron"]["errors"] == []
    assert (await api.institution(nekls_admin))["alerts"] == [institution_alert(1)]

    # and when the last one goes, the alert goes and the email service is back on
    assert (await gql.ok(delete, {"id": second}, nekls_admin))["deletePatron"]["errors"] == []
    assert await api.institution(nekls_admin) == NO_ALERT
    assert (await email_state(connection))["flags"] == []
