"""removeEmailFromBlacklist: a system administrator whose patrons use the address."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.emails import (
    BLACKLISTED,
    INVALID,
    REMOVE,
    EmailApi,
    email_state,
    institution_alert,
)
from tests.support.graphql import GraphQL
from tests.support.ids import patron_pk

FORBIDDEN_REMOVE = {
    "code": "FORBIDDEN",
    "message": "Only a system administrator of an institution whose patrons use this address "
    "may remove it from the blacklist.",
    "field": None,
}


async def test_removing_an_address_clears_every_flag_and_alert(
    api: EmailApi,
    mailer: str,
    lansing: str,
    nekls_admin: str,
    eastern_admin: str,
    run_check: Any,
    connection: AsyncConnection,
) -> None:
    # given the address bounced for patrons of two institutions, both alerted
    nekls = await api.create_patron(lansing, "removed@example.org")
    eastern = await api.create_patron(
        eastern_admin, "removed@example.org", institution="EASTERN", homeLibrary="EASTERN-MAIN"
    )
    await api.report(mailer, "removed@example.org")
    await run_check()
    assert (await api.institution(eastern_admin, "EASTERN"))["alerts"] == [institution_alert(1)]

    # when a NEKLS system administrator removes it (in another case)
    payload = await api.remove(nekls_admin, " Removed@Example.org")

    # then no patron is flagged, the alerts are gone and the email services are back on
    assert payload == {"removedAddress": "removed@example.org", "errors": []}
    assert await api.alerts(lansing, nekls) == []
    assert await api.alerts(eastern_admin, eastern) == []
    assert await api.institution(nekls_admin) == {"alerts": [], "emailServiceEnabled": True}
    assert await api.institution(eastern_admin, "EASTERN") == {
        "alerts": [],
        "emailServiceEnabled": True,
    }
    state = await email_state(connection)
    assert (state["blacklist"], state["flags"], state["alerts"]) == ([], [], [])
    assert ("remove_email_from_blacklist", "nekls.admin") in state["audit"]
    # and the next check does not flag them again
    assert (await run_check()).flagged == 0


async def test_an_address_is_removed_once(
    api: EmailApi, mailer: str, lansing: str, nekls_admin: str
) -> None:
    patron = await api.create_patron(lansing, "listed@example.org")
    await api.report(mailer, "listed@example.org")
    assert (await api.remove(nekls_admin, "listed@example.org"))["errors"] == []
    assert await api.alerts(lansing, patron) == []

    payload = await api.remove(nekls_admin, "listed@example.org")

    assert payload == {
        "removedAddress": None,
        "errors": [
            {
                "code": "NOT_FOUND",
                "message": "This address is not on the blacklist.",
                "field": ["input", "address"],
            }
        ],
    }


async def test_removal_keeps_the_alert_for_other_flagged_addresses(
    api: EmailApi,
    mailer: str,
    lansing: str,
    nekls_admin: str,
    run_check: Any,
    connection: AsyncConnection,
) -> None:
    await api.create_patron(lansing, "listed.too@example.org")
    invalid = await api.create_patron(lansing, "soon.invalid@example.org")
    await connection.execute(
        text("UPDATE patron SET primary_email = 'no address' WHERE id = :id"),
        {"id": patron_pk(invalid)},
    )
    await api.report(mailer, "listed.too@example.org")
    await run_check()
    assert (await api.institution(nekls_admin))["alerts"] == [institution_alert(2)]

    await api.remove(nekls_admin, "listed.too@example.org")

    assert await api.alerts(lansing, invalid) == [INVALID]
    assert await api.institution(nekls_admin) == {
        "alerts": [institution_alert(1)],
        "emailServiceEnabled": False,
    }


async def test_only_a_system_administrator_whose_patrons_use_it_may_remove_it(
    api: EmailApi,
    gql: GraphQL,
    mailer: str,
    lansing: str,
    nekls_admin: str,
    eastern_admin: str,
    run_check: Any,
    connection: AsyncConnection,
) -> None:
    patron = await api.create_patron(lansing, "kept@example.org")
    await api.report(mailer, "kept@example.org")
    await api.report(mailer, "nobody.here@example.org")
    await run_check()
    before = await email_state(connection)

    # a librarian, another institution's administrator, the mail provider's client
    for token in (lansing, eastern_admin, mailer):
        payload = await api.remove(token, "kept@example.org")
        assert payload == {"removedAddress": None, "errors": [FORBIDDEN_REMOVE]}
    # an address no NEKLS patron uses
    payload = await api.remove(nekls_admin, "nobody.here@example.org")
    assert payload == {"removedAddress": None, "errors": [FORBIDDEN_REMOVE]}
    body = await gql(REMOVE, {"address": "kept@example.org"})
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}

    assert await email_state(connection) == before
    assert await api.alerts(lansing, patron) == [BLACKLISTED]
    assert await api.institution(nekls_admin) == {
        "alerts": [institution_alert(1)],
        "emailServiceEnabled": False,
    }
