"""reportEmailBounce: the mail provider blacklists an address; its patrons show an alert."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.emails import BLACKLISTED, REPORT, EmailApi, email_state
from tests.support.graphql import GraphQL
from tests.support.ids import patron_pk

FORBIDDEN_REPORT = {
    "code": "FORBIDDEN",
    "message": "Only the mail provider's API client (scope email) may report bounces.",
    "field": None,
}


async def _institution_id(connection: AsyncConnection, code: str) -> int:
    result = await connection.execute(
        text("SELECT id FROM institution WHERE code = :code"), {"code": code}
    )
    return int(result.scalar_one())


async def test_a_bounce_blacklists_the_address_and_alerts_its_patrons(
    api: EmailApi, mailer: str, lansing: str, nekls_admin: str, connection: AsyncConnection
) -> None:
    # given two patrons, one of them with the address that will bounce
    bounced = await api.create_patron(lansing, "pat.bounce@example.org")
    other = await api.create_patron(lansing, "pat.fine@example.org")
    assert await api.alerts(lansing, bounced) == []

    # when the mail provider reports it (in whatever case and spacing)
    payload = await api.report(mailer, "  Pat.Bounce@Example.ORG ", "HARD_BOUNCE")

    # then the address is blacklisted, lower-cased, and only its patron is flagged
    assert payload["errors"] == []
    entry = payload["blacklisted"]
    assert isinstance(entry.pop("reportedAt"), str)
    assert entry == {"address": "pat.bounce@example.org", "kind": "HARD_BOUNCE"}
    assert await api.alerts(lansing, bounced) == [BLACKLISTED]
    assert await api.alerts(lansing, other) == []
    nekls = await _institution_id(connection, "NEKLS")
    state = await email_state(connection)
    assert state["blacklist"] == [("pat.bounce@example.org", "HARD_BOUNCE", "client Mail provider")]
    assert state["flags"] == [(patron_pk(bounced), nekls, "pat.bounce@example.org", "BLACKLISTED")]
    assert ("report_email_bounce", "client Mail provider") in state["audit"]
    # The institution is alerted by the check, not by the bounce itself.
    assert await api.institution(nekls_admin) == {"alerts": [], "emailServiceEnabled": True}


async def test_reporting_an_address_again_changes_nothing(
    api: EmailApi, mailer: str, lansing: str, connection: AsyncConnection
) -> None:
    patron = await api.create_patron(lansing, "twice@example.org")
    first = await api.report(mailer, "twice@example.org", "COMPLAINT")
    before = await email_state(connection)

    again = await api.report(mailer, "TWICE@example.org", "HARD_BOUNCE")

    assert again == first
    assert again["blacklisted"]["kind"] == "COMPLAINT"
    assert await email_state(connection) == before
    assert await api.alerts(lansing, patron) == [BLACKLISTED]


async def test_a_bounce_flags_patrons_of_every_institution_using_the_address(
    api: EmailApi, mailer: str, lansing: str, eastern_admin: str, connection: AsyncConnection
) -> None:
    nekls_patron = await api.create_patron(lansing, "shared@example.org")
    eastern_patron = await api.create_patron(
        eastern_admin, "shared@example.org", institution="EASTERN", homeLibrary="EASTERN-MAIN"
    )

    await api.report(mailer, "shared@example.org")

    assert await api.alerts(lansing, nekls_patron) == [BLACKLISTED]
    assert await api.alerts(eastern_admin, eastern_patron) == [BLACKLISTED]
    flags = (await email_state(connection))["flags"]
    assert flags == [
        (
            patron_pk(nekls_patron),
            await _institution_id(connection, "NEKLS"),
            "shared@example.org",
            "BLACKLISTED",
        ),
        (
            patron_pk(eastern_patron),
            await _institution_id(connection, "EASTERN"),
            "shared@example.org",
            "BLACKLISTED",
        ),
    ]


async def test_a_flag_lasts_until_the_address_itself_changes(
    api: EmailApi, mailer: str, lansing: str
) -> None:
    patron = await api.create_patron(lansing, "stays@example.org")
    await api.report(mailer, "stays@example.org")

    # other changes, and the same address in another case, keep the alert
    changed = await api.update_patron(lansing, patron, phone="555-0199")
    assert changed["alerts"] == [BLACKLISTED]
    changed = await api.update_patron(lansing, patron, primaryEmail="Stays@example.org")
    assert changed["primaryEmail"] == "Stays@example.org"
    assert changed["alerts"] == [BLACKLISTED]

    # a new address clears it at once
    changed = await api.update_patron(lansing, patron, primaryEmail="new.address@example.org")
    assert changed["alerts"] == []
    assert await api.alerts(lansing, patron) == []


async def test_removing_the_address_clears_the_alert(
    api: EmailApi, mailer: str, lansing: str, connection: AsyncConnection
) -> None:
    patron = await api.create_patron(lansing, "gone@example.org")
    await api.report(mailer, "gone@example.org")

    changed = await api.update_patron(lansing, patron, primaryEmail=None)

    assert changed == {"id": patron, "primaryEmail": None, "alerts": []}
    assert (await email_state(connection))["flags"] == []


async def test_clients_without_scope_email_staff_and_anonymous_callers_are_refused(
    api: EmailApi, gql: GraphQL, lansing: str, nekls_admin: str, connection: AsyncConnection
) -> None:
    patron = await api.create_patron(lansing, "refused@example.org")
    reader = await api.client(nekls_admin, "patron_read", "linking", "patron_auth")
    before = await email_state(connection)

    for token in (reader, "nzc_demo-eastern-discovery", nekls_admin, lansing):
        payload = await api.report(token, "refused@example.org")
        assert payload == {"blacklisted": None, "errors": [FORBIDDEN_REPORT]}
    body = await gql(REPORT, {"address": "refused@example.org", "kind": "HARD_BOUNCE"})
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}

    assert await email_state(connection) == before
    assert await api.alerts(lansing, patron) == []


async def test_an_address_that_is_not_one_is_refused(
    api: EmailApi, mailer: str, connection: AsyncConnection
) -> None:
    before = await email_state(connection)
    message = "Give the address that bounced (at most 320 characters)."
    for address in ("   ", "no-at-sign", "a@" + "b" * 320):
        payload = await api.report(mailer, address)
        assert payload == {
            "blacklisted": None,
            "errors": [
                {"code": "INVALID_INPUT", "message": message, "field": ["input", "address"]}
            ],
        }
    assert await email_state(connection) == before
