"""Fixed transcripts over TCP: logins, status, sessions, resends, error detection, encodings."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.policy import system_actor
from app.db import Database
from app.settings import Settings
from app.sip2 import service
from app.sip2.server import SipServer
from app.sip2.service import AttributeField, SipAccountSpec
from tests.support.sip2 import (
    DATE_FIELD,
    TRANSACTION_DATE,
    Patrons,
    SipClient,
    audit_entries,
    checksum,
    read_response,
    with_error_detection,
)

SUPPORTED = "YNNNYYYYYNNNNNNN"


async def test_login_then_status_transcript(sip: SipClient) -> None:
    # When the vendor logs in with error detection
    await sip.send(with_error_detection("9300CNkanopy-lansing|COnetzone-demo|CPLANSING|", 0))
    login = await sip.receive()
    # Then the response is "94", ok "1", its sequence number and a checksum, CR
    assert login == b"941AY0AZFDFD\r"

    # When it asks for the ACS status with the standard's example message
    await sip.send(b"990 402.00AY1AZFCB4\r")
    status = read_response(await sip.receive())
    # Then every fixed part has its SIP2 2.00 width and value
    assert status.code == "98"
    date = status.fixed.pop("date")
    assert DATE_FIELD.fullmatch(date), date
    assert status.fixed == {
        "online": "Y",
        "checkin_ok": "N",
        "checkout_ok": "N",
        "renewal_policy": "N",
        "status_update_ok": "N",
        "offline_ok": "N",
        "timeout": "005",  # tenths of a second: the read timeout of the test server
        "retries": "003",
        "version": "2.00",
    }
    assert status.fields == [
        ("AO", "NEKLS"),
        ("AM", "Lansing Community Library"),
        ("BX", SUPPORTED),
        ("AN", "LANSING"),
    ]
    assert status.sequence == "1"
    assert status.checksum == checksum(status.raw[: status.raw.rindex(b"AZ") + 2])


async def test_a_wrong_secret_is_refused_and_the_third_closes_the_connection(
    sip: SipClient, connection: AsyncConnection
) -> None:
    failures = await _count(connection, "login_failure")
    for sequence in range(2):
        await sip.send(with_error_detection("9300CNkanopy-lansing|COwrong-secret|", sequence))
        assert await sip.receive() == with_error_detection("940", sequence)
    # An unknown login id gets the same answer
    await sip.send(with_error_detection("9300CNnobody|COnetzone-demo|", 2))
    assert await sip.receive() == with_error_detection("940", 2)
    # ... and after the third failure the server hangs up
    assert await sip.closed_by_server()
    # Every failure counts against the address, as failed logins do
    assert await _count(connection, "login_failure") == failures + 3


async def test_a_disabled_account_is_logged_out_and_cannot_log_in(
    sip: SipClient, patrons: Patrons, database: Database, settings: Settings
) -> None:
    await patrons.create("T-LAN-1")
    assert (await sip.login()).fixed == {"ok": "1"}
    # When an operator disables the account while the vendor is connected
    async with database.session() as session:
        await service.update_sip_account(
            session=session,
            settings=settings,
            actor=system_actor("test"),
            login_id="kanopy-lansing",
            update=service.SipAccountUpdate(enabled=False),
        )
    # Then the next patron message is answered as if nobody had logged in
    info = await sip.patron_information("T-LAN-1")
    assert (info.get("BL"), info.get("AF")) == (["N"], ["Log in first (message 93)."])
    # ... and logging in again fails
    assert (await sip.login()).fixed == {"ok": "0"}


async def test_status_before_login_is_offline(sip: SipClient) -> None:
    status = await sip.exchange(b"990 402.00AY1AZFCB4\r")
    assert status.fixed["online"] == "N"
    assert status.fields == [("AO", ""), ("BX", SUPPORTED)]


async def test_patron_messages_before_login_get_nothing_useful(
    sip: SipClient, patrons: Patrons, connection: AsyncConnection
) -> None:
    # Given a real patron with a right PIN
    await patrons.create("T-LAN-1", preferredName="Kay")
    audited = len(await audit_entries(connection, "verify_patron"))
    failures = await _count(connection, "login_failure")

    # When a session that skipped login asks about them
    info = await sip.patron_information("T-LAN-1", sequence=0)
    status = await sip.patron_status("T-LAN-1", sequence=1)

    # Then both answers are well formed, deny everything and name nobody
    for response, code in ((info, "64"), (status, "24")):
        assert response.code == code
        assert response.fixed["status"] == "YYYY" + " " * 10
        assert response.fixed["language"] == "000"
        assert response.fields == [
            ("AO", "NEKLS"),  # the request's own
            ("AA", "T-LAN-1"),  # the request's own
            ("AE", ""),
            ("BL", "N"),
            ("CQ", "N"),
            ("AF", "Log in first (message 93)."),
        ]
    assert [info.fixed[k] for k in ("holds", "overdue", "charged")] == ["0000"] * 3
    # ... nothing was looked up: no verification audited, no PIN failure counted
    assert len(await audit_entries(connection, "verify_patron")) == audited
    assert await _count(connection, "login_failure") == failures


async def test_resend_repeats_the_last_response_byte_for_byte(
    sip: SipClient, patrons: Patrons
) -> None:
    await patrons.create("T-LAN-1")
    await sip.login()
    info = await sip.patron_information("T-LAN-1")
    await sip.send(b"97AZ" + checksum(b"97AZ").encode() + b"\r")
    assert await sip.receive() == info.raw


async def test_a_wrong_checksum_asks_the_client_to_resend(sip: SipClient) -> None:
    await sip.send(b"990 402.00AY1AZFCB5\r")
    assert await sip.receive() == b"96AZFEF6\r"
    # The session goes on: the corrected message is answered
    assert (await sip.exchange(b"990 402.00AY1AZFCB4\r")).code == "98"


async def test_without_error_detection_the_responses_have_none(sip: SipClient) -> None:
    await sip.send(b"9300CNkanopy-lansing|COnetzone-demo|\r")
    assert await sip.receive() == b"941\r"
    # Clients that end messages with CR LF are understood too
    await sip.send(b"990 402.00\r\n")
    status = read_response(await sip.receive())
    assert (status.code, status.sequence, status.checksum) == ("98", None, None)


async def test_end_session(sip: SipClient) -> None:
    await sip.login()
    end = await sip.exchange(
        with_error_detection(f"35{TRANSACTION_DATE}AONEKLS|AAT-LAN-1|AC|ADx|", 4)
    )
    assert end.code == "36"
    assert end.fixed["end_session"] == "Y"
    assert DATE_FIELD.fullmatch(end.fixed["date"])
    assert end.fields == [("AO", "NEKLS"), ("AA", "T-LAN-1")]
    assert end.sequence == "4"


NOT_OFFERED = [
    # request, its response code, the fixed field saying no
    (f"11NN{TRANSACTION_DATE}{' ' * 18}AONEKLS|AAT-LAN-1|ABitem|AC|", "12", "ok"),
    (f"09N{TRANSACTION_DATE}{TRANSACTION_DATE}APx|AONEKLS|ABitem|AC|", "10", "ok"),
    (f"29NN{TRANSACTION_DATE}{' ' * 18}AONEKLS|AAT-LAN-1|ABitem|", "30", "ok"),
    (f"15+{TRANSACTION_DATE}AONEKLS|AAT-LAN-1|", "16", "ok"),
    (f"17{TRANSACTION_DATE}AONEKLS|ABitem|", "18", "circulation"),
    (f"19{TRANSACTION_DATE}AONEKLS|ABitem|", "20", "ok"),
    (f"37{TRANSACTION_DATE}0100USDBVx|AONEKLS|AAT-LAN-1|", "38", "ok"),
    (f"65{TRANSACTION_DATE}AONEKLS|AAT-LAN-1|", "66", "ok"),
]


@pytest.mark.parametrize(("request_", "code", "no"), NOT_OFFERED)
async def test_messages_netzone_does_not_offer_are_answered_no(
    sip: SipClient, request_: str, code: str, no: str
) -> None:
    await sip.login()
    # A message of SIP2 that BX says netzone does not offer gets its matching response,
    # saying no with a screen message (a client never waits for an answer)
    answer = await sip.exchange(with_error_detection(request_, 2))
    assert answer.code == code
    assert answer.fixed[no] in ("0", "N", "01")
    assert answer.get("AF") == [
        f"netzone does not offer message {request_[:2]}: verification only."
    ]
    assert answer.sequence == "2"
    # ... and the session goes on
    assert (await sip.exchange(b"990 402.00AY1AZFCB4\r")).fixed["online"] == "Y"


@pytest.mark.parametrize("end", [b"\r", b"\r\n", b"\n"])
async def test_cr_crlf_and_lf_all_end_a_message(sip: SipClient, end: bytes) -> None:
    await sip.send(b"990 402.00AY1AZFCB4" + end)
    assert read_response(await sip.receive()).code == "98"
    await sip.send(b"990 402.00AY1AZFCB4" + end)
    assert read_response(await sip.receive()).code == "98"


@pytest.mark.parametrize(
    "fixed",
    [
        "00020261324    101500",  # month 13
        "00020261124    256100",  # hour 25
        "0002026112A    101500",  # a letter in the date
        "000202611241015",  # too short
    ],
)
async def test_fixed_fields_that_do_not_parse_are_refused(sip: SipClient, fixed: str) -> None:
    await sip.login()
    answer = await sip.exchange(with_error_detection(f"23{fixed}AONEKLS|AAT-LAN-1|AC|AD1|", 3))
    assert answer.code == "96"


async def test_a_summary_asking_for_two_lists_is_refused(sip: SipClient) -> None:
    await sip.login()
    body = f"63000{TRANSACTION_DATE}YY        AONEKLS|AAT-LAN-1|AC|AD1|"
    assert (await sip.exchange(with_error_detection(body, 4))).code == "96"


async def test_a_cp850_account_is_answered_in_cp850(
    sip_server: SipServer, patrons: Patrons, database: Database, settings: Settings
) -> None:
    # Given an account of LANSING that speaks CP850 and a patron with accents in the name
    async with database.session() as session:
        await service.create_sip_account(
            session=session,
            settings=settings,
            actor=system_actor("test"),
            spec=SipAccountSpec(
                institution="NEKLS",
                login_id="selfcheck-850",
                secret="cp850-secret",
                library="LANSING",
                encoding="CP850",
                attribute_fields=[AttributeField("KANOPY_LANSING", "XK")],
            ),
        )
    await patrons.create("T-LAN-850", givenName="Zoë", surname="Ångström")
    sip = await SipClient.connect(sip_server.port)
    try:
        assert (await sip.login("selfcheck-850", "cp850-secret")).fixed == {"ok": "1"}
        info = await sip.patron_information("T-LAN-850", encoding="cp850")
    finally:
        await sip.close()
    # Then the name is in CP850 bytes (the checksum, checked by read_response, is over them)
    assert b"AEZo\x89 \x8fngstr\x94m|" in info.raw
    assert info.get("AE") == ["Zoë Ångström"]
    assert info.get("XK") == ["ALLOWED"]


async def test_an_account_that_sends_the_home_library(sip: SipClient, patrons: Patrons) -> None:
    # Given patrons of LANSING (Kanopy allowed) and BASEHOR
    await patrons.create("T-LAN-1")
    await patrons.create("T-BAS-1", home_library="BASEHOR")
    # When the NEKLS-wide vendor account verifies them
    await sip.login("nekls-vendor")
    lansing = await sip.patron_information("T-LAN-1")
    basehor = await sip.patron_information("T-BAS-1")
    # Then AO is the home library, also sent as a screen message; no Kanopy field (the
    # account has no library, so a LANSING-limited type is never sent to it)
    assert lansing.fields == [
        ("AO", "LANSING"),
        ("AA", "T-LAN-1"),
        ("AE", "Katherine Streamer"),
        ("BZ", "9999"),
        ("CB", "9999"),
        ("BL", "Y"),
        ("CQ", "Y"),
        ("BV", "0.00"),
        ("PC", "ADULT"),
        ("PA", "20991231"),
        ("AF", "LANSING"),
    ]
    assert basehor.get("AO") == ["BASEHOR"]
    assert basehor.get("AF") == ["BASEHOR"]


async def _count(connection: AsyncConnection, table: str) -> int:
    return int((await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())  # noqa: S608
