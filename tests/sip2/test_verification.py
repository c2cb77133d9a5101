"""What a vendor learns about a patron over SIP2: validity, PIN, status flags, entitlements."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.policy import system_actor
from app.db import Database
from app.settings import Settings
from app.sip2 import service
from app.sip2.service import SipAccountSpec
from tests.support.graphql import GraphQL
from tests.support.sip2 import (
    DATE_FIELD,
    PIN,
    TRANSACTION_DATE,
    Patrons,
    Response,
    SipClient,
    audit_entries,
    set_patron,
    with_error_detection,
    yesterday,
)

DENIED = "YYYY" + " " * 10
CHECK_OUT = """mutation($input: CheckOutInput!) {
  checkOut(input: $input) { loan { id } errors { code message field } }
}"""


async def test_a_lansing_patron_with_kanopy_allowed_is_valid_and_carries_the_entitlement(
    sip: SipClient, patrons: Patrons
) -> None:
    # Given a LANSING patron created at LANSING: the rule sets Kanopy (LANSING) = ALLOWED
    await patrons.create("T-LAN-1", preferredName="Kay")
    await sip.login()

    # When Kanopy asks for patron information with the right PIN
    info = await sip.patron_information("T-LAN-1")

    # Then every fixed part and field is as SIP2 2.00 lays it out
    assert info.code == "64"
    assert DATE_FIELD.fullmatch(info.fixed.pop("date"))
    assert info.fixed == {
        "status": " " * 14,
        "language": "000",
        "holds": "0000",
        "overdue": "0000",
        "charged": "0000",
        "fines": "0000",
        "recalls": "0000",
        "unavailable_holds": "0000",
    }
    assert info.fields == [
        ("AO", "NEKLS"),
        ("AA", "T-LAN-1"),
        ("AE", "Kay Streamer"),  # the preferred name
        ("BZ", "9999"),
        ("CB", "9999"),
        ("BL", "Y"),
        ("CQ", "Y"),
        ("BV", "0.00"),
        ("PC", "ADULT"),
        ("PA", "20991231"),
        ("XK", "ALLOWED"),
    ]
    assert info.sequence == "1"

    # ... and patron status (23/24) answers the same in its own layout
    status = await sip.patron_status("T-LAN-1", sequence=2)
    assert status.code == "24"
    assert (status.fixed["status"], status.fixed["language"]) == (" " * 14, "000")
    assert status.fields == [
        ("AO", "NEKLS"),
        ("AA", "T-LAN-1"),
        ("AE", "Kay Streamer"),
        ("BL", "Y"),
        ("CQ", "Y"),
        ("BV", "0.00"),
        ("PC", "ADULT"),
        ("PA", "20991231"),
        ("XK", "ALLOWED"),
    ]


async def test_a_basehor_patron_is_valid_without_the_entitlement(
    sip: SipClient, patrons: Patrons, connection: AsyncConnection
) -> None:
    # Given a BASEHOR patron created at BASEHOR (Kanopy left blank), and one whom LANSING
    # staff marked NOT_ALLOWED
    await patrons.create("T-BAS-1", home_library="BASEHOR")
    await patrons.create("T-BAS-2", home_library="BASEHOR")
    await connection.execute(
        text(
            "INSERT INTO patron_attribute (patron_id, attribute_type_id, value)"
            " SELECT i.patron_id, t.id, 'NOT_ALLOWED' FROM patron_identifier i, attribute_type t"
            " WHERE i.value_key = 't-bas-2' AND t.code = 'KANOPY_LANSING'"
        )
    )
    await sip.login()
    blank = await sip.patron_information("T-BAS-1")
    marked = await sip.patron_information("T-BAS-2")
    # Then both are valid with the right PIN; the first has no XK, the second says no
    for info in (blank, marked):
        assert info.fixed["status"] == " " * 14
        assert (info.get("BL"), info.get("CQ")) == (["Y"], ["Y"])
    assert blank.get("XK") == []
    assert marked.get("XK") == ["NOT_ALLOWED"]


async def test_a_wrong_pin_gives_cq_n_and_counts_a_failure(
    sip: SipClient, patrons: Patrons, connection: AsyncConnection
) -> None:
    patron = await patrons.create("T-LAN-1")
    await sip.login()
    failures = await _count(connection, "SELECT count(*) FROM login_failure")
    info = await sip.patron_information("T-LAN-1", pin="not-the-pin")
    # Only what SIP2 2.00 requires: the valid-patron flags, the required fields empty,
    # nothing about the patron (no name, user group, expiry, entitlement)
    assert info.fixed["status"] == DENIED
    assert info.fields == [
        ("AO", "NEKLS"),
        ("AA", "T-LAN-1"),
        ("AE", ""),
        ("BL", "Y"),
        ("CQ", "N"),
    ]
    assert await _count(connection, "SELECT count(*) FROM login_failure") == failures + 1
    assert await _failed_logins(connection, patron.barcode) == 1
    # The right PIN afterwards resets the account's count
    assert (await sip.patron_information("T-LAN-1")).get("CQ") == ["Y"]
    assert await _failed_logins(connection, patron.barcode) == 0


async def test_an_unknown_barcode_is_not_valid(sip: SipClient) -> None:
    await sip.login()
    info = await sip.patron_information("NO-SUCH-CARD")
    assert info.fixed["status"] == DENIED
    assert info.fields == [
        ("AO", "NEKLS"),
        ("AA", "NO-SUCH-CARD"),
        ("AE", ""),
        ("BL", "N"),
        ("CQ", "N"),
    ]


async def test_barcodes_of_other_institutions_are_not_found(
    sip: SipClient, connection: AsyncConnection
) -> None:
    # EASTERN's first generated patron exists, but not in NEKLS
    assert (
        await _count(
            connection,
            "SELECT count(*) FROM patron_identifier i JOIN institution n"
            " ON n.id = i.institution_id WHERE n.code = 'EASTERN' AND i.value = '2200000000'",
        )
        == 1
    )
    await sip.login()
    info = await sip.patron_information("2200000000")
    assert (info.get("BL"), info.get("AE")) == (["N"], [""])


async def test_blocked_patrons_have_charge_privileges_denied(
    sip: SipClient, patrons: Patrons
) -> None:
    fines = await patrons.create("T-FINES")
    lost = await patrons.create("T-LOST")
    await patrons.block(fines, "FINES")
    await patrons.block(lost, "LOST")
    await sip.login()
    info = await sip.patron_information("T-FINES")
    # Charge, renewal, recall and hold privileges denied; still a valid account and PIN
    assert info.fixed["status"] == DENIED
    assert (info.get("BL"), info.get("CQ")) == (["Y"], ["Y"])
    # A LOST block also says the card was reported lost (position 5)
    assert (await sip.patron_information("T-LOST")).fixed["status"] == "YYYYY" + " " * 9


async def test_expired_ended_disabled_and_generic_accounts_are_not_valid(
    sip: SipClient, patrons: Patrons, connection: AsyncConnection
) -> None:
    for barcode in ("T-EXPIRED", "T-UNTIL", "T-DISABLED", "T-GENERIC"):
        await patrons.create(barcode)
    await set_patron(connection, "T-EXPIRED", expiry_date=yesterday())
    await set_patron(connection, "T-UNTIL", until=yesterday())
    await set_patron(connection, "T-DISABLED", enabled=False)
    await set_patron(connection, "T-GENERIC", is_generic=True)
    await sip.login()
    for barcode in ("T-EXPIRED", "T-UNTIL", "T-DISABLED", "T-GENERIC"):
        info = await sip.patron_information(barcode)
        assert info.fixed["status"] == DENIED, barcode
        # The PIN is right: only the account is not valid
        assert (info.get("BL"), info.get("CQ")) == (["N"], ["Y"]), barcode
    expired = await sip.patron_information("T-EXPIRED")
    assert expired.get("PA") == [yesterday().strftime("%Y%m%d")]


async def test_loans_are_counted(sip: SipClient, patrons: Patrons, gql: GraphQL) -> None:
    patron = await patrons.create("T-LAN-1")
    data = await gql.ok(
        CHECK_OUT,
        {"input": {"patronId": patron.id, "itemBarcode": "ITEM-1"}},
        await patrons.token("LANSING"),
    )
    assert data["checkOut"]["errors"] == []
    await sip.login()
    info = await sip.patron_information("T-LAN-1")
    assert (info.fixed["charged"], info.fixed["overdue"]) == ("0001", "0000")


async def _summary(sip: SipClient, summary: str, extra: str = "", pin: str = PIN) -> Response:
    body = f"63000{TRANSACTION_DATE}{summary:<10}AONEKLS|AAT-LAN-1|AC|AD{pin}|{extra}"
    return await sip.exchange(with_error_detection(body, 2))


async def test_the_summary_lists_charged_or_overdue_items(
    sip: SipClient, patrons: Patrons, gql: GraphQL, connection: AsyncConnection
) -> None:
    patron = await patrons.create("T-LAN-1")
    token = await patrons.token("LANSING")
    for item in ("ITEM-1", "ITEM-2", "ITEM-3"):
        data = await gql.ok(
            CHECK_OUT, {"input": {"patronId": patron.id, "itemBarcode": item}}, token
        )
        assert data["checkOut"]["errors"] == []
    await connection.execute(
        text("UPDATE loan SET due_at = :past WHERE item_barcode = 'ITEM-2'"),
        {"past": datetime.now(UTC) - timedelta(days=3)},
    )
    await sip.login()
    # Charged items (the third position of the summary), oldest loan first
    charged = await _summary(sip, "  Y", "BP1|BQ5|")
    assert (charged.fixed["charged"], charged.fixed["overdue"]) == ("0003", "0001")
    assert charged.get("AU") == ["ITEM-1", "ITEM-2", "ITEM-3"]
    assert charged.get("AT") == []
    # BP and BQ pick a range (1-based, inclusive); without them, every item
    assert (await _summary(sip, "  Y", "BP2|BQ2|")).get("AU") == ["ITEM-2"]
    assert (await _summary(sip, "  Y", "BP3|BQ9|")).get("AU") == ["ITEM-3"]
    assert (await _summary(sip, "  Y")).get("AU") == ["ITEM-1", "ITEM-2", "ITEM-3"]
    # Overdue items (the second position)
    overdue = await _summary(sip, " Y")
    assert overdue.get("AT") == ["ITEM-2"]
    assert overdue.get("AU") == []
    # No list asked for, or one that does not exist here (holds): no items
    for summary in ("", "Y", "   Y"):
        answer = await _summary(sip, summary)
        assert (answer.get("AU"), answer.get("AT"), answer.get("AS")) == ([], [], []), summary
    # A wrong PIN: nothing about the patron, no items
    refused = await _summary(sip, "  Y", pin="9999")
    assert refused.get("AU") == []
    assert refused.fixed["charged"] == "0000"


async def test_an_empty_pin_is_refused_unless_the_account_allows_it(
    sip: SipClient,
    patrons: Patrons,
    database: Database,
    settings: Settings,
    connection: AsyncConnection,
) -> None:
    await patrons.create("T-LAN-1")
    failures = await _count(connection, "SELECT count(*) FROM login_failure")
    await sip.login()
    assert (await sip.patron_information("T-LAN-1", pin=None)).get("CQ") == ["N"]
    assert (await sip.patron_information("T-LAN-1", pin="")).get("CQ") == ["N"]
    # Where a PIN is required, an empty one is a failed attempt like a wrong one: it
    # counts against the address and the account (harvesting by barcode is throttled)
    assert await _count(connection, "SELECT count(*) FROM login_failure") == failures + 2
    assert await _failed_logins(connection, "T-LAN-1") == 2
    async with database.session() as session:
        await service.create_sip_account(
            session=session,
            settings=settings,
            actor=system_actor("test"),
            spec=SipAccountSpec(
                institution="NEKLS",
                login_id="barcode-only",
                secret="barcode-only-1",
                allow_empty_pin=True,
            ),
        )
    await sip.login("barcode-only", "barcode-only-1")
    info = await sip.patron_information("T-LAN-1", pin=None)
    assert (info.get("BL"), info.get("CQ")) == (["Y"], ["Y"])
    # ... but a PIN that is given must still be right
    assert (await sip.patron_information("T-LAN-1", pin="wrong-pin")).get("CQ") == ["N"]


async def test_ten_wrong_pins_lock_the_account_like_logins_do(
    sip: SipClient, patrons: Patrons, connection: AsyncConnection
) -> None:
    await patrons.create("T-LAN-1")
    await sip.login()
    for _ in range(10):
        assert (await sip.patron_information("T-LAN-1", pin="guess")).get("CQ") == ["N"]
    # Then even the right PIN is refused, with a screen message saying why
    locked = await sip.patron_information("T-LAN-1")
    assert locked.get("CQ") == ["N"]
    assert locked.get("AF") == [
        "This account is locked after too many wrong PINs. Try again later."
    ]
    # ... and staff logins of the account are locked as well (the same counter)
    until = (
        await connection.execute(
            text(
                "SELECT p.locked_until FROM patron p JOIN patron_identifier i"
                " ON i.patron_id = p.id WHERE i.value_key = 't-lan-1'"
            )
        )
    ).scalar_one()
    assert until is not None


async def test_fifty_wrong_pins_from_one_address_stop_pin_checks(
    sip: SipClient, patrons: Patrons
) -> None:
    await patrons.create("T-LAN-1")
    await sip.login()
    for n in range(50):
        # Unknown cards: the account lockout plays no part
        await sip.patron_information(f"GUESS-{n}", pin="guess")
    throttled = await sip.patron_information("T-LAN-1")
    assert (throttled.get("BL"), throttled.get("CQ")) == (["Y"], ["N"])
    assert throttled.get("AF") == [
        "Too many wrong PINs from this address. Wait a minute and try again."
    ]


async def test_every_verification_is_audited_without_the_pin(
    sip: SipClient, patrons: Patrons, connection: AsyncConnection
) -> None:
    await patrons.create("T-LAN-1")
    before = len(await audit_entries(connection, "verify_patron"))
    await sip.login()
    await sip.patron_information("T-LAN-1")
    await sip.patron_information("T-LAN-1", pin="wrong-pin")
    await sip.patron_information("NO-SUCH-CARD")
    entries = (await audit_entries(connection, "verify_patron"))[before:]
    assert [e["actor"] for e in entries] == ["sip2 kanopy-lansing"] * 3
    assert [e["changes"]["verification"]["after"] for e in entries] == [
        {
            "channel": "SIP2",
            "barcode": "T-LAN-1",
            "found": True,
            "validPatron": True,
            "pin": "VALID",
        },
        {
            "channel": "SIP2",
            "barcode": "T-LAN-1",
            "found": True,
            "validPatron": True,
            "pin": "INVALID",
        },
        {
            "channel": "SIP2",
            "barcode": "NO-SUCH-CARD",
            "found": False,
            "validPatron": False,
            "pin": "INVALID",
        },
    ]
    assert entries[2]["entity_id"] is None
    trail = json.dumps(entries)
    assert PIN not in trail
    assert "wrong-pin" not in trail


async def _count(connection: AsyncConnection, sql: str) -> int:
    return int((await connection.execute(text(sql))).scalar_one())


async def _failed_logins(connection: AsyncConnection, barcode: str) -> int:
    return await _count(
        connection,
        "SELECT p.failed_logins FROM patron p JOIN patron_identifier i ON i.patron_id = p.id"
        f" WHERE i.value_key = '{barcode.lower()}'",
    )
