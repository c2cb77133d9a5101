"""An address that is already blacklisted is flagged the moment a patron is given it, on
every path that sets a primary email: create, update, import, merge."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support.emails import BLACKLISTED, EmailApi, email_state
from tests.support.graphql import GraphQL
from tests.support.ids import patron_pk
from tests.support.imports import Importer, find_patron, student, to_csv


@pytest.fixture
def importer(client: httpx.AsyncClient) -> Importer:
    return Importer(client)


@pytest.fixture
async def northfield(gql: GraphQL) -> str:
    return await gql.login("northfield.admin", "NORTHFIELD-MAIN")


MERGE = """mutation($input: MergePatronsInput!) {
  mergePatrons(input: $input) { patron { id primaryEmail alerts { code message } }
                                errors { code message field } }
}"""


async def test_create_and_update_flag_a_blacklisted_address_at_once(
    api: EmailApi, mailer: str, lansing: str, connection: AsyncConnection
) -> None:
    # Given an address on the blacklist, used by nobody
    await api.report(mailer, "gone@example.org")
    assert (await email_state(connection))["flags"] == []
    # When a patron is registered with it (in another case)
    created = await api.create_patron(lansing, "Gone@Example.org")
    # Then the alert shows at once, not after the daily check
    assert await api.alerts(lansing, created) == [BLACKLISTED]
    # And a patron given it by an update is flagged at once too
    other = await api.create_patron(lansing, "fine@example.org")
    assert await api.alerts(lansing, other) == []
    changed = await api.update_patron(lansing, other, primaryEmail="gone@example.org")
    assert changed["alerts"] == [BLACKLISTED]
    # And moving away from it clears it, as before
    changed = await api.update_patron(lansing, other, primaryEmail="back@example.org")
    assert changed["alerts"] == []
    flags = (await email_state(connection))["flags"]
    assert [(f[0], f[2], f[3]) for f in flags] == [
        (patron_pk(created), "gone@example.org", "BLACKLISTED")
    ]


async def test_an_import_flags_a_blacklisted_address_at_once(
    api: EmailApi,
    mailer: str,
    importer: Importer,
    gql: GraphQL,
    northfield: str,
) -> None:
    await api.report(mailer, "bounced.student@northfield.example.edu")
    rows = [
        student(1, primary_email="bounced.student@northfield.example.edu"),
        student(2),
    ]
    job = await importer.job(northfield, to_csv(list(rows[0]), rows))
    assert job["created"] == 2, job
    flagged = await find_patron(gql, northfield, "T00001")
    fine = await find_patron(gql, northfield, "T00002")
    assert flagged is not None
    assert fine is not None
    assert await api.alerts(northfield, flagged["id"]) == [BLACKLISTED]
    assert await api.alerts(northfield, fine["id"]) == []
    # And an update by import that gives the address flags at once too
    rows = [student(2, primary_email="bounced.student@northfield.example.edu")]
    job = await importer.job(northfield, to_csv(list(rows[0]), rows))
    assert job["updated"] == 1, job
    assert await api.alerts(northfield, fine["id"]) == [BLACKLISTED]
    # And an update by import that moves away from it clears that flag only
    rows = [student(2, primary_email="back.again@northfield.example.edu"), student(3)]
    job = await importer.job(northfield, to_csv(list(rows[0]), rows))
    assert (job["updated"], job["created"]) == (1, 1), job
    assert await api.alerts(northfield, fine["id"]) == []
    assert await api.alerts(northfield, flagged["id"]) == [BLACKLISTED]


async def test_a_merge_that_brings_a_blacklisted_address_flags_the_survivor(
    api: EmailApi, mailer: str, gql: GraphQL, lansing: str, nekls_admin: str
) -> None:
    # Given a survivor without an email and a duplicate with a blacklisted one
    survivor = await api.create_patron(lansing, None, surname="Merger")
    duplicate = await api.create_patron(lansing, "merged.away@example.org", surname="Merger")
    await api.report(mailer, "merged.away@example.org")
    assert await api.alerts(lansing, duplicate) == [BLACKLISTED]
    # When they are merged (the survivor takes the address)
    data = await gql.ok(
        MERGE, {"input": {"survivor": survivor, "duplicates": [duplicate]}}, nekls_admin
    )
    payload = data["mergePatrons"]
    assert payload["errors"] == [], payload
    # Then the survivor carries the alert at once
    assert payload["patron"]["primaryEmail"] == "merged.away@example.org"
    assert payload["patron"]["alerts"] == [BLACKLISTED]


CHECK_OUT = """mutation($id: ID!, $item: String!) {
  checkOut(input: {patronId: $id, itemBarcode: $item}) {
    loan { itemBarcode patron { id surname } } alerts { code message } errors { code message }
  }
}"""

CHECK_IN = """mutation($item: String!) {
  checkIn(input: {itemBarcode: $item}) {
    loan { patron { id } } alerts { code message } errors { code message }
  }
}"""


async def test_blacklist_alerts_show_at_checkout_and_checkin(
    api: EmailApi, mailer: str, gql: GraphQL, lansing: str
) -> None:
    # Given a patron whose address bounces, and one whose does not
    flagged = await api.create_patron(lansing, "desk.bounce@example.org", userGroup="ADULT")
    fine = await api.create_patron(lansing, "desk.fine@example.org", userGroup="ADULT")
    await api.report(mailer, "desk.bounce@example.org")
    # When the desk lends to each
    lent = (await gql.ok(CHECK_OUT, {"id": flagged, "item": "AL-ITEM-1"}, lansing))["checkOut"]
    other = (await gql.ok(CHECK_OUT, {"id": fine, "item": "AL-ITEM-2"}, lansing))["checkOut"]
    # Then the payload names the borrower and carries its alerts
    assert lent["errors"] == []
    assert lent["loan"] == {
        "itemBarcode": "AL-ITEM-1",
        "patron": {"id": flagged, "surname": "Bouncer"},
    }
    assert lent["alerts"] == [BLACKLISTED]
    assert other["alerts"] == []
    # And so does the check-in
    back = (await gql.ok(CHECK_IN, {"item": "AL-ITEM-1"}, lansing))["checkIn"]
    assert back == {"loan": {"patron": {"id": flagged}}, "alerts": [BLACKLISTED], "errors": []}
    # And a refused checkout carries none
    refused = (await gql.ok(CHECK_OUT, {"id": fine, "item": "AL-ITEM-2"}, lansing))["checkOut"]
    assert refused["loan"] is None
    assert refused["alerts"] == []
    assert [e["code"] for e in refused["errors"]] == ["CONFLICT"]
